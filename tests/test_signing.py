"""Signed enforcement actions: what a downstream verifier accepts and what it rejects."""

from __future__ import annotations

import base64
import logging
import secrets
import time
from pathlib import Path

import orjson
import pytest

from streams.signing import (
    HEADER_ALG,
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_VERSION,
    SignatureError,
    SigningConfigError,
    SigningKey,
    SigningKeys,
    canonical_bytes,
    load_reviewer_keys,
    load_signing_keys,
    sign,
    verify,
    verify_main,
)

TOPIC = "enforcement.actions.v1"
KEY = b"gh_1a2b3c4d5e6f"
VALUE = orjson.dumps({"action_id": "act-123", "action": "suspend", "subject": {"kind": "official_account", "id": "gh_1a2b3c4d5e6f"}})
SIGNED_AT_MS = 1_700_000_000_000
SIGNED_AT_S = SIGNED_AT_MS / 1000


def new_secret() -> bytes:
    return secrets.token_bytes(32)


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


def keyring(active: str = "k1", **secrets_by_id: bytes) -> SigningKeys:
    return SigningKeys([SigningKey.hmac(kid, secret) for kid, secret in secrets_by_id.items()], active)


def signed(keys: SigningKeys, topic: str = TOPIC, key: bytes = KEY, value: bytes = VALUE) -> list[tuple[str, bytes]]:
    return sign(keys, topic, key, value, SIGNED_AT_MS)


def reason(keys: SigningKeys, headers, topic: str = TOPIC, key: bytes = KEY, value: bytes = VALUE, **kwargs) -> str:
    with pytest.raises(SignatureError) as failure:
        verify(keys, topic, key, value, headers, **kwargs)
    return failure.value.reason


def replace_header(headers: list[tuple[str, bytes]], name: str, value: bytes) -> list[tuple[str, bytes]]:
    return [(n, value if n == name else v) for n, v in headers]


# --------------------------------------------------------------------------- sign and verify


def test_a_signed_action_verifies_and_names_the_key():
    keys = keyring(k1=new_secret())
    headers = signed(keys)
    assert {name for name, _ in headers} == {HEADER_SIGNATURE, HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_ALG, HEADER_VERSION}
    assert dict(headers)[HEADER_ALG] == b"hmac-sha256"
    assert dict(headers)[HEADER_VERSION] == b"2"
    assert verify(keys, TOPIC, KEY, VALUE, headers) == "k1"


def test_headers_as_a_mapping_or_mixed_with_other_headers_verify():
    keys = keyring(k1=new_secret())
    own = [("tw-action", b"suspend"), ("traceparent", b"00-abc")]
    headers = own + sign(keys, TOPIC, KEY, VALUE, SIGNED_AT_MS, headers=own)
    assert verify(keys, TOPIC, KEY, VALUE, headers) == "k1"
    assert verify(keys, TOPIC, KEY, VALUE, dict(headers)) == "k1"
    assert reason(keys, replace_header(headers, "tw-action", b"reinstate")) == "bad_signature"


def test_the_publishers_action_header_is_signed():
    """As the publisher builds a message: its own headers, then the signature over them."""
    keys = keyring(k1=new_secret())
    headers = [("tw-action", b"suspend")]
    headers += sign(keys, TOPIC, KEY, VALUE, SIGNED_AT_MS, headers=headers)
    assert verify(keys, TOPIC, KEY, VALUE, headers) == "k1"
    assert reason(keys, replace_header(headers, "tw-action", b"review")) == "bad_signature"
    assert reason(keys, [(n, v) for n, v in headers if n != "tw-action"]) == "bad_signature"


@pytest.mark.parametrize(
    "changed",
    [
        {"value": VALUE.replace(b"suspend", b"reinstate")},
        {"key": b"gh_ffffffffffff"},
        {"topic": "tradewatch.shadow.v1"},
    ],
    ids=["tampered value", "tampered key (other account)", "shadow action replayed on another topic"],
)
def test_any_change_to_what_was_signed_is_a_bad_signature(changed):
    keys = keyring(k1=new_secret())
    assert reason(keys, signed(keys), **changed) == "bad_signature"


