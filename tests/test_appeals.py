"""Only a configured reviewer's signed appeal reinstates (live and in replay)."""

from __future__ import annotations

import base64

import orjson
import pytest

from streams.appeals import verified_appeal
from streams.core.policy import load_policy
from streams.decode import DecodeError, decode_input
from streams.offline.replay import replay
from streams.signing import SigningKey, SigningKeys, sign
from tests.integration.records import appeal_record, resale_records

ACCOUNT, APP = "gh_a99ea1000001", "wxa99ea10000000001"
REVIEWERS = SigningKeys([SigningKey.hmac("reviewer-anna", b"r" * 32)], "reviewer-anna")
STRANGER = SigningKeys([SigningKey.hmac("reviewer-anna", b"s" * 32)], "reviewer-anna")  # right id, wrong key


def lines(records):
    return [(str(i), orjson.dumps(r)) for i, r in enumerate(records)]


def suspended():
    """Records that get the account suspended, and the account suspension's action id."""
    records = resale_records(ACCOUNT, APP, count=170, every_s=1800)
    actions = replay(lines(records), load_policy()).actions
    suspension = next(a for a in actions if a["action"] == "suspend" and a["subject"]["kind"] == "official_account")
    return records, suspension["action_id"], 170 * 1800 + 3600


def test_a_forged_appeal_with_a_correct_action_id_does_not_reinstate():
    records, action_id, later = suspended()
    forged = appeal_record(ACCOUNT, action_id, later, "appeal-1")  # unsigned, "reviewer" free text
    result = replay(lines(records + [forged]), load_policy(), reviewers=REVIEWERS)
    assert not [a for a in result.actions if a["action"] == "reinstate"]
    assert [item.reason for item in result.invalid] == ["unsigned_appeal"]


@pytest.mark.parametrize("signer", [STRANGER, None])
def test_an_appeal_signed_by_no_configured_reviewer_does_not_reinstate(signer):
    records, action_id, later = suspended()
    appeal = appeal_record(ACCOUNT, action_id, later, "appeal-2", reviewer=signer)
    result = replay(lines(records + [appeal]), load_policy(), reviewers=None if signer is None else REVIEWERS)
    assert not [a for a in result.actions if a["action"] == "reinstate"]
    assert [item.reason for item in result.invalid] == ["bad_signature" if signer else "unsigned_appeal"]


def test_a_reviewers_signed_appeal_reinstates_and_says_who_decided():
    records, action_id, later = suspended()
    appeal = appeal_record(ACCOUNT, action_id, later, "appeal-3", reviewer=REVIEWERS)
    result = replay(lines(records + [appeal]), load_policy(), reviewers=REVIEWERS)
    reinstated = [a for a in result.actions if a["action"] == "reinstate"]
    assert reinstated and all(a["appeal_id"] == "appeal-3" and a["reviewer"] == "reviewer-anna" for a in reinstated)
    assert result.invalid == []


def test_a_signed_appeal_naming_an_action_we_never_issued_is_rejected():
    records, _, later = suspended()
    appeal = appeal_record(ACCOUNT, "act_" + "0" * 32, later, "appeal-4", reviewer=REVIEWERS)
    result = replay(lines(records + [appeal]), load_policy(), reviewers=REVIEWERS)
    assert not [a for a in result.actions if a["action"] == "reinstate"]
    assert [item.reason for item in result.invalid] == ["unknown_action"]


def test_a_signed_appeal_whose_value_was_changed_does_not_verify():
    value = orjson.dumps({"appeal_id": "a", "account_id": ACCOUNT, "action_id": "act_1", "outcome": "upheld",
                          "reviewer": "x", "decided_at": "2022-03-20T10:00:00+08:00"})
    headers = sign(REVIEWERS, "enforcement.appeals.v1", ACCOUNT.encode(), value, 1_000)
    tampered = value.replace(b"upheld", b"overturned")
    appeal = decode_input("enforcement.appeals.v1", tampered)
    with pytest.raises(DecodeError) as caught:
        verified_appeal(appeal, REVIEWERS, "enforcement.appeals.v1", ACCOUNT.encode(), tampered, headers)
    assert caught.value.reason == "bad_signature"
    assert verified_appeal(decode_input("enforcement.appeals.v1", value), REVIEWERS,
                           "enforcement.appeals.v1", ACCOUNT.encode(), value, headers).reviewer == "reviewer-anna"


def test_reviewer_keys_come_from_their_own_settings():
    secret = base64.b64encode(b"k" * 32).decode()
    keys = SigningKeys.reviewers_from_env({"TRADEWATCH_REVIEWER_KEYS": f"bob:hmac:{secret}"})
    assert keys is not None and keys.key_ids == ["bob"]
    assert SigningKeys.reviewers_from_env({}) is None


def test_a_bare_base64_reviewer_key_is_refused_so_a_public_key_never_becomes_a_shared_secret(tmp_path):
    """A raw Ed25519 public key is 32 bytes of base64, like a secret: taken for an HMAC secret,
    anyone who has the (public) key could sign appeals with it."""
    from streams.signing import SigningConfigError

    raw_public = base64.b64encode(b"p" * 32).decode()
    with pytest.raises(SigningConfigError, match="bare base64 key is refused.*hmac:BASE64"):
        SigningKeys.reviewers_from_env({"TRADEWATCH_REVIEWER_KEYS": f"bob:{raw_public}"})
    (tmp_path / "bob").write_text(raw_public)
    with pytest.raises(SigningConfigError, match="bare base64 key is refused"):
        SigningKeys.reviewers_from_env({"TRADEWATCH_REVIEWER_KEYS_DIR": str(tmp_path)})
    # where keys sign, a bare secret is what `openssl rand -base64 32` writes, as before
    assert SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"k1:{raw_public}"}).key_ids == ["k1"]
    with pytest.raises(SigningConfigError, match="bare base64 key is refused"):
        SigningKeys.from_env({"TRADEWATCH_SIGNING_KEYS": f"k1:{raw_public}"}, require_active=False)
