"""Everything tradewatch remembers about one subject account, and its compact encoding.

One ``SubjectState`` per official account lives in a changelog-backed Faust table (live) or
a dict (replay). It is bounded: counters expire by event time, event-id memory is capped,
and a quiet account encodes to a few hundred bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.core.behaviour import BehaviourMemory
from streams.core.cases import CASE_STATES
from streams.core.counters import RecentEventIds, SignalCounters


@dataclass(slots=True)
class Case:
    """One episode of suspicion; its ``state`` moves only as streams/core/cases.py allows."""

    seq: int
    case_id: str
    state: str
    opened_at: float
    deadline: float | None = None
    emitted: list[str] = field(default_factory=list)  # action ids already emitted in this case
    suspended_subjects: list[list[str]] = field(default_factory=list)  # [[kind, id], ...]
    suspension_action_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "case_id": self.case_id,
            "state": self.state,
            "opened_at": self.opened_at,
            "deadline": self.deadline,
            "emitted": self.emitted,
            "suspended": self.suspended_subjects,
            "suspension_ids": self.suspension_action_ids,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        return cls(
            seq=data["seq"],
            case_id=data["case_id"],
            state=data["state"],
            opened_at=data["opened_at"],
            deadline=data.get("deadline"),
            emitted=list(data.get("emitted", ())),
            suspended_subjects=[list(pair) for pair in data.get("suspended", ())],
            suspension_action_ids=list(data.get("suspension_ids", ())),
        )


@dataclass(slots=True)
class QualificationView:
    status: str
    licences: tuple[str, ...]
    valid_until: float | None
    updated_at: float
    event_id: str


@dataclass(slots=True)
class SubjectState:
    account_id: str
    clock: float | None = None
    counters: SignalCounters = field(default_factory=SignalCounters)
    behaviour: BehaviourMemory = field(default_factory=BehaviourMemory)
    recent_ids: RecentEventIds = field(default_factory=RecentEventIds)
    qualification: QualificationView | None = None
    case: Case | None = None
    cases_opened: int = 0
    counting_since: float | None = None  # signals before this no longer open a case
    # The four containers below are None until first written: most accounts never need them,
    # and every empty dict or list an account keeps costs 56-64 bytes of a quiet account's memory
    trading_apps: dict[str, float] | None = None  # mini programs that carried trading
    first_trading_at: float | None = None
    stopped_at: float | None = None  # when its last case closed as "trading stopped"
    stance_notes: dict[str, str] | None = None  # offer post id -> its stance explanation
    # offers that named no product, held until the account shows it runs a collectibles
    # platform: [event_id, published_at, signal codes, stance explanation], oldest first
    pending_offers: list[list[Any]] | None = None
    # subject id -> the circuit-breaker trip that holds one of its actions. Set by the shell when
    # it holds an action; every later action of that subject follows it through the held topic,
    # so a released suspension can never arrive after the reinstatement that came after it
    held: dict[str, str] | None = None

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {"a": self.account_id, "c": self.clock}
        if self.counters.buckets or self.counters.evidence:
            data["n"] = self.counters.to_dict()
        if not self.behaviour.is_empty():
            data["b"] = self.behaviour.to_dict()
        if self.recent_ids.seen:
            data["r"] = self.recent_ids.to_list()
        if self.qualification is not None:
            q = self.qualification
            data["q"] = [q.status, list(q.licences), q.valid_until, q.updated_at, q.event_id]
        if self.case is not None:
            data["k"] = self.case.to_dict()
        if self.cases_opened:
            data["o"] = self.cases_opened
        if self.counting_since is not None:
            data["s"] = self.counting_since
        if self.trading_apps:
            data["t"] = self.trading_apps
        if self.first_trading_at is not None:
            data["f"] = self.first_trading_at
        if self.stopped_at is not None:
            data["p"] = self.stopped_at
        if self.stance_notes:
            data["x"] = self.stance_notes
        if self.pending_offers:
            data["h"] = self.pending_offers
        if self.held:
            data["y"] = self.held
        return orjson.dumps(data)

    @classmethod
    def from_bytes(cls, raw: bytes) -> SubjectState:
        data = orjson.loads(raw)
        state = cls(account_id=data["a"], clock=data.get("c"))
        if "n" in data:
            state.counters = SignalCounters.from_dict(data["n"])
        if "b" in data:
            state.behaviour = BehaviourMemory.from_dict(data["b"])
        if "r" in data:
            state.recent_ids = RecentEventIds.from_list(data["r"])
        if "q" in data:
            status, licences, valid_until, updated_at, event_id = data["q"]
            state.qualification = QualificationView(status, tuple(licences), valid_until, updated_at, event_id)
        if "k" in data:
            state.case = Case.from_dict(data["k"])
        state.cases_opened = data.get("o", 0)
        state.counting_since = data.get("s")
        state.trading_apps = dict(data["t"]) if data.get("t") else None
        state.first_trading_at = data.get("f")
        state.stopped_at = data.get("p")
        state.stance_notes = dict(data["x"]) if data.get("x") else None
        state.pending_offers = [list(held) for held in data["h"]] if data.get("h") else None
        state.held = dict(data["y"]) if data.get("y") else None
        return state


_TRIP_ID = re.compile(r".+/[^/]+/(low_history|established)@[0-9]+", re.DOTALL)  # streams/core/breaker.py


class InvalidState(ValueError):
    """A stored state that tradewatch did not write as it stands (corrupt, forged or from the future)."""


def _time(value: Any, latest: float, what: str, optional: bool = True) -> None:
    if value is None and optional:
        return
    if type(value) not in (int, float) or not math.isfinite(value) or value > latest:
        raise InvalidState(f"{what} is not a time before {latest:.0f}")


def restored_state(raw: bytes, latest: float) -> SubjectState:
    """Decode a stored state and check it before the core sees it; :class:`InvalidState` if not.

    The table's changelog is a boundary like the internal topic: only tradewatch writes it, but
    a forged record (a verified qualification, a far-future clock or ``counting_since``) would
    immunise an account, and a malformed one would stop the worker at every restore. So the
    record must decode, encode back to exactly the same bytes (no field tradewatch does not
    write, nothing of another shape), carry its scalars with their types, and hold no time after
    ``latest`` (the wall clock plus the allowed skew, as for input events).
    """
    try:
        state = SubjectState.from_bytes(raw)
        same = state.to_bytes() == raw
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise InvalidState(f"does not decode ({type(error).__name__})") from None
    if not same:
        raise InvalidState("does not encode back to the same bytes")
    if type(state.account_id) is not str or not 0 < len(state.account_id) <= 128:
        raise InvalidState("account id is not a string of 1..128 characters")
    _time(state.clock, latest, "clock")
    _time(state.counting_since, latest, "counting_since")
    _time(state.first_trading_at, latest, "first_trading_at")
    _time(state.stopped_at, latest, "stopped_at")
    if type(state.cases_opened) is not int or state.cases_opened < 0:
        raise InvalidState("cases_opened is not a count")
    for app, at in (state.trading_apps or {}).items():
        _time(at, latest, f"trading app {app!r}", optional=False)
    if not all(type(subject) is str and type(trip) is str and 0 < len(subject) <= 128 and len(trip) <= 256
               and _TRIP_ID.fullmatch(trip) for subject, trip in (state.held or {}).items()):
        raise InvalidState("held: not subject ids mapped to trip ids")
    q = state.qualification
    if q is not None:
        if type(q.status) is not str or type(q.event_id) is not str or not all(type(x) is str for x in q.licences):
            raise InvalidState("qualification fields have the wrong types")
        _time(q.updated_at, latest, "qualification.updated_at", optional=False)
        if q.valid_until is not None and (type(q.valid_until) not in (int, float) or not math.isfinite(q.valid_until)):
            raise InvalidState("qualification.valid_until is not a time")
    case = state.case
    if case is not None:
        if case.state not in CASE_STATES or type(case.seq) is not int or type(case.case_id) is not str:
            raise InvalidState("case fields have the wrong types or state")
        _time(case.opened_at, latest, "case.opened_at", optional=False)
        if case.deadline is not None and (type(case.deadline) not in (int, float) or not math.isfinite(case.deadline)):
            raise InvalidState("case.deadline is not a time")
    return state
