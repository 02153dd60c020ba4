"""``tradewatch replay``: the live worker's decisions, offline, from a recording.

Reads recordings (JSONL, one Kafka message per line), decodes each message with the same
decoder and limits as the worker, orders them by event time (stable for ties, as the
contract says), runs :class:`~streams.core.engine.Detector`, and yields actions. Bad lines
are reported and counted, never fatal.
"""

from __future__ import annotations

import gc
import gzip
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO, cast

import orjson

from streams.appeals import verified_appeal
from streams.core.actions import stamp
from streams.core.control import ControlTimeline, applied_records, parse_change
from streams.core.engine import Detector
from streams.core.events import Appeal, ControlRecord, InputEvent, MiniProgramEvent, Post, Tick
from streams.core.owners import OwnerBindings, OwnerMismatch
from streams.core.policy import Policy
from streams.core.rejections import MISROUTED, NOT_JSON, NOT_OBJECT, OWNER_MISMATCH, UNKNOWN_TOPIC
from streams.core.state import SubjectState
from streams.core.timefmt import format_time
from streams.decode import (
    DecodeError,
    DecodeLimits,
    certainly_within_limits,
    decode_document,
    decode_input,
    plain_mini_program_event,
)
from streams.intake import check_event_time
from streams.signing import SigningKeys
from streams.topics import APPEALS, CONTROL
from streams.topics import MINI_PROGRAM_EVENTS as MINIPROGRAM_EVENTS


@dataclass
class Invalid:
    where: str
    reason: str
    message: str


@dataclass
class ReplayResult:
    actions: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0
    valid: int = 0
    duplicates: int = 0
    invalid: list[Invalid] = field(default_factory=list)
    hits: Counter = field(default_factory=Counter)
    states: dict[str, SubjectState] = field(default_factory=dict)
    account_names: dict[str, str] = field(default_factory=dict)

    @property
    def invalid_by_reason(self) -> Counter:
        return Counter(item.reason for item in self.invalid)


_ASCII_SPACES = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() strips