def test_a_changed_timestamp_header_is_a_bad_signature():
    keys = keyring(k1=new_secret())
    headers = replace_header(signed(keys), HEADER_TIMESTAMP, str(SIGNED_AT_MS + 1).encode())
    assert reason(keys, headers) == "bad_signature"


def test_a_signature_made_with_another_secret_is_a_bad_signature():
    forger = keyring(k1=new_secret())
    assert reason(keyring(k1=new_secret()), signed(forger)) == "bad_signature"


def test_null_key_and_empty_key_are_different_messages():
    keys = keyring(k1=new_secret())
    headers = sign(keys, TOPIC, None, VALUE, SIGNED_AT_MS)
    assert verify(keys, TOPIC, None, VALUE, headers) == "k1"
    assert reason(keys, headers, key=b"") == "bad_signature"


def test_unknown_key_id():
    signer = keyring(active="other", other=new_secret())
    assert reason(keyring(k1=new_secret()), signed(signer)) == "unknown_key"


def test_missing_signature_and_incomplete_headers():
    keys = keyring(k1=new_secret())
    headers = signed(keys)
    assert reason(keys, []) == "missing_signature"
    assert reason(keys, None) == "missing_signature"
    assert reason(keys, [(n, v) for n, v in headers if n != HEADER_SIGNATURE]) == "missing_signature"
    assert reason(keys, [(n, v) for n, v in headers if n != HEADER_KEY_ID]) == "malformed"


@pytest.mark.parametrize(
    "name, value",
    [(HEADER_SIGNATURE, b"not-hex"), (HEADER_TIMESTAMP, b"yesterday"), (HEADER_ALG, b"none"), (HEADER_KEY_ID, b"\xff\xfe")],
)
def test_unparseable_headers_are_malformed(name, value):
    keys = keyring(k1=new_secret())
    assert reason(keys, replace_header(signed(keys), name, value)) == "malformed"


def test_a_repeated_signature_header_is_malformed():
    keys = keyring(k1=new_secret())
    headers = signed(keys)
    assert reason(keys, headers + [(HEADER_SIGNATURE, dict(headers)[HEADER_SIGNATURE])]) == "malformed"


def test_old_signatures_expire_only_when_a_maximum_age_is_asked_for():
    keys = keyring(k1=new_secret())
    headers = signed(keys)
    assert verify(keys, TOPIC, KEY, VALUE, headers, max_age_s=60, now=SIGNED_AT_S + 59) == "k1"
    assert reason(keys, headers, max_age_s=60, now=SIGNED_AT_S + 61) == "expired"
    assert verify(keys, TOPIC, KEY, VALUE, headers, now=SIGNED_AT_S + 10**6) == "k1"


def test_a_signature_from_the_far_future_is_expired():
    keys = keyring(k1=new_secret())
    assert reason(keys, signed(keys), max_age_s=60, now=SIGNED_AT_S - 3600) == "expired"


# --------------------------------------------------------------------------- rotation


def test_rotation_old_signatures_verify_while_the_old_key_is_still_configured():
    old, new = new_secret(), new_secret()
    signed_before_rotation = signed(keyring(active="2024-01", **{"2024-01": old}))

    after_rotation = keyring(active="2024-07", **{"2024-01": old, "2024-07": new})
    assert verify(after_rotation, TOPIC, KEY, VALUE, signed_before_rotation) == "2024-01"
    assert verify(after_rotation, TOPIC, KEY, VALUE, signed(after_rotation)) == "2024-07"

    old_key_removed = keyring(active="2024-07", **{"2024-07": new})
    assert reason(old_key_removed, signed_before_rotation) == "unknown_key"


def test_rotation_through_the_environment(tmp_path):
    old, new = new_secret(), new_secret()
    workers_before = SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"old:{b64(old)}"})
    headers = signed(workers_before)
    both = {"TRADEWATCH_SIGNING_KEYS": f"old:{b64(old)},new:{b64(new)}", "TRADEWATCH_SIGNING_KEY_ID": "new"}
    workers_after = SigningKeys.from_env(both)
    assert workers_after.active_key_id == "new"
    assert verify(workers_after, TOPIC, KEY, VALUE, headers) == "old"
    assert dict(signed(workers_after))[HEADER_KEY_ID] == b"new"


