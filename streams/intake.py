"""Checks every input passes after schema validation, shared by the worker and replay.

A producer with a broken clock must not be able to fire every deadline at once: an event
timed further ahead of the wall clock than the allowed skew is rejected (dead-letter topic
live, reported in replay) and never moves an account's clock.
"""

from __future__ import annotations

from streams.core.events import InputEvent
from streams.core.timefmt import format_time
from streams.decode import DecodeError


def check_event_time(event: InputEvent, now: float, max_future_skew_s: float) -> None:
    if event.event_time > now + max_future_skew_s:
        raise DecodeError(
            "future_time",
            f"event time {_readable(event.event_time)} is more than {max_future_skew_s:g}s ahead of the wall clock",
        )


def _readable(epoch_s: float) -> str:
    """RFC 3339 when it fits a datetime (a valid time can reach year 10000 in UTC)."""
    try:
        return format_time(epoch_s)
    except (ValueError, OverflowError):
        return f"{epoch_s:.0f} s after the epoch"
