"""Signed enforcement actions and appeals: downstream can check that a message really came from tradewatch.

A suspension is a consequential message; anyone who can write to ``enforcement.actions.v1``
could otherwise suspend any account, so every published action carries signature headers.

* ``streams.signing.core`` — the header format (tw2: every ``tw-`` header signed), sign and
  verify, key validity windows; no I/O. Downstream verifiers import this alone.
* ``streams.signing.keys`` — keys (with optional validity windows) from ``TRADEWATCH_SIGNING_*`` /
  ``TRADEWATCH_REVIEWER_*`` and key files.
* ``streams.signing.verify_cli`` — the ``tradewatch verify`` command (Kafka or JSONL), loaded on first use.
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.signing.core import (
    ALGORITHMS,
    CANONICAL_PREFIX,
    CANONICAL_PREFIX_V1,
    CANONICAL_PREFIX_V2,
    DEFAULT_FUTURE_SKEW_S,
    ED25519,
    HEADER_ALG,
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_VERSION,
    HMAC_SHA256,
    SIGNATURE_HEADERS,
    VERSION,
    SignatureError,
    SigningConfigError,
    SigningKey,
    SigningKeys,
    canonical_bytes,
    encode_signed_headers,
    format_time_ms,
    is_signed_header,
    sign,
    verify,
)
from streams.signing.keys import (
    ENV_KEY_ID,
    ENV_KEYS,
    ENV_KEYS_DIR,
    ENV_REVIEWER_KEYS,
    ENV_REVIEWER_KEYS_DIR,
    HMAC_PREFIX,
    KEY_ID_PATTERN,
    MIN_SECRET_BYTES,
    SIGNING_SETTINGS,
    WINDOW_SUFFIX,
    load_reviewer_keys,
    load_signing_keys,
    parse_window,
)


def verify_main(argv: Sequence[str] | None = None) -> int:
    """``tradewatch verify`` (see ``streams.signing.verify_cli``); imports argparse, asyncio and Kafka only when run."""
    from streams.signing.verify_cli import verify_main as run

    return run(argv)


__all__ = [
    "ALGORITHMS",
    "CANONICAL_PREFIX",
    "CANONICAL_PREFIX_V1",
    "CANONICAL_PREFIX_V2",
    "DEFAULT_FUTURE_SKEW_S",
    "ED25519",
    "ENV_KEYS",
    "ENV_KEYS_DIR",
    "ENV_KEY_ID",
    "ENV_REVIEWER_KEYS",
    "ENV_REVIEWER_KEYS_DIR",
    "HEADER_ALG",
    "HEADER_KEY_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "HEADER_VERSION",
    "HMAC_PREFIX",
    "HMAC_SHA256",
    "KEY_ID_PATTERN",
    "MIN_SECRET_BYTES",
    "SIGNATURE_HEADERS",
    "SIGNING_SETTINGS",
    "SignatureError",
    "SigningConfigError",
    "SigningKey",
    "SigningKeys",
    "VERSION",
    "WINDOW_SUFFIX",
    "canonical_bytes",
    "encode_signed_headers",
    "format_time_ms",
    "is_signed_header",
    "load_reviewer_keys",
    "load_signing_keys",
    "parse_window",
    "sign",
    "verify",
    "verify_main",
]
