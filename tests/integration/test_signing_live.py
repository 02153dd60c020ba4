"""Live: a signing key whose validity window ends under a running worker stops it before the
first action it cannot sign, unacknowledged; the next worker, on the next key, decides it all."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from streams.core.policy import load_policy
from streams.offline.replay import replay
from streams.signing import SigningKey, SigningKeys, verify
from tests.integration.harness import WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import resale_records
from tests.offline.test_replay_owners import lines

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ACCOUNT, APP = "gh_5e1f5e1f5e1f", "wx5e1f5e1f5e1f5e1f"
OLD, NEW = b"o" * 32, b"n" * 32
VALID_FOR_S = 25  # long enough for the worker to start with the key valid


def b64(secret: bytes) -> str:
    return base64.b64encode(secret).decode()


def test_a_key_that_expires_mid_run_stops_the_worker_unacknowledged_and_the_next_key_decides_everything(
        kafka, tmp_path):
    records = resale_records(ACCOUNT, APP, count=170, every_s=1800)
    expected = replay(lines(records), load_policy()).actions
    assert [a["action"] for a in expected] == ["qualification_reminder", "suspend", "suspend"]

    not_after = time.time() + VALID_FOR_S
    window = datetime.fromtimestamp(int(not_after), UTC).strftime("[/%Y-%m-%dT%H:%M:%SZ]")
    old_key = f"k-old{window}:{b64(OLD)}"
    first = WorkerProcess(kafka.bootstrap, "tw-keys", tmp_path / "first", {
        "TRADEWATCH_SIGNING_KEYS": old_key, "TRADEWATCH_SIGNING_KEY_ID": "k-old"}).start()
    try:
        first.wait_ready()
        assert first.metric("tradewatch_signing_key_expiry_timestamp_seconds") == int(not_after)
        wait_for(lambda: time.time() > int(not_after) + 1, VALID_FOR_S + 5, "the key's window to end")
        produce(kafka.bootstrap, records)
        wait_for(lambda: first.process.poll() is not None, 60, "the worker to stop")
        assert first.process.returncode == 70
        assert "cannot sign" in first.log_tail() and "k-old" in first.log_tail()
        assert read_actions(kafka.bootstrap) == []  # nothing went out unsigned
    finally:
        first.stop()

    second = WorkerProcess(kafka.bootstrap, "tw-keys", tmp_path / "second", {
        "TRADEWATCH_SIGNING_KEYS": f"{old_key},k-new:{b64(NEW)}", "TRADEWATCH_SIGNING_KEY_ID": "k-new"}).start()
    try:
        second.wait_ready()
        live = wait_for(lambda: (found := read_actions(kafka.bootstrap)) and len(found) >= len(expected) and found,
                        90, "every action, from the next worker")
        assert sorted((a["action_id"], a["action"]) for a in live) == sorted((a["action_id"], a["action"]) for a in expected)
        keys = SigningKeys([SigningKey.hmac("k-new", NEW)])
        for message in read_all(kafka.bootstrap, "enforcement.actions.v1"):
            assert verify(keys, "enforcement.actions.v1", message.key, message.value, message.headers) == "k-new"
    finally:
        second.stop()