def read_recording(paths: Iterable[str | Path]) -> Iterator[tuple[str, bytes]]:
    """Yield (``file:line``, raw line) for every non-blank line of the recordings (a name
    ending in ``.gz`` is read through gzip)."""
    for path in paths:
        with (gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")) as handle:
            for number, line in enumerate(handle, start=1):
                # a line that starts with a non-space is not blank: no stripped copy to make
                if line[0] not in _ASCII_SPACES or line.strip():
                    yield f"{path}:{number}", line


def decode_recording_line(raw: bytes, limits: DecodeLimits, reviewers: SigningKeys | None = None) -> tuple[str, InputEvent]:
    """One recording line -> (topic, event); DecodeError if the line or its message is bad.

    An appeal counts only when signed by one of ``reviewers`` (``streams/appeals.py``): its
    line carries the signature in ``"headers"`` and the signed bytes as its ``"value"``, a
    string (an object stands for its compact JSON serialisation)."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise DecodeError(NOT_JSON, "recording line is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("topic"), str) or "value" not in record:
        raise DecodeError(NOT_OBJECT, 'recording line must be {"topic": ..., "key": ..., "value": {...}}')
    topic = record["topic"]
    value = record["value"]
    if topic == CONTROL:  # live, intake's verdict on each is in the audit topic: replay takes that
        raise DecodeError(UNKNOWN_TOPIC, f"{CONTROL} is replayed from the control log (--control), not a recording")
    if topic == APPEALS:
        return topic, _signed_appeal(record, limits, reviewers)
    if topic == MINIPROGRAM_EVENTS:
        plain = plain_mini_program_event(raw, value, limits) if isinstance(value, dict) else None
        # most messages are plainly valid, checked and built in one go
        event = plain if plain is not None else _decoded(topic, raw, value, limits)
        assert isinstance(event, MiniProgramEvent)
        key = record.get("key", event.app_id)  # a recording line may leave the key out
        if key != event.app_id:  # live, intake checks the partition too (streams/owners.py)
            raise DecodeError(MISROUTED, "a mini-program event must be keyed by its app_id")
        return topic, event
    return topic, _decoded(topic, raw, value, limits)


def _decoded(topic: str, raw: bytes, value: Any, limits: DecodeLimits) -> InputEvent:
    if isinstance(value, dict):  # the usual case: the message is already parsed
        encoded = None if certainly_within_limits(raw, limits, value) else orjson.dumps(value)
        return decode_document(topic, value, encoded, limits)
    raw_value = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else orjson.dumps(value)
    return decode_input(topic, raw_value, limits)


def _signed_appeal(record: dict[str, Any], limits: DecodeLimits, reviewers: SigningKeys | None) -> InputEvent:
    value = record["value"]
    raw_value = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else orjson.dumps(value)
    appeal = decode_input(APPEALS, raw_value, limits)
    key = record.get("key")
    headers = record.get("headers") or {}
    if not isinstance(headers, dict):
        raise DecodeError(NOT_OBJECT, 'a recording line\'s "headers" must be an object of strings')
    pairs = [(str(name), str(text).encode()) for name, text in headers.items()]
    assert isinstance(appeal, Appeal)
    return verified_appeal(appeal, reviewers, APPEALS, key.encode() if isinstance(key, str) else None, raw_value, pairs)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Replay builds millions of small objects (events, state) and makes no reference cycles
    worth collecting (a few hundred objects per run), so the cycle collector's repeated
    passes over them only cost time: 10-15 % of a replay. Reference counting still frees
    everything as usual; the collector is switched back on (if it was on) at the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():
                # Everything the run allocated is still counted as young: the first allocation
                # after gc.enable() would walk all of it (30-40 ms for 60,000 events). Freezing
                # and at once unfreezing moves it to the oldest generation and resets the
                # count, so it is checked with the next full collection instead. Skipped if
                # the process keeps frozen objects (unfreeze would release those too).
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def replay(
    lines: Iterable[tuple[str, bytes]],
    policy: Policy,
    *,
    until: float | str | None = None,
    limits: DecodeLimits = DecodeLimits(),
    max_future_skew_s: float = 600.0,
    wall_clock: Callable[[], float] = time.time,
    detector: Detector | None = None,
    reviewers: SigningKeys | None = None,
    control: Iterable[ControlRecord] = (),
) -> ReplayResult:
    """Run the detection core over recorded messages; see the module docstring.

    ``until``: advance every account clock to this time at the end (pending deadlines fire);
    ``"end"`` means the latest event time in the recording, as a live worker's wall-clock
    tick would do when the traffic stops. ``reviewers``: the keys whose signed appeals count
    (none: every appeal is invalid, as in a worker without reviewer keys). ``control``: the
    control log (the applied records of tradewatch.audit.v1, :func:`read_control_log`): the
    policy changes and allowlist entries, each from its effective time, as live.
    """
    timeline = None
    records = list(control)
    if records:
        timeline = ControlTimeline(policy)
        for record in records:
            timeline.add(parse_change(record, policy.mode))
        detector = timeline.base_detector
    with _cycle_collector_paused():
        return _replay(lines, policy, until, limits, max_future_skew_s, wall_clock, detector, reviewers, timeline)


def read_control_log(paths: Iterable[str | Path]) -> list[ControlRecord]:
    """The applied control records of audit-topic exports (JSONL, one entry per line)."""
    entries = []
    for where, raw in read_recording(paths):
        try:
            entry = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValueError(f"{where}: not a JSON audit entry") from None
        if isinstance(entry, dict) and "verdict" not in entry and "value" in entry:  # a recording line
            entry = entry["value"]
            entry = orjson.loads(entry) if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: not a JSON audit entry")
        entries.append(entry)
    return applied_records(entries)


def _replay(
    lines: Iterable[tuple[str, bytes]],
    policy: Policy,
    until: float | str | None,
    limits: DecodeLimits,
    max_future_skew_s: float,
    wall_clock: Callable[[], float],
    detector: Detector | None,
    reviewers: SigningKeys | None,
    timeline: ControlTimeline | None = None,
) -> ReplayResult:
    detector = detector or Detector(policy)
    result = ReplayResult()
    decoded: list[tuple[float, str, InputEvent]] = []
    now = wall_clock()
    latest_allowed = now + max_future_skew_s  # check_event_time's test, run for the rare failure only
    account_names = result.account_names
    owners = OwnerBindings()  # bound in recording order: each app's topic order, as intake binds live
    index = -1
    for index, (where, raw) in enumerate(lines):  # noqa: B007 - the count is read after the loop
        try:
            topic, event = decode_recording_line(raw, limits, reviewers)
            if type(event) is MiniProgramEvent:  # most events: plain attributes, not properties
                at, account = event.occurred_at, event.owner_account_id
            else:
                at, account = event.event_time, event.subject_account
            if at > latest_allowed:
                check_event_time(event, now, max_future_skew_s)
            if type(event) is MiniProgramEvent:
                owners.check(event.app_id, account)
        except DecodeError as exc:
            result.invalid.append(Invalid(where, exc.reason, exc.message))
            continue
        except OwnerMismatch as exc:
            result.invalid.append(Invalid(where, OWNER_MISMATCH, str(exc)))
            continue
        if type(event) is Post and event.account_name:
            account_names[event.account_id] = event.account_name
        decoded.append((at, account, event))
    result.messages = index + 1
    decoded.sort(key=itemgetter(0))  # stable: ties stay in recording order

    # Accounts are independent (the detector keeps no state across them), so each account's
    # events run back to back, in time order: its state stays warm in the CPU caches instead
    # of being fetched again for every event of an interleaved stream. What an event caused
    # is kept with its place in the time order and put back in that order at the end, so
    # actions, hit counts and states come out exactly as from one pass in time order.
    by_account: dict[str, list[tuple[int, InputEvent]]] = {}
    for position, (_, account, event) in enumerate(decoded):
        events = by_account.get(account)
        if events is None:
            by_account[account] = [(position, event)]
        else:
            events.append((position, event))
    latest = decoded[-1][0] if decoded else None
    decoded_count = len(decoded)
    del decoded  # each account's events are freed right after they ran, while still in cache
    states = result.states
    process = detector.process
    caused: list[tuple[int, list[str], list[dict[str, Any]]]] = []  # (place, hits, actions)
    rejected: list[tuple[int, InputEvent, tuple[str, str]]] = []
    duplicates = 0
    decider = timeline.detector_for if timeline is not None else None
    for account, events in by_account.items():
        state = states.get(account)
        for position, event in events:
            if decider is not None:
                process = decider(account, event.event_time if type(event) is not MiniProgramEvent else event.occurred_at).process
            state, outcome = process(state, event)
            if outcome.duplicate:
                duplicates += 1
            elif outcome.hits or outcome.actions:
                caused.append((position, outcome.hits, outcome.actions))
            if outcome.rejected is not None:  # e.g. an appeal naming no suspension of ours
                rejected.append((position, event, outcome.rejected))
        assert state is not None  # every account in by_account has at least one event
        states[account] = state
        events.clear()
    caused.sort(key=itemgetter(0))
    hits: list[str] = []  # counted once: the same counts, in the same first-seen order
    for _, event_hits, actions in caused:
        hits += event_hits
        if actions:
            result.actions.extend(stamp(action, format_time(wall_clock())) for action in actions)
    for _, event, (reason, detail) in sorted(rejected, key=itemgetter(0)):
        assert not isinstance(event, Tick)  # a recording decodes to no ticks (a tick has no event id)
        result.invalid.append(Invalid(f"{type(event).__name__} {event.event_id}", reason, detail))
    result.duplicates = duplicates
    result.valid = decoded_count - duplicates - len(rejected)
    result.hits.update(hits)
    if until == "end":
        until = latest
    if until is not None:
        # a time: "end", the only string replay takes (see its docstring), was replaced just above
        until_time = cast(float, until)
        for account in sorted(states):
            at_end = timeline.detector_for(account, until_time) if timeline is not None else detector
            state, outcome = at_end.process(states[account], Tick(account, until_time))
            states[account] = state
            result.actions.extend(stamp(action, format_time(wall_clock())) for action in outcome.actions)
    return result


def write_actions(actions: Iterable[dict[str, Any]], out: TextIO | None = None) -> None:
    stream = out or sys.stdout
    for action in actions:
        stream.write(orjson.dumps(action).decode() + "\n")
