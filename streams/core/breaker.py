"""The suspension-rate circuit breaker, as pure objects with an injected clock.

If a bad policy or a bad upstream makes the worker suspend far more accounts than ever seen,
suspensions stop being enforced until a human looks: tripping is automatic, resuming is only
by operator action. Three rules keep it from being a switch that turns enforcement off:

* **Scoped.** Suspensions are counted per :func:`scope_of` — the policy version, the
  suspension's strongest signal and whether it rests on little history — so a flood of
  throwaway accounts posting one kind of text trips only its own scope, and the suspension of
  an account with a long record, or for another signal, is enforced as usual.
* **Held, not dropped.** While a scope is open its suspensions are *held* (written to the held
  topic); when an operator closes the trip they are released to enforcement — or, if the
  operator so decides, discarded, still kept on the held topic for the record. A held action
  whose trip is still open (or unknown) waits.
* **Shared and durable.** A trip and its close are records (:class:`Trip`) on a compacted topic
  that every worker reads at start and follows, so a restart does not reopen enforcement and
  one worker's trip holds that scope on all of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

RELEASE = "release"
DISCARD = "discard"
DISPOSITIONS = (RELEASE, DISCARD)
OPEN = "open"
CLOSED = "closed"

LOW_HISTORY = "low_history"
ESTABLISHED = "established"

MAX_TEXT = 256  # bounds on what a trip record carries (it is read back from a topic)


def scope_of(action: Mapping[str, Any], low_history_evidence: int) -> str:
    """The breaker scope of a suspension: ``policy_version/strongest signal/history``.

    The strongest signal is the reason with the largest weight × count (ties: the code), so
    one scope is one kind of evidence. History is ``low_history`` when the reasons rest on
    fewer than ``low_history_evidence`` distinct events — a new or nearly silent account —
    and ``established`` otherwise, so throwaway accounts are counted apart from real ones.
    """
    reasons = action.get("reasons") or []
    strongest = max(reasons, key=lambda r: (r["weight"] * r["count"], r["code"]), default=None)
    signal = strongest["code"] if strongest is not None else "none"
    evidence = {event_id for reason in reasons for event_id in reason.get("evidence", ())}
    history = LOW_HISTORY if len(evidence) < low_history_evidence else ESTABLISHED
    return f"{action.get('policy_version', '')}/{signal}/{history}"


@dataclass(frozen=True, slots=True)
class Trip:
    """One opening of one scope, and (once an operator decided) its close."""

    trip_id: str
    scope: str
    opened_at: float
    opened_by: str
    suspensions: int  # in the minute that tripped it
    state: str = OPEN
    closed_at: float | None = None
    closed_by: str | None = None
    disposition: str | None = None

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Any) -> Trip | None:
        """A trip read back from the breaker topic, or None when the record is not one."""
        if not isinstance(record, dict) or set(record) != {f.name for f in fields(cls)}:
            return None
        text = ("trip_id", "scope", "opened_by")
        if not all(type(record[name]) is str and 0 < len(record[name]) <= MAX_TEXT for name in text):
            return None
        if type(record["opened_at"]) not in (int, float) or type(record["suspensions"]) is not int:
            return None
        if record["state"] == OPEN:
            if any(record[name] is not None for name in ("closed_at", "closed_by", "disposition")):
                return None
        elif record["state"] == CLOSED:
            if (type(record["closed_at"]) not in (int, float) or type(record["closed_by"]) is not str
                    or not 0 < len(record["closed_by"]) <= MAX_TEXT or record["disposition"] not in DISPOSITIONS):
                return None
        else:
            return None
        return cls(**record)


class CircuitBreaker:
    """Per-scope counting (this worker's), and every trip known to the group."""

    WINDOW_S = 60.0

    def __init__(self, max_per_minute: int, low_history_evidence: int = 8) -> None:
        self.max_per_minute = max_per_minute  # 0 disables
        self.low_history_evidence = low_history_evidence
        self._recent: dict[str, deque[float]] = {}
        self._trips: dict[str, Trip] = {}  # trip_id -> latest record
        # scope -> its open trips by id: two workers can trip one scope at once, and each trip's
        # held actions wait for that trip's own close
        self._open: dict[str, dict[str, Trip]] = {}

    def scope_of(self, action: Mapping[str, Any]) -> str:
        return scope_of(action, self.low_history_evidence)

    def record_suspension(self, scope: str, now: float, by: str) -> Trip | None:
        """Count one account suspension of ``scope`` at ``now``; the new trip if this one trips it
        (the caller shares it with the group, then :meth:`apply`-s it)."""
        if self.max_per_minute <= 0 or scope in self._open:
            return None
        recent = self._recent.setdefault(scope, deque())
        recent.append(now)
        while recent and recent[0] <= now - self.WINDOW_S:
            recent.popleft()
        if len(recent) <= self.max_per_minute:
            return None
        recent.clear()
        return Trip(f"{scope}@{int(now * 1000)}", scope, now, by, self.max_per_minute + 1)

    def holding(self, scope: str) -> Trip | None:
        """The open trip that holds suspensions of ``scope`` (the earliest, when several), if any."""
        trips = self._open.get(scope)
        return min(trips.values(), key=lambda trip: (trip.opened_at, trip.trip_id)) if trips else None

    def apply(self, trip: Trip) -> bool:
        """Take in a trip record (ours or another worker's); True if it changed anything.

        A close is final: an open record of a trip already closed (a late or replayed one)
        does not reopen it."""
        known = self._trips.get(trip.trip_id)
        if known == trip or (known is not None and known.state == CLOSED):
            return False
        self._trips[trip.trip_id] = trip
        if trip.state == OPEN:
            self._open.setdefault(trip.scope, {})[trip.trip_id] = trip
        else:
            trips = self._open.get(trip.scope, {})
            trips.pop(trip.trip_id, None)
            if not trips:
                self._open.pop(trip.scope, None)
                self._recent.pop(trip.scope, None)
        return True

    def close(self, now: float, by: str, disposition: str, scopes: Iterable[str] | None = None) -> list[Trip]:
        """The close records for every open trip of ``scopes`` (of every scope when None): the
        caller shares them with the group, then applies them."""
        if disposition not in DISPOSITIONS:
            raise ValueError(f"disposition must be one of {', '.join(DISPOSITIONS)}, not {disposition!r}")
        wanted = set(self._open) if scopes is None else set(scopes) & set(self._open)
        return [replace(trip, state=CLOSED, closed_at=now, closed_by=by[:MAX_TEXT] or "?", disposition=disposition)
                for scope in sorted(wanted) for trip in sorted(self._open[scope].values(), key=lambda t: t.trip_id)]

    def disposition(self, trip_id: str) -> str | None:
        """What to do with an action held by ``trip_id``: release, discard, or None (wait: the
        trip is still open, or not known yet)."""
        trip = self._trips.get(trip_id)
        return trip.disposition if trip is not None and trip.state == CLOSED else None

    def open_trips(self) -> list[Trip]:
        return sorted((trip for trips in self._open.values() for trip in trips.values()),
                      key=lambda trip: (trip.scope, trip.opened_at, trip.trip_id))

    def open_scopes(self) -> list[str]:
        return sorted(self._open)

    @property
    def open(self) -> bool:
        return bool(self._open)
