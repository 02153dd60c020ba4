"""The signing core: sans-I/O (a downstream verifier imports it without the CLI, Kafka or configuration),
format tw2 signing every tw- header, and key validity windows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import streams.signing.core
from streams.signing.core import (
    HEADER_ALG,
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    HEADER_VERSION,
    HMAC_SHA256,
    SIGNATURE_HEADERS,
    SignatureError,
    SigningConfigError,
    SigningKey,
    SigningKeys,
    canonical_bytes,
    format_time_ms,
    is_signed_header,
    sign,
    verify,
)

FORBIDDEN_MODULES = ("argparse", "asyncio", "aiokafka", "faust", "streams.config")


def test_importing_the_core_loads_no_cli_kafka_or_configuration_modules():
    probe = (
        "import sys, streams.signing.core\n"
        f"print(','.join(name for name in {FORBIDDEN_MODULES!r} if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_core_reads_no_environment_and_opens_no_files():
    source = Path(streams.signing.core.__file__).read_text()
    assert "os.environ" not in source
    assert "open(" not in source


# --------------------------------------------------------------------------- format tw2: every tw- header is signed

TOPIC = "enforcement.actions.v1"
KEY = b"gh_1a2b3c4d5e6f"
VALUE = b'{"action":"suspend","action_id":"act-123"}'
AT_MS = 1_700_000_000_000
ACTION = [("tw-action", b"suspend")]


def hmac_keys(secret: bytes = b"s" * 32, **window: int) -> SigningKeys:
    return SigningKeys([SigningKey.hmac("k1", secret, **window)], "k1")


def signed_message(keys: SigningKeys, headers=ACTION, at_ms: int = AT_MS) -> list[tuple[str, bytes]]:
    """A message's full headers, as the publisher sends them: its own, then the signature's."""
    return [*headers, *sign(keys, TOPIC, KEY, VALUE, at_ms, headers=headers)]


def tw1_message(keys: SigningKeys, headers=ACTION, at_ms: int = AT_MS) -> list[tuple[str, bytes]]:
    """A message signed in format tw1 (no version header, tw- headers unsigned), as before tw2."""
    signer = keys.active
    signature = signer.sign(canonical_bytes(signer.alg, signer.key_id, TOPIC, KEY, VALUE, at_ms, version=1))
    return [*headers, (HEADER_SIGNATURE, signature.hex().encode()), (HEADER_KEY_ID, b"k1"),
            (HEADER_TIMESTAMP, str(at_ms).encode()), (HEADER_ALG, HMAC_SHA256.encode())]


def reason(keys: SigningKeys, headers, **kwargs) -> str:
    with pytest.raises(SignatureError) as failure:
        verify(keys, TOPIC, KEY, VALUE, headers, **kwargs)
    return failure.value.reason


def test_tw2_round_trip_with_the_action_header_as_a_list_or_a_mapping():
    keys = hmac_keys()
    headers = signed_message(keys)
    assert dict(headers)[HEADER_VERSION] == b"2"
    assert dict(headers)["tw-action"] == b"suspend"
    assert verify(keys, TOPIC, KEY, VALUE, headers) == "k1"
    assert verify(keys, TOPIC, KEY, VALUE, dict(headers)) == "k1"
    assert verify(keys, TOPIC, KEY, VALUE, [(name.encode(), raw) for name, raw in headers]) == "k1"


def test_tw2_signs_exactly_the_tw_headers_with_the_version_in_the_signed_bytes():
    keys = hmac_keys()
    headers = signed_message(keys, [("tw-action", b"suspend"), ("traceparent", b"00-abc")])
    signature = bytes.fromhex(dict(headers)[HEADER_SIGNATURE].decode())
    expected = canonical_bytes(HMAC_SHA256, "k1", TOPIC, KEY, VALUE, AT_MS, [("tw-signature-version", b"2"), ("tw-action", b"suspend")])
    assert expected.startswith(b"tw2")
    assert signature == keys.active.sign(expected)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: [(n, b"reinstate" if n == "tw-action" else v) for n, v in h],
        lambda h: [*h, ("tw-foo", b"bar")],
        lambda h: [("tw-foo", b"bar"), *h],
        lambda h: [(n, v) for n, v in h if n != "tw-action"],
        lambda h: [*h, ("TW-Action", b"reinstate")],
        lambda h: [(n, v) for n, v in h if n != "tw-action"] + [("tw-action", None)],
    ],
    ids=["tw-action changed", "tw-foo added", "tw-foo added first", "tw-action removed", "TW-Action added",
         "tw-action made null"],
)
def test_changing_adding_or_removing_a_tw_header_breaks_a_tw2_signature(tamper):
    keys = hmac_keys()
    headers = signed_message(keys)
    assert verify(keys, TOPIC, KEY, VALUE, headers) == "k1"
    assert reason(keys, tamper(headers)) == "bad_signature"


def test_headers_that_are_not_tw_headers_are_not_signed():
    keys = hmac_keys()
    assert verify(keys, TOPIC, KEY, VALUE, [("traceparent", b"00-x"), *signed_message(keys)]) == "k1"


def test_stripping_the_version_header_does_not_downgrade_a_tw2_signature_to_tw1():
    keys = hmac_keys()
    stripped = [(n, v) for n, v in signed_message(keys) if n != HEADER_VERSION]
    assert reason(keys, stripped) == "v1_not_accepted"
    assert reason(keys, stripped, accept_v1=True) == "bad_signature"


def test_adding_a_version_header_to_a_tw1_message_does_not_verify_as_tw2():
    keys = hmac_keys()
    assert reason(keys, [*tw1_message(keys), (HEADER_VERSION, b"2")], accept_v1=True) == "bad_signature"


def test_tw1_is_accepted_only_when_asked_for():
    keys = hmac_keys()
    old = tw1_message(keys)
    assert reason(keys, old) == "v1_not_accepted"
    assert verify(keys, TOPIC, KEY, VALUE, old, accept_v1=True) == "k1"
    with pytest.raises(SignatureError) as changed:
        verify(keys, TOPIC, KEY, VALUE + b" ", old, accept_v1=True)
    assert changed.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "headers",
    [
        lambda h: [*h, ("tw-action", b"suspend")],
        lambda h: [*h, (HEADER_VERSION, b"2")],
        lambda h: [(n, b"3" if n == HEADER_VERSION else v) for n, v in h],
        lambda h: [(n, b"1" if n == HEADER_VERSION else v) for n, v in h],
    ],
    ids=["tw-action twice", "version twice", "unknown version 3", "version 1 is never written"],
)
def test_ambiguous_or_unknown_version_headers_are_malformed(headers):
    keys = hmac_keys()
    assert reason(keys, headers(signed_message(keys))) == "malformed"


def test_sign_without_headers_stays_backward_compatible_and_signs_the_version():
    keys = hmac_keys()
    headers = sign(keys, TOPIC, KEY, VALUE, AT_MS)
    assert [name for name, _ in headers] == [*SIGNATURE_HEADERS, HEADER_VERSION]
    assert verify(keys, TOPIC, KEY, VALUE, headers) == "k1"
    assert reason(keys, [("tw-action", b"suspend"), *headers]) == "bad_signature"


@pytest.mark.parametrize("name", [*SIGNATURE_HEADERS, HEADER_VERSION])
def test_sign_refuses_headers_that_already_carry_a_signature(name):
    with pytest.raises(ValueError, match=name):
        sign(hmac_keys(), TOPIC, KEY, VALUE, AT_MS, headers=[("tw-action", b"suspend"), (name, b"x")])


def test_sign_refuses_a_repeated_tw_header():
    with pytest.raises(ValueError, match="more than once"):
        sign(hmac_keys(), TOPIC, KEY, VALUE, AT_MS, headers=[("tw-action", b"suspend"), ("tw-action", b"review")])


def test_which_headers_are_signed():
    assert is_signed_header("tw-action") and is_signed_header("TW-Action") and is_signed_header(HEADER_VERSION)
    assert not any(is_signed_header(name) for name in (*SIGNATURE_HEADERS, "traceparent", "tw", "twaction", "x-tw-action"))


# --------------------------------------------------------------------------- key validity windows

NOT_BEFORE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NOT_AFTER_MS = 1_782_864_000_000  # 2026-07-01T00:00:00Z
SECRET = b"w" * 32


def windowed() -> SigningKeys:
    return hmac_keys(SECRET, not_before_ms=NOT_BEFORE_MS, not_after_ms=NOT_AFTER_MS)


@pytest.mark.parametrize(
    "at_ms, valid",
    [
        (NOT_BEFORE_MS, True),
        (NOT_BEFORE_MS - 1, False),
        (NOT_AFTER_MS, True),
        (NOT_AFTER_MS + 1, False),
        ((NOT_BEFORE_MS + NOT_AFTER_MS) // 2, True),
    ],
    ids=["exactly not_before", "1 ms before not_before", "exactly not_after", "1 ms after not_after", "inside"],
)
def test_a_signature_outside_the_keys_window_is_rejected(at_ms, valid):
    headers = signed_message(hmac_keys(SECRET), at_ms=at_ms)  # the same secret, without a window
    if valid:
        assert verify(windowed(), TOPIC, KEY, VALUE, headers) == "k1"
    else:
        assert reason(windowed(), headers) == "key_not_valid"


def test_key_not_valid_is_reported_only_for_an_authentic_signature():
    forged = signed_message(hmac_keys(b"f" * 32), at_ms=NOT_AFTER_MS + 1)
    assert reason(windowed(), forged) == "bad_signature"


def test_an_open_ended_window():
    headers = signed_message(hmac_keys(SECRET), at_ms=10**15)
    assert verify(hmac_keys(SECRET, not_before_ms=NOT_BEFORE_MS), TOPIC, KEY, VALUE, headers) == "k1"
    assert reason(hmac_keys(SECRET, not_after_ms=NOT_AFTER_MS), headers) == "key_not_valid"


def test_a_tw1_signature_is_held_to_the_window_too():
    old = tw1_message(hmac_keys(SECRET), at_ms=NOT_AFTER_MS + 1)
    assert reason(windowed(), old, accept_v1=True) == "key_not_valid"


@pytest.mark.parametrize("at_ms", [NOT_BEFORE_MS - 1, NOT_AFTER_MS + 1])
def test_a_worker_never_signs_outside_its_keys_window(at_ms):
    with pytest.raises(SigningConfigError, match="k1"):
        sign(windowed(), TOPIC, KEY, VALUE, at_ms, headers=ACTION)
    assert sign(windowed(), TOPIC, KEY, VALUE, NOT_AFTER_MS, headers=ACTION)


def test_a_window_must_begin_before_it_ends():
    with pytest.raises(SigningConfigError):
        SigningKey.hmac("k1", SECRET, not_before_ms=NOT_AFTER_MS, not_after_ms=NOT_BEFORE_MS)


def test_the_window_shows_in_repr_and_never_the_secret():
    text = repr(windowed().active)
    assert "2026-01-01T00:00:00Z/2026-07-01T00:00:00Z" in text and SECRET.decode() not in text
    assert format_time_ms(NOT_BEFORE_MS + 5) == "2026-01-01T00:00:00.005Z"