# --------------------------------------------------------------------------- keys from the environment


def test_inline_file_and_directory_keys_are_combined(tmp_path):
    file_secret, dir_secret, inline_secret = new_secret(), new_secret(), new_secret()
    key_file = tmp_path / "signing.key"
    key_file.write_text(b64(file_secret) + "\n")  # as `openssl rand -base64 32 > file` writes it
    mounted = tmp_path / "secret-volume"
    mounted.mkdir()
    (mounted / "mounted-1").write_text(b64(dir_secret))
    (mounted / "..data").mkdir()  # Kubernetes bookkeeping, not a key
    env = {
        "TRADEWATCH_SIGNING_KEYS": f"inline:{b64(inline_secret)}, from-file=@{key_file}",
        "TRADEWATCH_SIGNING_KEYS_DIR": str(mounted),
        "TRADEWATCH_SIGNING_KEY_ID": "from-file",
    }
    keys = SigningKeys.from_env(env)
    assert keys.key_ids == ["from-file", "inline", "mounted-1"]
    assert verify(keyring(active="from-file", **{"from-file": file_secret}), TOPIC, KEY, VALUE, signed(keys)) == "from-file"
    for kid, secret in (("inline", inline_secret), ("mounted-1", dir_secret)):
        assert verify(keys, TOPIC, KEY, VALUE, signed(keyring(active=kid, **{kid: secret}))) == kid


def test_no_keys_configured_means_signing_is_off():
    assert SigningKeys.from_env({}) is None


def test_a_single_key_is_active_without_naming_it():
    assert SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"only:{b64(new_secret())}"}).active_key_id == "only"


def test_a_verifier_needs_no_active_key():
    env = {"TRADEWATCH_SIGNING_KEYS": f"a:hmac:{b64(new_secret())},b:hmac:{b64(new_secret())}"}
    keys = SigningKeys.from_env(env, require_active=False)
    assert keys.active_key_id is None and keys.key_ids == ["a", "b"]


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"TRADEWATCH_SIGNING_KEYS": "k1:" + b64(b"x" * 31)}, "TRADEWATCH_SIGNING_KEYS"),
        ({"TRADEWATCH_SIGNING_KEYS": "k1:%%%not base64%%%"}, "TRADEWATCH_SIGNING_KEYS"),
        ({"TRADEWATCH_SIGNING_KEYS": "no separator here"}, "TRADEWATCH_SIGNING_KEYS"),
        ({"TRADEWATCH_SIGNING_KEYS": "bad/id:" + b64(b"x" * 32)}, "TRADEWATCH_SIGNING_KEYS"),
        ({"TRADEWATCH_SIGNING_KEYS": "k1=@/nonexistent/key"}, "TRADEWATCH_SIGNING_KEYS"),
        ({"TRADEWATCH_SIGNING_KEYS": f"k1:{b64(b'x' * 32)},k1:{b64(b'y' * 32)}"}, "TRADEWATCH_SIGNING_KEYS"),
        ({"TRADEWATCH_SIGNING_KEYS_DIR": "/nonexistent/dir"}, "TRADEWATCH_SIGNING_KEYS_DIR"),
        ({"TRADEWATCH_SIGNING_KEYS": f"a:{b64(b'x' * 32)},b:{b64(b'y' * 32)}"}, "TRADEWATCH_SIGNING_KEY_ID"),
        ({"TRADEWATCH_SIGNING_KEYS": f"a:{b64(b'x' * 32)}", "TRADEWATCH_SIGNING_KEY_ID": "c"}, "TRADEWATCH_SIGNING_KEY_ID"),
        ({"TRADEWATCH_SIGNING_KEY_ID": "a"}, "TRADEWATCH_SIGNING_KEY_ID"),
    ],
    ids=["too short", "not base64", "no kid", "bad kid", "missing file", "duplicate kid", "missing dir",
         "several keys, none active", "active kid unknown", "active kid without keys"],
)
def test_configuration_errors_name_the_variable(env, variable):
    with pytest.raises(SigningConfigError) as failure:
        SigningKeys.from_env(env)
    assert variable in str(failure.value)
    assert isinstance(failure.value, ValueError)


