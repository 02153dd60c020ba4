"""Signing and reviewer keys from the environment and key files (never from the policy file, which is not secret).

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
* ``TRADEWATCH_REVIEWER_KEYS`` / ``TRADEWATCH_REVIEWER_KEYS_DIR`` = the same, for the reviewers
  whose signed appeals count (verification only).

Validity windows (optional; a key without one is always valid): ``NOT_BEFORE/NOT_AFTER``, two
RFC 3339 UTC times ``YYYY-MM-DDTHH:MM:SS[.fff]Z``, both inclusive, either side empty for an
open end (``2026-01-01T00:00:00Z/2026-07-01T00:00:00Z``, ``/2026-07-01T00:00:00Z``). In the
variables the window follows the key id in brackets: ``kid[NOT_BEFORE/NOT_AFTER]:BASE64`` or
``kid[NOT_BEFORE/NOT_AFTER]=@/path``. In a keys directory it is a sidecar file
``<kid>.window`` holding that text (so a ``*.window`` file is never a key, and one without its
key file is an error). A malformed window fails at load with one line naming the variable.
A signature timestamped outside its key's window does not verify (``key_not_valid``); a
worker refuses to start when its active key is not valid now, and ``sign`` refuses a time
outside the active key's window, so a worker that runs past its key's end stops publishing
rather than sign with it.

Rotation: add the new key everywhere as a verification key, then switch
``TRADEWATCH_SIGNING_KEY_ID`` on the workers, then remove the old key once nothing signed with
it needs verifying. With windows: give the old key a ``NOT_AFTER`` a little after the switch,
so even a leaked old key can no longer sign new actions that verify.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from streams.signing.core import ED25519, SigningConfigError, SigningKey, SigningKeys, format_time_ms

MIN_SECRET_BYTES = 32

ENV_KEYS = "TRADEWATCH_SIGNING_KEYS"
ENV_KEYS_DIR = "TRADEWATCH_SIGNING_KEYS_DIR"
ENV_KEY_ID = "TRADEWATCH_SIGNING_KEY_ID"
ENV_REVIEWER_KEYS = "TRADEWATCH_REVIEWER_KEYS"
ENV_REVIEWER_KEYS_DIR = "TRADEWATCH_REVIEWER_KEYS_DIR"

# (env, default, help): config.py turns these into Setting rows, and so into the table in docs/reference.md.
SIGNING_SETTINGS: tuple[tuple[str, str, str], ...] = (
    (ENV_KEYS, "", "action signing keys: kid:BASE64 or kid=@/path/file, comma-separated (secrets >= 32 bytes; PEM file = Ed25519); empty = actions are not signed"),
    (ENV_KEYS_DIR, "", "directory with one key file per key id (e.g. a mounted Kubernetes Secret); combined with TRADEWATCH_SIGNING_KEYS"),
    (ENV_KEY_ID, "", "key id that signs new actions; may be empty when exactly one configured key can sign"),
    (ENV_REVIEWER_KEYS, "", "keys of the reviewers whose signed appeals count (PEM Ed25519 public keys, or hmac:BASE64 shared secrets; a bare base64 key is refused); empty = every appeal is dead-lettered as unsigned"),
    (ENV_REVIEWER_KEYS_DIR, "", "directory with one reviewer key file per key id; combined with TRADEWATCH_REVIEWER_KEYS"),
)

KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HMAC_PREFIX = b"hmac:"  # declares a key's material a shared secret
WINDOW_SUFFIX = ".window"  # in a keys directory: <kid>.window holds that key's validity window
WINDOW_SYNTAX = "NOT_BEFORE/NOT_AFTER in RFC 3339 UTC, e.g. 2026-01-01T00:00:00Z/2026-07-01T00:00:00Z (one side may be empty)"
_INLINE_ENTRY = re.compile(r"([^:=\[\]]*)(?:\[([^\]]*)\]\s*)?[:=](.*)", re.S)
_RFC3339_UTC = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z")


def load_reviewer_keys(env: Mapping[str, str] | None = None) -> SigningKeys | None:
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
    return SigningKeys(keys, None)


def load_signing_keys(
    env: Mapping[str, str] | None = None, *, require_active: bool = True, now: float | None = None,
) -> SigningKeys | None:
    """Keys from TRADEWATCH_SIGNING_*; None when none are configured (signing is off).

    ``require_active=False`` is for verifiers (``tradewatch verify``, downstream), which need
    no signing key. With ``require_active``, an active key outside its validity window at
    ``now`` (epoch seconds; default: the wall clock) is refused.
    """
    source = os.environ if env is None else env
    inline = source.get(ENV_KEYS, "").strip()
    directory = source.get(ENV_KEYS_DIR, "").strip()
    active = source.get(ENV_KEY_ID, "").strip() or None
    named = f"{ENV_KEY_ID}={active!r}" if active else f"the only signing key (in {ENV_KEYS}/{ENV_KEYS_DIR})"
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
        now_ms = int((time.time() if now is None else now) * 1000)
        if require_active and not by_id[active].valid_at(now_ms):
            raise SigningConfigError(
                f"{named} is not allowed: key {active!r} is valid {by_id[active].window}, "
                f"not now ({format_time_ms(now_ms)}); set {ENV_KEY_ID} to a key that is valid now"
            )
    return SigningKeys(keys, active)


def _parse_inline(raw: str, env_name: str = ENV_KEYS, bare_secret: bool = True) -> list[SigningKey]:
    keys = []
    for position, entry in enumerate(part.strip() for part in raw.split(",")):
        if not entry:
            continue
        match = _INLINE_ENTRY.fullmatch(entry)
        if match is None:
            raise SigningConfigError(
                f"{env_name}: entry {position + 1} is not allowed: expected kid:BASE64 or kid=@/path/to/file, "
                "optionally kid[NOT_BEFORE/NOT_AFTER]:…"
            )
        key_id, window, material = match.group(1).strip(), match.group(2), match.group(3).strip()
        where = f"{env_name} (key id {key_id!r})"
        _check_key_id(key_id, f"{env_name}: entry {position + 1}")
        not_before, not_after = (None, None) if window is None else parse_window(window, f"{where}: its window")
        if material.startswith("@"):
            path = Path(material[1:])
            key = _key_from_text(key_id, _read_key_file(path, where), f"{where} file {str(path)!r}", bare_secret)
        else:
            key = _key_from_text(key_id, material.encode(), where, bare_secret)
        keys.append(key.with_window(not_before, not_after) if window is not None else key)
    return keys


def _read_directory(directory: str, env_name: str = ENV_KEYS_DIR, bare_secret: bool = True) -> list[SigningKey]:
    root = Path(directory)
    if not root.is_dir():
        raise SigningConfigError(f"{env_name}={directory!r} is not allowed: not a readable directory")
    files = [path for path in sorted(root.iterdir()) if not path.name.startswith(".") and path.is_file()]  # ..data (Kubernetes)
    windows = {path.name[: -len(WINDOW_SUFFIX)]: path for path in files if path.name.endswith(WINDOW_SUFFIX)}
    keys = []
    for path in files:
        if path.name.endswith(WINDOW_SUFFIX):
            continue
        where = f"{env_name} file {path.name!r}"
        _check_key_id(path.name, where)
        key = _key_from_text(path.name, _read_key_file(path, where), where, bare_secret)
        window_file = windows.pop(path.name, None)
        if window_file is not None:
            window_where = f"{env_name} file {window_file.name!r}"
            try:
                text = window_file.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError):
                raise SigningConfigError(f"{window_where}: the validity window is not readable ASCII text") from None
            key = key.with_window(*parse_window(text, window_where))
        keys.append(key)
    if windows:
        orphan = windows[sorted(windows)[0]].name
        raise SigningConfigError(
            f"{env_name} file {orphan!r} is not allowed: no key file {orphan[: -len(WINDOW_SUFFIX)]!r} for this window"
        )
    if not keys:
        raise SigningConfigError(f"{env_name}={directory!r} is not allowed: it holds no key files")
    return keys


def parse_window(text: str, where: str) -> tuple[int | None, int | None]:
    """``NOT_BEFORE/NOT_AFTER`` as epoch milliseconds (None for an empty side); SigningConfigError
    naming ``where`` otherwise. The text itself is not repeated in the error."""
    parts = text.strip().split("/")
    if len(parts) != 2:
        raise SigningConfigError(f"{where} is not allowed: expected {WINDOW_SYNTAX}")
    not_before = _parse_time(parts[0], where, "NOT_BEFORE")
    not_after = _parse_time(parts[1], where, "NOT_AFTER")
    if not_before is None and not_after is None:
        raise SigningConfigError(f"{where} is not allowed: both sides are empty (leave the window out for a key that is always valid)")
    if not_before is not None and not_after is not None and not_before >= not_after:
        raise SigningConfigError(f"{where} is not allowed: NOT_BEFORE must be earlier than NOT_AFTER")
    return not_before, not_after


def _parse_time(text: str, where: str, side: str) -> int | None:
    if text == "":
        return None
    match = _RFC3339_UTC.fullmatch(text)
    if match is None:
        raise SigningConfigError(f"{where} is not allowed: {side} is not an RFC 3339 UTC time; expected {WINDOW_SYNTAX}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise SigningConfigError(f"{where} is not allowed: {side} is not a valid date and time") from None
    millis = int((match.group(7) or "").ljust(3, "0"))
    return int(moment.timestamp()) * 1000 + millis


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
