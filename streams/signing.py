"""Signed enforcement actions: downstream can check that an action really came from tradewatch.

A suspension is a consequential message; anyone who can write to ``enforcement.actions.v1``
could otherwise suspend any account. Every published action therefore carries headers::

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

Keys come from the environment (never from the policy file, which is not secret):

* ``TRADEWATCH_SIGNING_KEYS`` = ``kid1:BASE64,kid2=@/path/to/file`` — inline base64 secrets, or
  ``@path`` to read a file. The text is base64 (whitespace ignored), so
  ``openssl rand -base64 32 > file`` makes a valid key; ``hmac:BASE64`` says so explicitly. A
  file holding a PEM Ed25519 private key (signs and verifies) or public key (verifies only)
  makes an Ed25519 key. Where keys only verify (reviewer keys, ``tradewatch verify``) the type
  is never inferred: a shared secret must be written ``hmac:BASE64``, and a bare base64 key is
  refused — a raw Ed25519 public key must not become an HMAC secret anyone could sign with.
* ``TRADEWATCH_SIGNING_KEYS_DIR`` = a directory with one file per key id, file name = key id
  (a mounted Kubernetes Secret; its ``..data`` bookkeeping entries are skipped).
* ``TRADEWATCH_SIGNING_KEY_ID`` = the key id that signs; optional when exactly one key can sign.

Rotation: add the new key everywhere as a verification key, then switch
``TRADEWATCH_SIGNING_KEY_ID`` on the workers, then remove the old key once nothing signed with
it needs verifying.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

HEADER_SIGNATURE = "tw-signature"
HEADER_KEY_ID = "tw-signature-key-id"
HEADER_TIMESTAMP = "tw-signature-timestamp"
HEADER_ALG = "tw-signature-alg"
SIGNATURE_HEADERS = (HEADER_SIGNATURE, HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_ALG)

HMAC_SHA256 = "hmac-sha256"
ED25519 = "ed25519"
ALGORITHMS = (HMAC_SHA256, ED25519)
CANONICAL_PREFIX = b"tw1"
MIN_SECRET_BYTES = 32
DEFAULT_FUTURE_SKEW_S = 300.0

ENV_KEYS = "TRADEWATCH_SIGNING_KEYS"
ENV_KEYS_DIR = "TRADEWATCH_SIGNING_KEYS_DIR"
ENV_KEY_ID = "TRADEWATCH_SIGNING_KEY_ID"
ENV_REVIEWER_KEYS = "TRADEWATCH_REVIEWER_KEYS"
ENV_REVIEWER_KEYS_DIR = "TRADEWATCH_REVIEWER_KEYS_DIR"

# (env, default, help): config.py turns these into Setting rows, and so into the README table.
SIGNING_SETTINGS: tuple[tuple[str, str, str], ...] = (
    (ENV_KEYS, "", "action signing keys: kid:BASE64 or kid=@/path/file, comma-separated (secrets >= 32 bytes; PEM file = Ed25519); empty = actions are not signed"),
    (ENV_KEYS_DIR, "", "directory with one key file per key id (e.g. a mounted Kubernetes Secret); combined with TRADEWATCH_SIGNING_KEYS"),
    (ENV_KEY_ID, "", "key id that signs new actions; may be empty when exactly one configured key can sign"),
    (ENV_REVIEWER_KEYS, "", "keys of the reviewers whose signed appeals count (PEM Ed25519 public keys, or hmac:BASE64 shared secrets; a bare base64 key is refused); empty = every appeal is dead-lettered as unsigned"),
    (ENV_REVIEWER_KEYS_DIR, "", "directory with one reviewer key file per key id; combined with TRADEWATCH_REVIEWER_KEYS"),
)

KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
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
            raise SigningConfigError(f"no signing key is active: set {ENV_KEY_ID}")
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
    def reviewers_from_env(cls, env: Mapping[str, str] | None = None) -> SigningKeys | None:
        """The reviewer keys that may sign appeals (TRADEWATCH_REVIEWER_KEYS[_DIR]: PEM public
        keys, or shared secrets written ``hmac:BASE64``; verification only); None when none are
        configured."""
        source = os.environ if env is None else env
        inline = source.get(ENV_REVIEWER_KEYS, "").strip()
        directory = source.get(ENV_REVIEWER_KEYS_DIR, "").strip()
        keys = _parse_inline(inline, ENV_REVIEWER_KEYS, bare_secret=False) if inline else []
        if directory:
            keys += _read_directory(directory, ENV_REVIEWER_KEYS_DIR, bare_secret=False)
        if not keys:
            return None
        ids = [key.key_id for key in keys]
        if len(set(ids)) != len(ids):
            raise SigningConfigError(f"a reviewer key id appears twice in {ENV_REVIEWER_KEYS}/{ENV_REVIEWER_KEYS_DIR}")
        return cls(keys, None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require_active: bool = True) -> SigningKeys | None:
        """Keys from TRADEWATCH_SIGNING_*; None when none are configured (signing is off).

        ``require_active=False`` is for verifiers (``tradewatch verify``, downstream), which need
        no signing key.
        """
        source = os.environ if env is None else env
        inline = source.get(ENV_KEYS, "").strip()
        directory = source.get(ENV_KEYS_DIR, "").strip()
        active = source.get(ENV_KEY_ID, "").strip() or None
        keys = _parse_inline(inline, bare_secret=require_active) if inline else []
        if directory:
            keys += _read_directory(directory, bare_secret=require_active)
        if not keys:
            if active:
                raise SigningConfigError(f"{ENV_KEY_ID}={active!r} is set but no keys are: set {ENV_KEYS} or {ENV_KEYS_DIR}")
            return None
        seen: set[str] = set()
        for key in keys:
            if key.key_id in seen:
                raise SigningConfigError(f"key id {key.key_id!r} appears twice in {ENV_KEYS}/{ENV_KEYS_DIR}")
            seen.add(key.key_id)
        if active is None and require_active:
            signers = [key.key_id for key in keys if key.can_sign]
            if len(signers) != 1:
                raise SigningConfigError(
                    f"{ENV_KEY_ID} is empty but {len(signers)} configured keys can sign: "
                    f"set it to one of {sorted(signers)}"
                )
            active = signers[0]
        if active is not None:
            by_id = {key.key_id: key for key in keys}
            if active not in by_id:
                raise SigningConfigError(f"{ENV_KEY_ID}={active!r} is not allowed: one of the configured key ids {sorted(by_id)}")
            if not by_id[active].can_sign:
                raise SigningConfigError(f"{ENV_KEY_ID}={active!r} is not allowed: that key is an Ed25519 public key (verify only)")
        return cls(keys, active)


HMAC_PREFIX = b"hmac:"  # declares a key's material a shared secret


def _parse_inline(raw: str, env_name: str = ENV_KEYS, bare_secret: bool = True) -> list[SigningKey]:
    keys = []
    for position, entry in enumerate(part.strip() for part in raw.split(",")):
        if not entry:
            continue
        match = re.match(r"([^:=]*)[:=](.*)", entry, re.S)
        if match is None:
            raise SigningConfigError(f"{env_name}: entry {position + 1} is not allowed: expected kid:BASE64 or kid=@/path/to/file")
        key_id, material = match.group(1).strip(), match.group(2).strip()
        where = f"{env_name} (key id {key_id!r})"
        _check_key_id(key_id, f"{env_name}: entry {position + 1}")
        if material.startswith("@"):
            path = Path(material[1:])
            keys.append(_key_from_text(key_id, _read_key_file(path, where), f"{where} file {str(path)!r}", bare_secret))
        else:
            keys.append(_key_from_text(key_id, material.encode(), where, bare_secret))
    return keys


def _read_directory(directory: str, env_name: str = ENV_KEYS_DIR, bare_secret: bool = True) -> list[SigningKey]:
    root = Path(directory)
    if not root.is_dir():
        raise SigningConfigError(f"{env_name}={directory!r} is not allowed: not a readable directory")
    keys = []
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_file():  # ..data, ..2024_01_01 (Kubernetes)
            continue
        where = f"{env_name} file {path.name!r}"
        _check_key_id(path.name, where)
        keys.append(_key_from_text(path.name, _read_key_file(path, where), where, bare_secret))
    if not keys:
        raise SigningConfigError(f"{env_name}={directory!r} is not allowed: it holds no key files")
    return keys


def _check_key_id(key_id: str, where: str) -> None:
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise SigningConfigError(f"{where}: key id {key_id!r} is not allowed: 1-64 of letters, digits, . _ - (starting with a letter or digit)")


def _read_key_file(path: Path, where: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SigningConfigError(f"{where}: cannot read key file {str(path)!r} ({error.strerror or type(error).__name__})") from None


def _key_from_text(key_id: str, text: bytes, where: str, bare_secret: bool = True) -> SigningKey:
    """A key's material: PEM (Ed25519), ``hmac:BASE64`` (a shared secret, declared), or bare
    base64 — a shared secret too, but only where keys sign (``bare_secret``). Where keys only
    verify (reviewer keys, ``tradewatch verify``) a bare base64 key is refused: a raw public
    key would otherwise become an HMAC secret that anyone holding the public key can sign with."""
    stripped = text.strip()
    if stripped.startswith(b"-----BEGIN"):
        return _ed25519_key(key_id, stripped, where)
    if stripped[:5].lower() == HMAC_PREFIX:
        stripped = stripped[5:].strip()
    elif not bare_secret:
        raise SigningConfigError(
            f"{where}: a bare base64 key is refused where keys only verify — an Ed25519 public key "
            f"is PEM (-----BEGIN PUBLIC KEY-----), a shared HMAC secret is written hmac:BASE64"
        )
    try:
        compact = b"".join(stripped.split())
        secret = base64.b64decode(compact.replace(b"-", b"+").replace(b"_", b"/") + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SigningConfigError(f"{where}: the secret is not valid base64") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise SigningConfigError(
            f"{where}: the secret is {len(secret)} bytes; at least {MIN_SECRET_BYTES} are required "
            "(e.g. openssl rand -base64 32)"
        )
    return SigningKey.hmac(key_id, secret)


def _ed25519_key(key_id: str, pem: bytes, where: str) -> SigningKey:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise SigningConfigError(f"{where}: a PEM (Ed25519) key needs the 'cryptography' package") from None
    try:
        if b"PRIVATE KEY" in pem.split(b"\n", 1)[0]:
            private = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private, ed25519.Ed25519PrivateKey):
                raise ValueError
            return SigningKey(key_id, ED25519, private=private, public=private.public_key())
        public = serialization.load_pem_public_key(pem)
        if not isinstance(public, ed25519.Ed25519PublicKey):
            raise ValueError
        return SigningKey(key_id, ED25519, public=public)
    except (ValueError, TypeError):
        raise SigningConfigError(f"{where}: not an unencrypted PEM Ed25519 private or public key") from None


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


# --------------------------------------------------------------------------- tradewatch verify


def verify_main(argv: Sequence[str] | None = None) -> int:
    """``tradewatch verify``: check the signature of every action on a topic or in a JSONL file.

    Prints ``ok <kid> <action_id>`` or ``FAIL <reason> offset=<n>`` per message; exit status 1
    if any failed, 2 on a configuration error.
    """
    args = _verify_parser().parse_args(argv)
    try:
        keys = SigningKeys.from_env(require_active=False)
    except SigningConfigError as error:
        print(f"tradewatch verify: configuration error: {error}", file=sys.stderr)
        return 2
    if keys is None:
        print(f"tradewatch verify: configuration error: no verification keys: set {ENV_KEYS} or {ENV_KEYS_DIR}", file=sys.stderr)
        return 2
    checker = _Checker(keys, args.max_age)
    if args.file:
        try:
            for where, record in _read_jsonl(args.file):
                checker.check(record, where)
        except (OSError, ValueError) as error:
            print(f"tradewatch verify: cannot read {args.file}: {error}", file=sys.stderr)
            return 2
    else:
        try:
            asyncio.run(_verify_topic(args, checker))
        except Exception as error:  # noqa: BLE001 - a clear one-line error, not a traceback
            print(f"tradewatch verify: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
    print(f"verified {checker.ok}, failed {checker.failed}", file=sys.stderr)
    return 1 if checker.failed else 0


def _verify_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradewatch verify",
        description="Verify the signatures of enforcement actions (keys: TRADEWATCH_SIGNING_KEYS / _DIR).",
    )
    parser.add_argument("--topic", default="enforcement.actions.v1")
    parser.add_argument("--broker", help="bootstrap servers (default: TRADEWATCH_BROKER or 127.0.0.1:9092)")
    parser.add_argument("--from-beginning", action="store_true", help="read from the oldest message, not only new ones")
    parser.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
    parser.add_argument("--timeout", type=float, default=5.0, help="stop after this many seconds without a message")
    parser.add_argument("--max-age", type=float, default=None, help="reject signatures older than this many seconds")
    parser.add_argument("--file", help="verify a JSONL file of {topic, key, value, headers} instead of a topic")
    return parser


class _Checker:
    def __init__(self, keys: SigningKeys, max_age_s: float | None) -> None:
        self.keys = keys
        self.max_age_s = max_age_s
        self.ok = 0
        self.failed = 0

    def check_message(self, topic: str, key: bytes | None, value: bytes | None, headers: Any, where: str) -> None:
        try:
            key_id = verify(self.keys, topic, key, value, headers, max_age_s=self.max_age_s)
        except SignatureError as error:
            self.failed += 1
            print(f"FAIL {error.reason} {where} {_action_id(value)}", flush=True)
            return
        self.ok += 1
        print(f"ok {key_id} {_action_id(value)}", flush=True)

    def check(self, record: dict[str, Any], where: str) -> None:
        try:
            topic, key, value, headers = _record_parts(record)
        except (KeyError, TypeError, ValueError, binascii.Error):
            self.failed += 1
            print(f"FAIL malformed {where} -", flush=True)
            return
        self.check_message(topic, key, value, headers, where)


def _action_id(value: bytes | None) -> str:
    try:
        return str(orjson.loads(value or b"").get("action_id", "-"))
    except (orjson.JSONDecodeError, AttributeError):
        return "-"


def _read_jsonl(path: str) -> Iterable[tuple[str, dict[str, Any]]]:
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield f"line={number}", orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield f"line={number}", {}


def _record_parts(record: dict[str, Any]) -> tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]:
    """A JSONL record's exact bytes.

    ``key``/``value`` are UTF-8 strings (or ``key_b64``/``value_b64`` for binary); a ``value``
    that is a JSON object is re-encoded with orjson, which reproduces the bytes tradewatch
    published (it publishes orjson output). ``headers`` is ``[[name, value], ...]`` or
    ``{name: value}``, values UTF-8 strings.
    """
    topic = record["topic"]
    if not isinstance(topic, str):
        raise TypeError("topic")
    key = _bytes_field(record, "key")
    value = _bytes_field(record, "value")
    raw_headers = record.get("headers") or []
    pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
    headers = [(str(name), header.encode() if isinstance(header, str) else bytes(header or b"")) for name, header in pairs]
    return topic, key, value, headers


def _bytes_field(record: dict[str, Any], name: str) -> bytes | None:
    if f"{name}_b64" in record:
        return base64.b64decode(record[f"{name}_b64"], validate=True)
    raw = record.get(name)
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw.encode()
    return orjson.dumps(raw)


async def _verify_topic(args: argparse.Namespace, checker: _Checker) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.security import KafkaSecurity, start_checked

    bootstrap = args.broker or os.environ.get("TRADEWATCH_BROKER") or "127.0.0.1:9092"
    bootstrap = ",".join(server.strip().split("://", 1)[-1] for server in bootstrap.split(",") if server.strip())
    security = KafkaSecurity.from_env()
    # No group: a read-only check must not move anybody's committed offsets.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **security.aiokafka_kwargs())
    await start_checked(consumer, security, bootstrap)
    try:
        partitions = consumer.partitions_for_topic(args.topic)
        if partitions is None:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no public metadata refresh
            partitions = consumer.partitions_for_topic(args.topic)
        if not partitions:
            raise LookupError(f"topic {args.topic} does not exist on {bootstrap}")
        assignment = [TopicPartition(args.topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        if args.from_beginning:
            await consumer.seek_to_beginning(*assignment)
        else:
            await consumer.seek_to_end(*assignment)
        seen = 0
        idle_deadline = time.monotonic() + args.timeout
        while time.monotonic() < idle_deadline and (args.max_messages is None or seen < args.max_messages):
            batch = await consumer.getmany(*assignment, timeout_ms=200, max_records=100)
            for records in batch.values():
                for message in records:
                    if args.max_messages is not None and seen >= args.max_messages:
                        break
                    seen += 1
                    where = f"offset={message.offset} partition={message.partition}"
                    checker.check_message(message.topic, message.key, message.value, message.headers, where)
            if batch:
                idle_deadline = time.monotonic() + args.timeout
    finally:
        await consumer.stop()