# --------------------------------------------------------------------------- key validity windows

WINDOW = "2026-01-01T00:00:00Z/2026-07-01T00:00:00Z"
NOT_BEFORE_MS, NOT_AFTER_MS = 1_767_225_600_000, 1_782_864_000_000
INSIDE_S = 1_775_000_000.0  # 2026-03-31


def signed_at(secret: bytes, at_ms: int, kid: str = "k1") -> list[tuple[str, bytes]]:
    return sign(keyring(active=kid, **{kid: secret}), TOPIC, KEY, VALUE, at_ms)


def assert_window(keys: SigningKeys, kid: str, secret: bytes) -> None:
    """The key verifies exactly inside WINDOW (both ends included)."""
    assert verify(keys, TOPIC, KEY, VALUE, signed_at(secret, NOT_BEFORE_MS, kid)) == kid
    assert verify(keys, TOPIC, KEY, VALUE, signed_at(secret, NOT_AFTER_MS, kid)) == kid
    assert reason(keys, signed_at(secret, NOT_BEFORE_MS - 1, kid)) == "key_not_valid"
    assert reason(keys, signed_at(secret, NOT_AFTER_MS + 1, kid)) == "key_not_valid"


def test_a_window_on_an_inline_key_and_on_a_key_file(tmp_path):
    inline, from_file = new_secret(), new_secret()
    (tmp_path / "k.key").write_text(f"hmac:{b64(from_file)}")
    env = {"TRADEWATCH_SIGNING_KEYS": f"inline[{WINDOW}]:hmac:{b64(inline)}, file [{WINDOW}] =@{tmp_path / 'k.key'}"}
    keys = load_signing_keys(env, require_active=False)
    assert_window(keys, "inline", inline)
    assert_window(keys, "file", from_file)


def test_a_window_sidecar_in_a_keys_directory(tmp_path):
    windowed, always = new_secret(), new_secret()
    (tmp_path / "k2026").write_text(f"hmac:{b64(windowed)}\n")
    (tmp_path / "k2026.window").write_text(WINDOW + "\n")
    (tmp_path / "always").write_text(f"hmac:{b64(always)}")
    keys = load_signing_keys({"TRADEWATCH_SIGNING_KEYS_DIR": str(tmp_path)}, require_active=False)
    assert keys.key_ids == ["always", "k2026"]  # the sidecar is not a key
    assert_window(keys, "k2026", windowed)
    assert verify(keys, TOPIC, KEY, VALUE, signed_at(always, 1, "always")) == "always"


def test_reviewer_keys_get_the_same_windows(tmp_path):
    inline, mounted = new_secret(), new_secret()
    (tmp_path / "bob").write_text(f"hmac:{b64(mounted)}")
    (tmp_path / "bob.window").write_text(WINDOW)
    keys = load_reviewer_keys({"TRADEWATCH_REVIEWER_KEYS": f"anna[{WINDOW}]:hmac:{b64(inline)}",
                               "TRADEWATCH_REVIEWER_KEYS_DIR": str(tmp_path)})
    assert_window(keys, "anna", inline)
    assert_window(keys, "bob", mounted)


def test_keys_without_a_window_are_always_valid():
    secret = new_secret()
    keys = load_signing_keys({"TRADEWATCH_SIGNING_KEYS": f"k1:{b64(secret)}"})
    assert verify(keys, TOPIC, KEY, VALUE, signed_at(secret, 0)) == "k1"
    assert verify(keys, TOPIC, KEY, VALUE, signed_at(secret, 10**15)) == "k1"


