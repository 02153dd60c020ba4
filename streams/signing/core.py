"""The signature core: canonical bytes, sign and verify. Pure: no environment, files, network or printing.

This is the module a downstream verifier imports. Every signed message carries headers::

    tw-signature            hex of the MAC / signature
    tw-signature-key-id     which key signed it (keys rotate; see SigningKeys)
    tw-signature-timestamp  signing time, integer milliseconds since the epoch
    tw-signature-alg        "hmac-sha256" (shared secret) or "ed25519" (public key)
    tw-signature-version    "2" (format tw2); absent on messages signed in the older format tw1

What is signed (the *canonical bytes*) is unambiguous by construction: a three-byte prefix
naming the format, then length-prefixed fields, each a 4-byte big-endian length and the bytes
(a null Kafka key, value or header value is length 0xFFFFFFFF with no bytes, so it differs from
an empty one). ``sign`` produces format tw2::

    b"tw2" || F(alg) || F(key_id) || F(topic) || F(key) || F(timestamp_ms) || F(value) || F(H)
    H = u32(n) || F(name_1) || F(value_1) || ... || F(name_n) || F(value_n)

``H`` holds the *signed headers*: every header of the message whose name starts with ``tw-``
(ASCII case ignored) other than the four headers the signature is read from (``tw-signature``,
``-key-id``, ``-timestamp``, ``-alg``) — so ``tw-action`` and ``tw-signature-version: 2``
themselves — sorted by the UTF-8 bytes of the name; ``u32(n)`` is their count (4 bytes, big
endian). A signed header may appear only once. Adding, removing or changing any ``tw-`` header
therefore breaks the signature; headers with other names (tracing, …) are not signed.

The older format tw1 (no ``tw-signature-version`` header) signs no headers::

    b"tw1" || F(alg) || F(key_id) || F(topic) || F(key) || F(timestamp_ms) || F(value)

It is still verifiable, but only when asked for
(``verify(..., accept_v1=True)``): the prefix is inside the signed bytes, so a tw2 signature
never verifies as tw1 or the other way round, and stripping ``tw-signature-version`` from a tw2
message cannot downgrade it to a format that leaves ``tw-action`` unsigned.

``alg``, ``key_id``, ``topic`` and ``timestamp_ms`` (decimal ASCII) are UTF-8/ASCII. Signing the
topic means a shadow action cannot be replayed onto the enforcement topic; signing the key and
value means neither the subject nor the decision can be changed; signing alg and key id means the
headers cannot be swapped to make a verifier use a weaker or different key.

A key may have a validity window (``not_before_ms`` / ``not_after_ms``, both inclusive, either
open): ``sign`` refuses to sign at a time outside the active key's window
(SigningConfigError) and ``verify`` rejects a signature timestamped outside the signing key's
window (``key_not_valid``).

Ed25519 keys hold ``cryptography`` key objects, imported only when such a key verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

HEADER_SIGNATURE = "tw-signature"
HEADER_KEY_ID = "tw-signature-key-id"
HEADER_TIMESTAMP = "tw-signature-timestamp"
HEADER_ALG = "tw-signature-alg"
HEADER_VERSION = "tw-signature-version"
SIGNATURE_HEADERS = (HEADER_SIGNATURE, HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_ALG)
"""The headers the signature is read from; every other ``tw-`` header is signed (format tw2)."""
SIGNED_HEADER_PREFIX = b"tw-"

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
ALGORITHMS = (HMAC_SHA256, ED25519)
CANONICAL_PREFIX_V1 = b"tw1"
CANONICAL_PREFIX_V2 = b"tw2"
CANONICAL_PREFIX = CANONICAL_PREFIX_V2  # the format sign() produces
VERSION = 2
DEFAULT_FUTURE_SKEW_S = 300.0

_LENGTH_NULL = 0xFFFFFFFF
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

HeadersLike = Iterable[tuple[Any, Any]] | Mapping[Any, Any] | None


class SigningConfigError(ValueError):
    """Signing keys that cannot be used; the message names the variable and never the secret."""


class SignatureError(Exception):
    """A message that does not verify. ``reason`` is one of REASONS (stable, for metrics/alerts)."""

    REASONS = (
        "missing_signature", "unknown_key", "bad_signature", "expired", "malformed", "key_not_valid", "v1_not_accepted",
    )

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in self.REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def format_time_ms(timestamp_ms: int) -> str:
    """RFC 3339 UTC (``2026-01-01T00:00:00Z``, milliseconds only when not zero)."""
    try:
        moment = _EPOCH + timedelta(milliseconds=int(timestamp_ms))
    except OverflowError:
        return f"{int(timestamp_ms)} ms after the epoch"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = timestamp_ms % 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


# --------------------------------------------------------------------------- keys


class SigningKey:
    """One key. The secret lives only in a private slot: repr/str show the id, algorithm and window.

    ``not_before_ms`` / ``not_after_ms`` (epoch milliseconds, inclusive; None = open) bound the
    signing timestamps the key is valid for.
    """

    __slots__ = ("key_id", "alg", "not_before_ms", "not_after_ms", "_secret", "_private", "_public")

    def __init__(
        self,
        key_id: str,
        alg: str,
        *,
        secret: bytes | None = None,
        private: Any = None,
        public: Any = None,
        not_before_ms: int | None = None,
        not_after_ms: int | None = None,
    ) -> None:
        if not_before_ms is not None and not_after_ms is not None and not_before_ms >= not_after_ms:
            raise SigningConfigError(f"key {key_id!r}: its validity window must begin before it ends")
        self.key_id = key_id
        self.alg = alg
        self.not_before_ms = not_before_ms
        self.not_after_ms = not_after_ms
        self._secret = secret
        self._private = private
        self._public = public

    @classmethod
    def hmac(cls, key_id: str, secret: bytes, *, not_before_ms: int | None = None, not_after_ms: int | None = None) -> SigningKey:
        return cls(key_id, HMAC_SHA256, secret=bytes(secret), not_before_ms=not_before_ms, not_after_ms=not_after_ms)

    def with_window(self, not_before_ms: int | None, not_after_ms: int | None) -> SigningKey:
        """The same key material with this validity window."""
        return SigningKey(self.key_id, self.alg, secret=self._secret, private=self._private, public=self._public,
                          not_before_ms=not_before_ms, not_after_ms=not_after_ms)

    @property
    def can_sign(self) -> bool:
        return self.alg == HMAC_SHA256 or self._private is not None

    @property
    def has_window(self) -> bool:
        return self.not_before_ms is not None or self.not_after_ms is not None

    def valid_at(self, timestamp_ms: int) -> bool:
        """Whether a signature timestamped ``timestamp_ms`` lies inside the key's window."""
        if self.not_before_ms is not None and timestamp_ms < self.not_before_ms:
            return False
        return self.not_after_ms is None or timestamp_ms <= self.not_after_ms

    @property
    def window(self) -> str:
        """``NOT_BEFORE/NOT_AFTER`` in RFC 3339 UTC, a side empty when open."""
        before = "" if self.not_before_ms is None else format_time_ms(self.not_before_ms)
        after = "" if self.not_after_ms is None else format_time_ms(self.not_after_ms)
        return f"{before}/{after}"

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
        window = f", window={self.window!r}" if self.has_window else ""
        return f"SigningKey(key_id={self.key_id!r}, alg={self.alg!r}{window})"

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
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, require_active: bool = True, now: float | None = None,
    ) -> SigningKeys | None:
        """``streams.signing.keys.load_signing_keys``: keys from TRADEWATCH_SIGNING_*, or None."""
        from streams.signing.keys import load_signing_keys

        return load_signing_keys(env, require_active=require_active, now=now)

    @classmethod
    def reviewers_from_env(cls, env: Mapping[str, str] | None = None) -> SigningKeys | None:
        """``streams.signing.keys.load_reviewer_keys``: keys from TRADEWATCH_REVIEWER_KEYS[_DIR], or None."""
        from streams.signing.keys import load_reviewer_keys

        return load_reviewer_keys(env)


