"""Forgetting a quiet account changes nothing: every later event is judged as if its whole
history were kept (the live worker drops such states so memory does not grow with every
account it has ever seen)."""

from __future__ import annotations

from collections import defaultdict

import orjson
import pytest

from streams.core.engine import Detector
from streams.core.policy import load_policy
from streams.core.state import Case, QualificationView, SubjectState
from streams.core.timefmt import format_time, parse_time
from streams.decode import DecodeLimits
from streams.offline.replay import decode_recording_line
from streams.offline.simulate import simulate

TIME_FIELDS = ("published_at", "occurred_at", "acquired_at", "updated_at", "valid_until")
DAY = 86400.0


def shifted(record: dict, by: float) -> dict:
    """The same message later, as a new event (a redelivery would carry its old time: late)."""
    value = dict(record["value"])
    for name in ("event_id", "appeal_id"):
        if isinstance(value.get(name), str):
            value[name] += "-later"
    for name in TIME_FIELDS:
        if isinstance(value.get(name), str):
            value[name] = format_time(parse_time(value[name]) + by)
    return dict(record, value=value)


def event_time(event) -> float:
    return event.occurred_at if hasattr(event, "occurred_at") else event.event_time


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_policy())


@pytest.fixture(scope="module")
def histories(detector):
    """Each simulated account's first few events, a silence longer than the forget horizon,
    then its whole history again as new events: what it does after the silence is judged with
    and without what came before."""
    gap = detector._forget_after_s + 2 * DAY
    by_account: dict[str, list[dict]] = defaultdict(list)
    for record in simulate(seed=13, accounts=120, days=8, intensity=0.6).records:
        value = record["value"]
        by_account[value.get("owner_account_id") or value.get("account_id") or record["key"]].append(record)

    def events_of(records: list[dict]) -> list:
        events = [decode_recording_line(orjson.dumps(r), DecodeLimits())[1] for r in records]
        return sorted(events, key=event_time)

    return {account: (events_of(records)[:3], events_of([shifted(r, gap) for r in records]))
            for account, records in by_account.items()}


def run(detector: Detector, state, events):
    seen = []
    for event in events:
        state, outcome = detector.process(state, event)
        seen.append((outcome.duplicate, outcome.stale, sorted(outcome.hits), outcome.actions))
    return state, seen


def test_a_forgettable_account_is_judged_the_same_after_it_is_forgotten(detector, histories):
    forgotten = acted_after = 0
    for before, after in histories.values():
        state, _ = run(detector, None, before)
        watermark = event_time(after[0]) - 1e-3  # everything after it is later than the watermark
        if not detector.forgettable(state, watermark):
            continue
        forgotten += 1
        _, kept = run(detector, state, after)
        _, fresh = run(detector, None, after)
        assert fresh == kept
        acted_after += any(actions for *_, actions in kept)
    # the test means something: most accounts were forgotten, and some of them acted on later
    assert forgotten >= len(histories) // 2 and acted_after >= 20, (forgotten, acted_after, len(histories))


def test_what_no_window_expires_is_never_forgotten(detector):
    quiet = SubjectState(account_id="gh_quiet", clock=1_000.0)
    later = 1_000.0 + detector._forget_after_s
    assert detector.forgettable(quiet, later) and not detector.forgettable(quiet, later - 1)
    for kept in (
        SubjectState(account_id="a", clock=1_000.0, case=Case(1, "case_1", "reminded", 900.0, 2_000.0)),
        SubjectState(account_id="a", clock=1_000.0, cases_opened=1),  # case ids must never repeat
        SubjectState(account_id="a", clock=1_000.0, stopped_at=900.0),  # the repeat window
        SubjectState(account_id="a", clock=1_000.0,
                     qualification=QualificationView("verified", ("icp",), None, 900.0, "q1")),
        SubjectState(account_id="a"),  # never saw an event
    ):
        assert not detector.forgettable(kept, later * 10)