@pytest.mark.parametrize(
    "window",
    [
        "2026-01-01T00:00:00Z",  # no slash
        "2026-01-01T00:00:00Z/2026-07-01T00:00:00Z/2027-01-01T00:00:00Z",
        "/",
        "2026-07-01T00:00:00Z/2026-01-01T00:00:00Z",  # ends before it begins
        "2026-01-01T00:00:00Z/2026-01-01T00:00:00Z",  # empty
        "2026-01-01/2026-07-01",  # dates only
        "2026-01-01T00:00:00+08:00/",  # not UTC
        "2026-01-01 00:00:00Z/",
        "2026-02-30T00:00:00Z/",  # no such day
        "2026-01-01T24:00:00Z/",
        "2026-01-01T00:00:00.1234Z/",
        "yesterday/tomorrow",
        "2026-01-01T00:00:00Z /",
        "2026-01-01t00:00:00z/",
    ],
)
@pytest.mark.parametrize("where", ["TRADEWATCH_SIGNING_KEYS", "TRADEWATCH_SIGNING_KEYS_DIR",
                                   "TRADEWATCH_REVIEWER_KEYS", "TRADEWATCH_REVIEWER_KEYS_DIR"])
def test_a_malformed_window_fails_at_load_naming_the_variable_and_never_the_secret(tmp_path, window, where):
    secret = b64(new_secret())
    material = f"hmac:{secret}"
    if where.endswith("_DIR"):
        (tmp_path / "k1").write_text(material)
        (tmp_path / "k1.window").write_text(window)
        env = {where: str(tmp_path)}
    else:
        env = {where: f"k1[{window}]:{material}"}
    loader = load_reviewer_keys if "REVIEWER" in where else load_signing_keys
    with pytest.raises(SigningConfigError) as failure:
        loader(env)
    message = str(failure.value)
    assert where in message and "\n" not in message
    assert secret not in message and secret[:16] not in message


def test_a_window_file_without_its_key_is_refused(tmp_path):
    (tmp_path / "k1").write_text(b64(new_secret()))
    (tmp_path / "k2.window").write_text(WINDOW)
    with pytest.raises(SigningConfigError, match="TRADEWATCH_SIGNING_KEYS_DIR.*k2.window"):
        load_signing_keys({"TRADEWATCH_SIGNING_KEYS_DIR": str(tmp_path)})


@pytest.mark.parametrize("now_s", [NOT_AFTER_MS / 1000 + 1, NOT_BEFORE_MS / 1000 - 1], ids=["expired", "not yet valid"])
@pytest.mark.parametrize("named", [True, False], ids=["active named", "only key"])
def test_a_worker_refuses_to_start_with_an_active_key_outside_its_window(now_s, named):
    secret = b64(new_secret())
    env = {"TRADEWATCH_SIGNING_KEYS": f"k1[{WINDOW}]:hmac:{secret}"}
    if named:
        env["TRADEWATCH_SIGNING_KEY_ID"] = "k1"
    with pytest.raises(SigningConfigError) as failure:
        load_signing_keys(env, now=now_s)
    assert "TRADEWATCH_SIGNING_KEY_ID" in str(failure.value) and WINDOW in str(failure.value)
    assert secret not in str(failure.value)
    assert load_signing_keys(env, now=INSIDE_S).active_key_id == "k1"
    assert load_signing_keys(env, require_active=False, now=now_s) is not None  # a verifier checks old actions


def test_rotation_with_windows_the_old_key_stops_verifying_new_signatures():
    old, new = new_secret(), new_secret()
    env = {"TRADEWATCH_SIGNING_KEYS": f"old[/2026-07-01T00:00:00Z]:hmac:{b64(old)},new[2026-06-01T00:00:00Z/]:hmac:{b64(new)}",
           "TRADEWATCH_SIGNING_KEY_ID": "new"}
    worker = load_signing_keys(env, now=INSIDE_S + 90 * 86400)
    downstream = load_signing_keys(env, require_active=False)
    assert verify(downstream, TOPIC, KEY, VALUE, signed_at(old, NOT_AFTER_MS - 1, "old")) == "old"
    assert reason(downstream, signed_at(old, NOT_AFTER_MS + 1, "old")) == "key_not_valid"  # e.g. a leaked old key
    assert verify(downstream, TOPIC, KEY, VALUE, sign(worker, TOPIC, KEY, VALUE, NOT_AFTER_MS + 1)) == "new"


