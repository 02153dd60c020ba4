"""RFC 3339 at the edges, epoch seconds inside.

The one clock abstraction of the core is "event time in epoch seconds"; these helpers
convert at the boundaries so no module has to think about time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime


class TimeFormatError(ValueError):
    """A time string that is not RFC 3339 with an explicit offset."""


def parse_time(value: str) -> float:
    """Parse an RFC 3339 time with an offset (``Z`` or ``±hh:mm``) into epoch seconds."""
    if not isinstance(value, str) or len(value) < 20 or len(value) > 40:
        raise TimeFormatError(f"not an RFC 3339 time: {value!r:.60}")
    if value[10] not in "Tt ":
        raise TimeFormatError(f"not an RFC 3339 time: {value!r:.60}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise TimeFormatError(f"not an RFC 3339 time: {value!r:.60} ({exc})") from None
    if parsed.tzinfo is None:
        raise TimeFormatError(f"time without a UTC offset: {value!r:.60}")
    return parsed.timestamp()


def format_time(epoch_seconds: float) -> str:
    """Format epoch seconds as RFC 3339 in UTC, e.g. ``2022-03-28T02:00:00Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
