"""The future-time check shared by the worker and replay (streams/intake.py)."""

from __future__ import annotations

import pytest

from streams.core.timefmt import parse_time
from streams.decode import DecodeError
from streams.intake import check_event_time
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