# --------------------------------------------------------------------------- secrets stay secret


def test_secrets_never_appear_in_repr_str_logs_or_errors(tmp_path, caplog):
    secret = new_secret()
    encoded = b64(secret)
    needles = (encoded, secret.hex(), repr(secret), encoded[:16])
    keys = SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"k1:{encoded}"})
    texts = [repr(keys), str(keys), repr(keys.active), str(keys.active), f"{keys!r} {keys.active}"]
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("tradewatch").info("signing with %s / %r", keys, keys.active)
    texts.append(caplog.text)
    short = encoded[:20]  # valid base64 but too short: the error must not echo it back
    for env in ({"TRADEWATCH_SIGNING_KEYS": f"k1:{short}"}, {"TRADEWATCH_SIGNING_KEYS": f"k1:{encoded}!"}):
        with pytest.raises(SigningConfigError) as failure:
            SigningKeys.from_env(env)
        texts.append(str(failure.value))
        assert short not in str(failure.value)
    with pytest.raises(SignatureError) as failure:
        verify(keys, TOPIC, KEY, VALUE + b" ", signed(keys))
    texts.append(str(failure.value))
    for text in texts:
        for needle in needles:
            assert needle not in text
    with pytest.raises(TypeError):
        __import__("pickle").dumps(keys)


# --------------------------------------------------------------------------- Ed25519 (optional)


def test_ed25519_private_key_signs_and_public_key_verifies(tmp_path):
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private = ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "signer.pem").write_bytes(
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (tmp_path / "verifier.pem").write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    worker = SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"ed=@{tmp_path / 'signer.pem'}"})
    headers = signed(worker)
    assert dict(headers)[HEADER_ALG] == b"ed25519"
    downstream = SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"ed=@{tmp_path / 'verifier.pem'}"}, require_active=False)
    assert verify(downstream, TOPIC, KEY, VALUE, headers) == "ed"
    assert reason(downstream, headers, value=VALUE + b" ") == "bad_signature"
    with pytest.raises(SigningConfigError, match="TRADEWATCH_SIGNING_KEY_ID"):
        SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"ed=@{tmp_path / 'verifier.pem'}", "TRADEWATCH_SIGNING_KEY_ID": "ed"})


def test_an_hmac_key_cannot_verify_a_header_claiming_ed25519():
    keys = keyring(k1=new_secret())
    assert reason(keys, replace_header(signed(keys), HEADER_ALG, b"ed25519")) == "bad_signature"


# --------------------------------------------------------------------------- tradewatch verify --file


def write_messages(path: Path, messages: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(message) + b"\n" for message in messages))


