"""The live worker routes every hostile message to the dead-letter topic and decides on the rest
exactly as it would without them."""

from __future__ import annotations

import orjson
import pytest

from streams.core.policy import load_policy
from streams.localkafka import LocalKafka
from streams.offline.replay import replay
from tests.hostile import SEVERAL_MB, corpus
from tests.integration.harness import WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ACCOUNT = "gh_badc0ffee000"
APP = "wxbadc0ffee0000001"


@pytest.fixture
def kafka_with_big_messages(tmp_path):
    """A broker that accepts the several-MB post, so the worker (not Kafka) must reject it."""
    limit = str(SEVERAL_MB * 2)
    broker = LocalKafka(tmp_path / "kafka", extra_config={"message.max.bytes": limit, "replica.fetch.max.bytes": limit})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_hostile_input_goes_to_dead_letters_and_changes_no_decision(kafka_with_big_messages, tmp_path):
    kafka = kafka_with_big_messages
    good = resale_records(ACCOUNT, APP, count=170, every_s=1800)
    expected = replay([(str(i), orjson.dumps(r)) for i, r in enumerate(good)], load_policy()).actions
    assert [a["action"] for a in expected] == ["qualification_reminder", "suspend", "suspend"]

    hostile = corpus()
    future = resale_records(ACCOUNT, APP, count=1)[0]  # far future, for the account with a pending deadline
    future["value"]["occurred_at"] = "2099-01-01T00:00:00+00:00"
    bad_records = [{"topic": h.topic, "key": ACCOUNT, "value": h.value} for h in hostile]
    bad_records.append({"topic": future["topic"], "key": future["key"], "value": orjson.dumps(future["value"])})
    reasons = {record["value"]: h for record, h in zip(bad_records, hostile)}

    worker = WorkerProcess(kafka.bootstrap, "tw-hostile", tmp_path).start()
    try:
        worker.wait_ready()
        # bad first (including the far-future event right after the reminder's trades), then the good
        # traffic, then every good message again (exact duplicate deliveries)
        produce(kafka.bootstrap, good[:20] + bad_records + good[20:] + good, max_request_size=SEVERAL_MB * 2)
        total = len(good) * 2 + len(bad_records)
        wait_for(lambda: worker.metric("tradewatch_events_consumed_total") >= total, 90, "every message consumed")

        dead = read_all(kafka.bootstrap, "tradewatch.dlq.v1")
        assert len(dead) == len(bad_records)
        for letter in dead:
            headers = dict(letter.headers)
            expected_reason = reasons[letter.value].reason if letter.value in reasons else "future_time"
            assert headers["tw-error-class"].decode() == expected_reason, headers
        assert worker.metric("tradewatch_events_consumed_total", outcome="duplicate") == len(good)

        live = wait_for(lambda: (found := read_actions(kafka.bootstrap)) and len(found) >= len(expected) and found,
                        60, "the expected actions")
        assert sorted((a["action_id"], a["action"], a.get("deadline"), a["event_time"]) for a in live) == sorted(
            (a["action_id"], a["action"], a.get("deadline"), a["event_time"]) for a in expected
        )
        assert worker.process.poll() is None, "the worker died"
    finally:
        worker.stop()


def test_a_message_with_a_megabyte_of_headers_is_dead_lettered_and_its_batch_still_decided(kafka, tmp_path):
    """It once crashed intake's dead-lettering: the message never reached the dead-letter topic
    and the valid events before it in the same batch were committed without being decided."""
    account, app = "gh_badc0ffee001", "wxbadc0ffee0000002"
    valid = resale_records(account, app, count=15, every_s=600)
    hostile = {"topic": "posts.v1", "key": account, "value": b"not json",
               "headers": [(f"x-{i}", b"h" * 10_000) for i in range(104)] + [("x-fill", b"h" * 5_500)]}
    worker = WorkerProcess(kafka.bootstrap, "tw-big-headers", tmp_path).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, valid + [hostile], max_request_size=2 * 1024 * 1024)
        wait_for(lambda: worker.metric("tradewatch_events_consumed_total", outcome="valid") == len(valid), 60,
                 "every valid event of the batch decided")
        dead = wait_for(lambda: read_all(kafka.bootstrap, "tradewatch.dlq.v1"), 30, "the dead letter")
        [letter] = dead
        headers = dict(letter.headers)
        assert letter.value == b"not json" and headers["tw-error-class"] == b"not_json"
        omitted, _ = headers["tw-headers-omitted"].split(b" headers")
        assert int(omitted) > 90  # most of the megabyte left out, and said so
        assert worker.process.poll() is None, "the worker died"
    finally:
        worker.stop()