# --------------------------------------------------------------------------- canonical bytes


def _field(data: bytes | None) -> bytes:
    if data is None:
        return struct.pack(">I", _LENGTH_NULL)
    return struct.pack(">I", len(data)) + data


def is_signed_header(name: str) -> bool:
    """Whether format tw2 signs a header of this name: ``tw-…`` (ASCII case ignored), not one of SIGNATURE_HEADERS."""
    return name.encode()[:3].lower() == SIGNED_HEADER_PREFIX and name not in SIGNATURE_HEADERS


def encode_signed_headers(signed_headers: Iterable[tuple[str, bytes | None]]) -> bytes:
    """``u32(n) || F(name) || F(value) ...`` sorted by the UTF-8 bytes of the name (the field ``H``)."""
    encoded = sorted((name.encode(), value) for name, value in signed_headers)
    names = [name for name, _ in encoded]
    if len(set(names)) != len(names):
        raise ValueError("a signed header appears more than once")
    return struct.pack(">I", len(encoded)) + b"".join(_field(name) + _field(value) for name, value in encoded)


def canonical_bytes(
    alg: str,
    key_id: str,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    timestamp_ms: int,
    signed_headers: Iterable[tuple[str, bytes | None]] = (),
    *,
    version: int = VERSION,
) -> bytes:
    """The exact bytes that are signed (see the module docstring).

    ``signed_headers`` are the message's signed headers (``is_signed_header``), including
    ``tw-signature-version``; format 1 signs no headers and refuses any.
    """
    parts = (alg.encode(), key_id.encode(), topic.encode(), key, str(int(timestamp_ms)).encode(), value)
    fields = b"".join(_field(part) for part in parts)
    if version == 1:
        if list(signed_headers):
            raise ValueError("format tw1 signs no headers")
        return CANONICAL_PREFIX_V1 + fields
    if version != 2:
        raise ValueError(f"unknown signature format version {version!r}")
    return CANONICAL_PREFIX_V2 + fields + _field(encode_signed_headers(signed_headers))