def as_jsonl(topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> dict:
    return {"topic": topic, "key": key.decode(), "value": value.decode(), "headers": [[n, v.decode()] for n, v in headers]}


def test_verify_file_reports_each_message_and_fails_if_any_fails(tmp_path, monkeypatch, capsys):
    secret = new_secret()
    monkeypatch.setenv("TRADEWATCH_SIGNING_KEYS", f"k1:hmac:{b64(secret)}")  # a verifier: the type declared
    monkeypatch.delenv("TRADEWATCH_SIGNING_KEYS_DIR", raising=False)
    monkeypatch.delenv("TRADEWATCH_SIGNING_KEY_ID", raising=False)
    keys = keyring(k1=secret)
    good = as_jsonl(TOPIC, KEY, VALUE, signed(keys))
    as_object = dict(good, value=orjson.loads(VALUE))  # a JSON object value is re-encoded exactly
    tampered = dict(good, value=VALUE.decode().replace("suspend", "reinstate"))
    unsigned = as_jsonl(TOPIC, KEY, VALUE, [])
    recording = tmp_path / "actions.jsonl"

    write_messages(recording, [good, as_object])
    assert verify_main(["--file", str(recording)]) == 0
    assert capsys.readouterr().out.splitlines() == ["ok k1 act-123", "ok k1 act-123"]

    write_messages(recording, [good, tampered, unsigned])
    assert verify_main(["--file", str(recording)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ok k1 act-123"
    assert lines[1].startswith("FAIL bad_signature line=2")
    assert lines[2].startswith("FAIL missing_signature line=3")


def test_verify_max_age_rejects_a_signed_action_replayed_later(tmp_path, monkeypatch, capsys):
    """A genuine signed suspension, written again to the actions topic a day later, still
    verifies; a consumer that asks for ``--max-age`` rejects it as expired."""
    secret = new_secret()
    monkeypatch.setenv("TRADEWATCH_SIGNING_KEYS", f"k1:hmac:{b64(secret)}")
    monkeypatch.delenv("TRADEWATCH_SIGNING_KEYS_DIR", raising=False)
    monkeypatch.delenv("TRADEWATCH_SIGNING_KEY_ID", raising=False)
    a_day_ago_ms = int(time.time() * 1000) - 86_400_000
    fresh = sign(keyring(k1=secret), TOPIC, KEY, VALUE, int(time.time() * 1000))
    replayed = sign(keyring(k1=secret), TOPIC, KEY, VALUE, a_day_ago_ms)
    recording = tmp_path / "actions.jsonl"
    write_messages(recording, [as_jsonl(TOPIC, KEY, VALUE, fresh), as_jsonl(TOPIC, KEY, VALUE, replayed)])

    assert verify_main(["--file", str(recording)]) == 0
    capsys.readouterr()
    assert verify_main(["--file", str(recording), "--max-age", "3600"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ok k1 act-123"
    assert lines[1].startswith("FAIL expired line=2")


def test_verify_without_keys_is_a_configuration_error(tmp_path, monkeypatch, capsys):
    for name in ("TRADEWATCH_SIGNING_KEYS", "TRADEWATCH_SIGNING_KEYS_DIR", "TRADEWATCH_SIGNING_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.jsonl").write_text("")
    assert verify_main(["--file", str(tmp_path / "empty.jsonl")]) == 2
    assert "TRADEWATCH_SIGNING_KEYS" in capsys.readouterr().err


def test_verify_file_accepts_tw1_signatures_only_with_accept_v1(tmp_path, monkeypatch, capsys):
    secret = new_secret()
    monkeypatch.setenv("TRADEWATCH_SIGNING_KEYS", f"k1:hmac:{b64(secret)}")
    monkeypatch.delenv("TRADEWATCH_SIGNING_KEYS_DIR", raising=False)
    monkeypatch.delenv("TRADEWATCH_SIGNING_KEY_ID", raising=False)
    signer = SigningKey.hmac("k1", secret)
    tw1 = signer.sign(canonical_bytes("hmac-sha256", "k1", TOPIC, KEY, VALUE, SIGNED_AT_MS, version=1))
    old = [("tw-action", b"suspend"), (HEADER_SIGNATURE, tw1.hex().encode()), (HEADER_KEY_ID, b"k1"),
           (HEADER_TIMESTAMP, str(SIGNED_AT_MS).encode()), (HEADER_ALG, b"hmac-sha256")]
    current = [("tw-action", b"suspend")]
    current += sign(keyring(k1=secret), TOPIC, KEY, VALUE, SIGNED_AT_MS, headers=current)
    recording = tmp_path / "actions.jsonl"
    write_messages(recording, [as_jsonl(TOPIC, KEY, VALUE, old), as_jsonl(TOPIC, KEY, VALUE, current)])

    assert verify_main(["--file", str(recording)]) == 1
    assert capsys.readouterr().out.splitlines() == ["FAIL v1_not_accepted line=1 act-123", "ok k1 act-123"]
    assert verify_main(["--file", str(recording), "--accept-v1"]) == 0
    assert capsys.readouterr().out.splitlines() == ["ok k1 act-123", "ok k1 act-123"]
    stripped = [(n, v) for n, v in current if n != HEADER_VERSION]  # a tw2 signature posing as tw1
    write_messages(recording, [as_jsonl(TOPIC, KEY, VALUE, stripped)])
    assert verify_main(["--file", str(recording), "--accept-v1"]) == 1
    assert capsys.readouterr().out.splitlines() == ["FAIL bad_signature line=1 act-123"]
