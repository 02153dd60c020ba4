"""Live: a forged appeal changes nothing and is dead-lettered; a reviewer's signed appeal reinstates."""

from __future__ import annotations

import base64

import pytest

from streams.signing import SigningKey, SigningKeys
from tests.integration.harness import WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import appeal_record, resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ACCOUNT, APP = "gh_a99ea1000002", "wxa99ea10000000002"
SECRET = b"r" * 32
REVIEWERS = SigningKeys([SigningKey.hmac("reviewer-anna", SECRET)], "reviewer-anna")


def as_kafka(record: dict) -> dict:
    """A recording line's appeal as the producer sends it: value bytes, headers as pairs."""
    headers = [(name, value.encode()) for name, value in (record.get("headers") or {}).items()]
    return {**record, "value": record["value"].encode(), "headers": headers or None}


def test_forged_appeals_are_dead_lettered_and_only_a_signed_one_reinstates(kafka, tmp_path):
    env = {"TRADEWATCH_REVIEWER_KEYS": "reviewer-anna:hmac:" + base64.b64encode(SECRET).decode()}
    worker = WorkerProcess(kafka.bootstrap, "tw-appeals", tmp_path, extra_env=env).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, resale_records(ACCOUNT, APP, count=170, every_s=1800))
        suspension = wait_for(lambda: next((a for a in read_actions(kafka.bootstrap)
                                            if a["action"] == "suspend" and a["subject"]["kind"] == "official_account"),
                                           None), 60, "the suspension")
        later = 170 * 1800 + 3600
        forged = appeal_record(ACCOUNT, suspension["action_id"], later, "appeal-forged")
        unknown = appeal_record(ACCOUNT, "act_" + "0" * 32, later, "appeal-unknown", reviewer=REVIEWERS)
        produce(kafka.bootstrap, [as_kafka(forged), as_kafka(unknown)])
        dead = wait_for(lambda: (found := read_all(kafka.bootstrap, "tradewatch.dlq.v1")) and len(found) >= 2 and found,
                        60, "both appeals dead-lettered")
        assert sorted(dict(letter.headers)["tw-error-class"] for letter in dead) == [b"unknown_action", b"unsigned_appeal"]
        assert not [a for a in read_actions(kafka.bootstrap) if a["action"] == "reinstate"]

        signed = appeal_record(ACCOUNT, suspension["action_id"], later + 60, "appeal-signed", reviewer=REVIEWERS)
        produce(kafka.bootstrap, [as_kafka(signed)])
        reinstated = wait_for(lambda: [a for a in read_actions(kafka.bootstrap) if a["action"] == "reinstate"], 60,
                              "the reinstatement")
        assert all(a["appeal_id"] == "appeal-signed" and a["reviewer"] == "reviewer-anna" for a in reinstated)
    finally:
        worker.stop()
