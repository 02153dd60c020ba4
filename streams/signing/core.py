"""The signature core: canonical bytes, sign and verify. Pure: no environment, files, network or printing.

This is the module a downstream verifier imports. Every signed message carries headers::

    tw-signature            hex of the MAC / signature
    tw-signature-key-id     which key signed it (keys rotate; see SigningKeys)
    tw-signature-timestamp  signing time, integer milliseconds since the epoch
    tw-signature-alg        "hmac-sha256" (shared secret) or "ed25519" (public key)

What is signed (the *canonical bytes*) is unambiguous by construction: the literal ``b"tw1"``
followed by six length-prefixed fields, each a 4-byte big-endian length and the bytes
(a null Kafka key is length 0xFFFFFFFF with no bytes, so it differs from an empty key)::

    b"tw1" || field(alg) || field(key_id) || field(topic) || field(key) || field(timestamp_ms) || field(value)

``alg``, ``key_id``, ``topic`` and ``timestamp_ms`` (decimal ASCII) are UTF-8/ASCII. Signing the
topic means a shadow action cannot be replayed onto the enforcement topic; signing the key and
value means neither the subject nor the decision can be changed; signing alg and key id means the
headers cannot be swapped to make a verifier use a weaker or different key.

Ed25519 keys hold ``cryptography`` key objects, imported only when such a key verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from collections.abc import Iterable, Mapping
from typing import Any

HEADER_SIGNATURE = "tw-signature"
HEADER_KEY_ID = "tw-signature-key-id"
HEADER_TIMESTAMP = "tw-signature-timestamp"
HEADER_ALG = "tw-signature-alg"
SIGNATURE_HEADERS = (HEADER_SIGNATURE, HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_ALG)

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
ALGORITHMS = (HMAC_SHA256, ED25519)
CANONICAL_PREFIX = b"tw1"
DEFAULT_FUTURE_SKEW_S = 300.0

_LENGTH_NULL = 0xFFFFFFFF


class SigningConfigError(ValueError):
    """Signing keys that cannot be used; the message names the variable and never the secret."""


class SignatureError(Exception):
    """A message that does not verify. ``reason`` is one of REASONS (stable, for metrics/alerts)."""

    REASONS = ("missing_signature", "unknown_key", "bad_signature", "expired", "malformed")

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in self.REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


# --------------------------------------------------------------------------- keys


class SigningKey:
    """One key. The secret lives only in a private slot: repr/str show the id and algorithm."""

    __slots__ = ("key_id", "alg", "_secret", "_private", "_public")

    def __init__(self, key_id: str, alg: str, *, secret: bytes | None = None, private: Any = None, public: Any = None) -> None:
        self.key_id = key_id
        self.alg = alg
        self._secret = secret
        self._private = private
        self._public = public

    @classmethod
    def hmac(cls, key_id: str, secret: bytes) -> SigningKey:
        return cls(key_id, HMAC_SHA256, secret=bytes(secret))

    @property
    def can_sign(self) -> bool:
        return self.alg == HMAC_SHA256 or self._private is not None

    def sign(self, data: bytes) -> bytes:
        if self.alg == HMAC_SHA256:
            return hmac.new(self._secret or b"", data, hashlib.sha256).digest()
        if self._private is None:
            raise SigningConfigError(f"key {self.key_id!r} is an Ed25519 public key: it can verify but not sign")
        return self._private.sign(data)

    def check(self, data: bytes, signature: bytes) -> bool:
        if self.alg == HMAC_SHA256:
            return hmac.compare_digest(self.sign(data), signature)
        from cryptography.exceptions import InvalidSignature

        try:
            self._public.verify(signature, data)
            return True
        except InvalidSignature:
            return False

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r}, alg={self.alg!r})"

    __str__ = __repr__

    def __reduce__(self):  # never pickle secrets into a crash dump / multiprocessing queue
        raise TypeError("SigningKey cannot be pickled")


class SigningKeys:
    """All keys a process knows: the one that signs (``active_key_id``) plus verification keys."""

    def __init__(self, keys: Iterable[SigningKey], active_key_id: str | None = None) -> None:
        self._keys: dict[str, SigningKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise SigningConfigError(f"key id {key.key_id!r} is configured twice")
            self._keys[key.key_id] = key
        if active_key_id is not None:
            if active_key_id not in self._keys:
                raise SigningConfigError(f"active key id {active_key_id!r} is not among the configured keys {sorted(self._keys)}")
            if not self._keys[active_key_id].can_sign:
                raise SigningConfigError(f"active key id {active_key_id!r} is a public key and cannot sign")
        self.active_key_id = active_key_id

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def get(self, key_id: str) -> SigningKey | None:
        return self._keys.get(key_id)

    @property
    def active(self) -> SigningKey:
        if self.active_key_id is None:
            raise SigningConfigError("no signing key is active: set TRADEWATCH_SIGNING_KEY_ID")
        return self._keys[self.active_key_id]

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        keys = ", ".join(f"{k.key_id}:{k.alg}" for k in self._keys.values())
        return f"SigningKeys(active={self.active_key_id!r}, keys=[{keys}])"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("SigningKeys cannot be pickled")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require_active: bool = True) -> SigningKeys | None:
        """``streams.signing.keys.load_signing_keys``: keys from TRADEWATCH_SIGNING_*, or None."""
        from streams.signing.keys import load_signing_keys

        return load_signing_keys(env, require_active=require_active)

    @classmethod
    def reviewers_from_env(cls, env: Mapping[str, str] | None = None) -> SigningKeys | None:
        """``streams.signing.keys.load_reviewer_keys``: keys from TRADEWATCH_REVIEWER_KEYS[_DIR], or None."""
        from streams.signing.keys import load_reviewer_keys

        return load_reviewer_keys(env)


# --------------------------------------------------------------------------- sign / verify


def _field(data: bytes | None) -> bytes:
    if data is None:
        return struct.pack(">I", _LENGTH_NULL)
    return struct.pack(">I", len(data)) + data


def canonical_bytes(alg: str, key_id: str, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int) -> bytes:
    """The exact bytes that are signed (see the module docstring)."""
    parts = (alg.encode(), key_id.encode(), topic.encode(), key, str(int(timestamp_ms)).encode(), value)
    return CANONICAL_PREFIX + b"".join(_field(part) for part in parts)


def sign(keys: SigningKeys, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int) -> list[tuple[str, bytes]]:
    """The four signature headers for one message, signed with the active key."""
    signer = keys.active
    signature = signer.sign(canonical_bytes(signer.alg, signer.key_id, topic, key, value, timestamp_ms))
    return [
        (HEADER_SIGNATURE, signature.hex().encode()),
        (HEADER_KEY_ID, signer.key_id.encode()),
        (HEADER_TIMESTAMP, str(int(timestamp_ms)).encode()),
        (HEADER_ALG, signer.alg.encode()),
    ]


def verify(
    keys: SigningKeys,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None,
    *,
    max_age_s: float | None = None,
    now: float | None = None,
    future_skew_s: float = DEFAULT_FUTURE_SKEW_S,
) -> str:
    """The key id that signed this message, or SignatureError(reason).

    With ``max_age_s``, a signature older than that (or timestamped more than
    ``future_skew_s`` ahead of ``now``) is ``expired``: a captured old action cannot be replayed
    forever. ``now`` is epoch seconds (default: the wall clock).
    """
    found = _signature_headers(headers)
    if HEADER_SIGNATURE not in found:
        raise SignatureError("missing_signature", f"no {HEADER_SIGNATURE} header")
    missing = [name for name in SIGNATURE_HEADERS if name not in found]
    if missing:
        raise SignatureError("malformed", f"missing header(s) {', '.join(missing)}")
    try:
        key_id = found[HEADER_KEY_ID].decode("ascii")
        alg = found[HEADER_ALG].decode("ascii")
        timestamp_text = found[HEADER_TIMESTAMP].decode("ascii")
        signature = bytes.fromhex(found[HEADER_SIGNATURE].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise SignatureError("malformed", "signature headers are not ASCII / hex") from None
    if not timestamp_text.isdigit() or len(timestamp_text) > 16:
        raise SignatureError("malformed", f"{HEADER_TIMESTAMP} is not an integer number of milliseconds")
    if alg not in ALGORITHMS:
        raise SignatureError("malformed", f"unsupported {HEADER_ALG} {alg[:32]!r}")
    verifier = keys.get(key_id)
    if verifier is None:
        raise SignatureError("unknown_key", f"key id {key_id[:64]!r} is not configured")
    if verifier.alg != alg:
        raise SignatureError("bad_signature", f"key {key_id!r} is {verifier.alg}, header says {alg}")
    timestamp_ms = int(timestamp_text)
    if not verifier.check(canonical_bytes(alg, key_id, topic, key, value, timestamp_ms), signature):
        raise SignatureError("bad_signature", f"signature does not match (key id {key_id!r})")
    if max_age_s is not None:
        current = time.time() if now is None else now
        age_s = current - timestamp_ms / 1000.0
        if age_s > max_age_s:
            raise SignatureError("expired", f"signed {age_s:.0f}s ago, more than {max_age_s:g}s")
        if -age_s > future_skew_s:
            raise SignatureError("expired", f"signed {-age_s:.0f}s in the future")
    return key_id


def _signature_headers(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None) -> dict[str, bytes]:
    """Our headers by name; a repeated signature header is ambiguous, hence malformed."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or [])
    found: dict[str, bytes] = {}
    for name, raw in items:
        name = name.decode() if isinstance(name, bytes) else name
        if name in SIGNATURE_HEADERS:
            if name in found:
                raise SignatureError("malformed", f"header {name} appears more than once")
            found[name] = bytes(raw) if raw is not None else b""
    return found
