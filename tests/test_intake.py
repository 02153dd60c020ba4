"""Intake (streams/intake.py): the future-time check it shares with replay, and what it will not read on from."""

from __future__ import annotations

import pytest

from streams.config import load_config
from streams.core.timefmt import parse_time
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