# --------------------------------------------------------------------------- sign / verify


def sign(
    keys: SigningKeys,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    timestamp_ms: int,
    headers: HeadersLike = None,
) -> list[tuple[str, bytes]]:
    """The five signature headers (format tw2) for one message, signed with the active key.

    ``headers`` are the message's other headers: its ``tw-`` headers (e.g. ``tw-action``) are
    signed, others are ignored; they must not already carry signature headers. SigningConfigError
    when ``timestamp_ms`` lies outside the active key's validity window.
    """
    signer = keys.active
    timestamp_ms = int(timestamp_ms)
    if not signer.valid_at(timestamp_ms):
        raise SigningConfigError(
            f"key {signer.key_id!r} is valid {signer.window}, not at {format_time_ms(timestamp_ms)}: "
            "activate another key (TRADEWATCH_SIGNING_KEY_ID)"
        )
    signed: list[tuple[str, bytes | None]] = []
    for name, raw in _header_items(headers):
        if name in SIGNATURE_HEADERS or name == HEADER_VERSION:
            raise ValueError(f"the headers to sign already carry {name}")
        if is_signed_header(name):
            signed.append((name, raw))
    version = str(VERSION).encode()
    signed.append((HEADER_VERSION, version))
    signature = signer.sign(canonical_bytes(signer.alg, signer.key_id, topic, key, value, timestamp_ms, signed))
    return [
        (HEADER_SIGNATURE, signature.hex().encode()),
        (HEADER_KEY_ID, signer.key_id.encode()),
        (HEADER_TIMESTAMP, str(timestamp_ms).encode()),
        (HEADER_ALG, signer.alg.encode()),
        (HEADER_VERSION, version),
    ]


