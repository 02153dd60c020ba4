"""Intake (streams/intake.py): the future-time check it shares with replay, and what it will not read on from."""

from __future__ import annotations

import orjson
import pytest

from streams.config import load_config
from streams.core.events import ControlRecord
from streams.core.policy import DEFAULT_POLICY_PATH
from streams.core.timefmt import format_time, parse_time
from streams.decode import DecodeError
from streams.intake import Intake, check_event_time
from streams.owners import OwnerLedger
from tests.fixtures import T0, post


def test_an_event_too_far_ahead_of_the_wall_clock_is_rejected_as_future_time() -> None:
    with pytest.raises(DecodeError) as error:
        check_event_time(post("hi", at=T0 + 3600), now=T0, max_future_skew_s=600)
    assert error.value.reason == "future_time"
    check_event_time(post("hi", at=T0 + 599), now=T0, max_future_skew_s=600)  # within the skew


def test_a_valid_time_past_year_9999_in_utc_is_rejected_not_crashed_on() -> None:
    far = parse_time("9999-12-31T23:59:59-23:59")  # valid RFC 3339; in UTC it is year 10000
    with pytest.raises(DecodeError) as error:
        check_event_time(post("hi", at=far), now=T0, max_future_skew_s=600)
    assert error.value.reason == "future_time" and "after the epoch" in str(error.value.message)


class Metadata:
    def __init__(self, counts: list[int]) -> None:
        self.counts = counts

    def partitions_for_topic(self, topic):
        assert topic == "miniprogram.events.v1"
        return set(range(self.counts.pop(0)))


class Stopped(Exception):
    pass


def test_the_mini_program_topic_growing_under_a_running_intake_stops_it(monkeypatch) -> None:
    """Its apps would move to partitions whose owner bindings do not know them, and the first
    claimant there would bind them afresh."""
    intake = Intake(load_config({}), None, None, "tw-subject-inputs", lambda: 4, OwnerLedger("tw", None))  # type: ignore[arg-type]
    intake.consumer = Metadata([4, 0, 4, 6])
    reasons: list[str] = []

    def stop(reason: str) -> None:
        reasons.append(reason)
        raise Stopped

    monkeypatch.setattr("streams.intake.stop_now", stop)
    assert intake._mini_program_partitions() == 4
    assert intake._mini_program_partitions() == 4  # metadata briefly missing: not a change
    assert intake._mini_program_partitions() == 4
    with pytest.raises(Stopped):
        intake._mini_program_partitions()
    assert reasons == ["miniprogram.events.v1 now has 6 partitions, not 4: its apps moved to partitions whose "
                       "owner bindings do not know them"]


class ControlMessage:
    topic, partition, offset = "tradewatch.control.v1", 2, 17


def control(effective_at: float, toml: str | None = None) -> ControlRecord:
    document = {"control_id": "policy-x", "kind": "policy", "effective_at": format_time(effective_at),
                "actor": "bob", "reason": "new thresholds",
                "policy_toml": toml if toml is not None else DEFAULT_POLICY_PATH.read_text(encoding="utf-8")}
    return ControlRecord("policy-x", effective_at, orjson.dumps(document).decode())


def audited(intake: Intake) -> list[dict]:
    return [orjson.loads(value) for _, value in intake._audits]


def fresh_intake() -> Intake:
    return Intake(load_config({}), None, None, "tw-subject-inputs", lambda: 4, OwnerLedger("tw", None))  # type: ignore[arg-type]


def test_a_valid_control_record_is_audited_as_applied_with_who_and_why() -> None:
    intake = fresh_intake()
    intake._control(ControlMessage(), control(T0), now=T0 + 1)
    [entry] = audited(intake)
    assert (entry["verdict"], entry["actor"], entry["reason"], entry["kind"]) == ("applied", "bob", "new thresholds", "policy")
    assert entry["source"] == {"topic": "tradewatch.control.v1", "partition": 2, "offset": 17}


def test_a_policy_that_does_not_validate_is_refused_and_audited_as_refused() -> None:
    intake = fresh_intake()
    with pytest.raises(DecodeError) as error:
        intake._control(ControlMessage(), control(T0, toml='policy_version = "x"\n'), now=T0 + 1)
    assert error.value.reason == "invalid_control" and "mode: missing" in error.value.message
    [entry] = audited(intake)
    assert entry["verdict"] == "refused" and entry["why"].startswith("invalid_control: ")


def test_a_change_at_a_time_its_partition_was_already_reported_past_is_refused_as_late() -> None:
    """A deciding side may already have decided events after that time under the old policy."""
    intake = fresh_intake()
    intake._marks_sent = {"tradewatch.control.v1:2": T0 + 60, "tradewatch.control.v1:3": T0 + 3600}
    with pytest.raises(DecodeError) as error:
        intake._control(ControlMessage(), control(T0 + 60), now=T0 + 61)
    assert error.value.reason == "late_control"
    later = ControlMessage()
    later.offset = 18
    intake._control(later, control(T0 + 61), now=T0 + 62)  # after the mark: in time
    assert [entry["verdict"] for entry in audited(intake)] == ["refused", "applied"]


def test_a_control_record_read_again_after_a_refused_commit_keeps_its_first_verdict() -> None:
    """Its first reading advanced the partition's mark to its own time: judged again, every
    change would be late, and the audit log would contradict itself."""
    from streams.intake import _Redelivered

    intake = fresh_intake()
    intake._control(ControlMessage(), control(T0 + 60), now=T0 + 1)
    intake._marks_sent = {"tradewatch.control.v1:2": T0 + 60}
    intake._control(ControlMessage(), control(T0 + 60), now=T0 + 2)  # the same offset again: still applied
    refused = ControlMessage()
    refused.offset = 18
    with pytest.raises(DecodeError):
        intake._control(refused, control(T0 + 30), now=T0 + 3)
    with pytest.raises(_Redelivered):  # refused before: not dead-lettered or audited twice
        intake._control(refused, control(T0 + 30), now=T0 + 4)
    assert [entry["verdict"] for entry in audited(intake)] == ["applied", "refused"]


def test_a_trickle_waits_for_its_batch_to_fill_and_a_backlog_never_waits():
    from streams.intake import batch_pause

    assert batch_pause(records=3, batch_max=1000, batch_wait_s=0.05, cycle_s=0.01) == pytest.approx(0.04)
    assert batch_pause(records=3, batch_max=1000, batch_wait_s=0.05, cycle_s=0.2) == 0.0  # a slow cycle already waited
    assert batch_pause(records=1000, batch_max=1000, batch_wait_s=0.05, cycle_s=0.0) == 0.0
