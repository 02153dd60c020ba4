"""A real worker on the real local Kafka: actions out, bad input to the dead-letter topic."""

from __future__ import annotations

import orjson
import pytest

from streams.decode import validate_action
from streams.topics import INPUT_TOPICS
from tests.integration.harness import WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import post_record, qualification_record, resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

ACCOUNT = "gh_a1b2c3d4e5f6"
APP = "wx00112233445566aa"


def test_trading_post_and_resales_produce_a_reminder(kafka, tmp_path):
    worker = WorkerProcess(kafka.bootstrap, "tw-e2e", tmp_path).start()
    try:
        worker.wait_ready()
        records = [post_record(ACCOUNT, "数字藏品二级市场已开放，寄售转售自由交易，地板价持续上涨！", at_offset_s=0)]
        records += resale_records(ACCOUNT, APP, count=30, start_offset_s=60)
        produce(kafka.bootstrap, records)
        # the records are a week old: once the inputs are read and quiet, the watermark follows
        # the wall clock past the reminder's deadline, and the case closes — trading had stopped
        actions = wait_for(lambda: (actions := read_actions(kafka.bootstrap)) and len(actions) >= 2 and actions,
                           60, "a reminder and its judgment on enforcement.actions.v1")
        assert [a["action"] for a in actions] == ["qualification_reminder", "case_closed"]
        assert [r["code"] for r in actions[1]["reasons"]] == ["trading_stopped"]
        action = actions[0]
        validate_action(action)
        assert action["subject"] == {"kind": "official_account", "id": ACCOUNT}
        assert action["mode"] == "enforce" and action["deadline"]
        assert {"secondary_sale"} <= {r["code"] for r in action["reasons"]}
        message = read_all(kafka.bootstrap, "enforcement.actions.v1")[0]
        assert message.key == ACCOUNT.encode()
        assert read_all(kafka.bootstrap, "tradewatch.shadow.v1") == []
        # the loopback debug view shows both consumers caught up (what an operator checks when
        # a commit seems stuck): every input partition committed to its log end, and the
        # internal partitions within a few watermark marks of theirs (intake keeps sending
        # marks, several a second, so their log end keeps moving)
        last: list = []

        def caught_up():
            status, body = worker.get("/debug/partitions")
            view = orjson.loads(body) if status == 200 else {"status": status, "body": body.decode()[:300]}
            last[:] = [view]
            decide = [p for p in view.get("decide", []) if p["topic"] == "tw-e2e-subject-inputs"]
            intake = view.get("intake", [])
            done = (len(decide) == 4 and len(intake) == 4 * len(INPUT_TOPICS)
                    and all(p["committed"] is not None and p["highwater"] - p["committed"] <= 20 for p in decide)
                    and all((p["committed"] or 0) == p["highwater"] for p in intake))
            return done and view

        try:
            view = wait_for(caught_up, 30, "every partition committed to its end in /debug/partitions")
        except AssertionError as error:
            raise AssertionError(f"{error}; last view: {last}") from None
        assert {p["topic"] for p in view["intake"]} >= {"posts.v1", "miniprogram.events.v1"}
        assert not any(p["paused"] for p in view["decide"] if p["topic"] == "tw-e2e-subject-inputs")
        # the HTTP surface is health, metrics, the breaker and offsets only: no table contents, no Faust views
        for path in ("/table", "/table/subject-state", "/graph", "/router/"):
            assert worker.get(path)[0] == 404, path
        # logs at INFO carry no post text and no user ids
        log = worker.log_path.read_text(encoding="utf-8", errors="replace")
        assert "地板价" not in log and "buyer-" not in log and "seller-" not in log
    finally:
        worker.stop()


def test_invalid_message_goes_to_dead_letter_topic_and_worker_keeps_going(kafka, tmp_path):
    worker = WorkerProcess(kafka.bootstrap, "tw-dlq", tmp_path).start()
    try:
        worker.wait_ready()
        bad = {"topic": "posts.v1", "key": ACCOUNT, "value": b'{"event_id": "p-bad", "account_id": 42', "headers": [("trace", b"abc")]}
        produce(kafka.bootstrap, [bad, qualification_record(ACCOUNT, "verified")])

        dead = wait_for(lambda: read_all(kafka.bootstrap, "tradewatch.dlq.v1"), 60, "a dead letter")
        assert len(dead) == 1
        letter = dead[0]
        headers = dict(letter.headers)
        assert letter.value == bad["value"] and letter.key == ACCOUNT.encode()
        assert headers["trace"] == b"abc"  # original headers kept
        assert headers["tw-source-topic"] == b"posts.v1"
        assert headers["tw-source-partition"].isdigit() and headers["tw-source-offset"].isdigit()
        assert headers["tw-error-class"] == b"not_json"
        assert headers["tw-error-message"]
        # the next, valid message was processed
        wait_for(lambda: worker.metric("tradewatch_events_consumed_total", topic="qualifications.v1", outcome="valid") >= 1,
                 60, "the valid message after the bad one")
        assert worker.metric("tradewatch_invalid_events_total", topic="posts.v1", reason="not_json") == 1
        assert worker.process.poll() is None
    finally:
        worker.stop()


def test_json_logs_are_one_object_per_line_from_the_first_line_on(kafka, tmp_path):
    worker = WorkerProcess(kafka.bootstrap, "tw-json", tmp_path, extra_env={"TRADEWATCH_LOG_FORMAT": "json"}).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, [post_record(ACCOUNT, "数字藏品二级市场已开放，寄售转售自由交易，地板价持续上涨！", at_offset_s=0)]
                + resale_records(ACCOUNT, APP, count=30, start_offset_s=60))
        wait_for(lambda: len(read_actions(kafka.bootstrap)) >= 1, 60, "a reminder")
    finally:
        worker.stop()
    lines = [line for line in worker.log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = [orjson.loads(line) for line in lines]  # every line, Faust's and aiokafka's too
    assert any(p["logger"] == "tradewatch" and p["message"].startswith("qualification_reminder") for p in parsed)
    assert any("Worker ready" in p["message"] for p in parsed)
    assert not any("地板价" in p["message"] for p in parsed)