def verify(
    keys: SigningKeys,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: HeadersLike,
    *,
    max_age_s: float | None = None,
    now: float | None = None,
    future_skew_s: float = DEFAULT_FUTURE_SKEW_S,
    accept_v1: bool = False,
) -> str:
    """The key id that signed this message, or SignatureError(reason).

    ``headers`` are all of the message's headers. A message with ``tw-signature-version: 2`` is
    checked as format tw2 (its ``tw-`` headers signed); one without that header is format tw1,
    refused (``v1_not_accepted``) unless ``accept_v1``. A signature timestamped outside the
    signing key's validity window is ``key_not_valid``. With ``max_age_s``, a signature older
    than that (or timestamped more than ``future_skew_s`` ahead of ``now``) is ``expired``: a
    captured old action cannot be replayed forever. ``now`` is epoch seconds (default: the
    wall clock).
    """
    items = _header_items(headers)
    found = _signature_headers(items)
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
    if HEADER_VERSION not in found:
        version = 1
        if not accept_v1:
            raise SignatureError("v1_not_accepted", f"no {HEADER_VERSION} header: format tw1, which signs no tw- headers")
    elif found[HEADER_VERSION] == b"2":
        version = 2
    else:
        raise SignatureError("malformed", f"unsupported {HEADER_VERSION} {found[HEADER_VERSION][:16]!r}")
    verifier = keys.get(key_id)
    if verifier is None:
        raise SignatureError("unknown_key", f"key id {key_id[:64]!r} is not configured")
    if verifier.alg != alg:
        raise SignatureError("bad_signature", f"key {key_id!r} is {verifier.alg}, header says {alg}")
    timestamp_ms = int(timestamp_text)
    if version == 2:
        signed = [(name, raw) for name, raw in items if is_signed_header(name)]
        try:
            canonical = canonical_bytes(alg, key_id, topic, key, value, timestamp_ms, signed, version=2)
        except ValueError:
            raise SignatureError("malformed", "a signed tw- header appears more than once") from None
    else:
        canonical = canonical_bytes(alg, key_id, topic, key, value, timestamp_ms, version=1)
    if not verifier.check(canonical, signature):
        raise SignatureError("bad_signature", f"signature does not match (key id {key_id!r})")
    if not verifier.valid_at(timestamp_ms):
        raise SignatureError(
            "key_not_valid", f"key {key_id!r} is valid {verifier.window}, the signature is of {format_time_ms(timestamp_ms)}"
        )
    if max_age_s is not None:
        current = time.time() if now is None else now
        age_s = current - timestamp_ms / 1000.0
        if age_s > max_age_s:
            raise SignatureError("expired", f"signed {age_s:.0f}s ago, more than {max_age_s:g}s")
        if -age_s > future_skew_s:
            raise SignatureError("expired", f"signed {-age_s:.0f}s in the future")
    return key_id


def _header_items(headers: HeadersLike) -> list[tuple[str, bytes | None]]:
    """(name, value) pairs: names as text, values as bytes or None (a null header value)."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or [])
    items: list[tuple[str, bytes | None]] = []
    for name, raw in pairs:
        if isinstance(name, bytes | bytearray):
            try:
                name = bytes(name).decode()
            except UnicodeDecodeError:
                raise SignatureError("malformed", "a header name is not UTF-8") from None
        items.append((str(name), None if raw is None else bytes(raw)))
    return items


def _signature_headers(items: Sequence[tuple[str, bytes | None]]) -> dict[str, bytes]:
    """Our headers by name; a repeated signature header is ambiguous, hence malformed."""
    found: dict[str, bytes] = {}
    for name, raw in items:
        if name in SIGNATURE_HEADERS or name == HEADER_VERSION:
            if name in found:
                raise SignatureError("malformed", f"header {name} appears more than once")
            found[name] = raw if raw is not None else b""
    return found
