"""Replay runs each account's events back to back; the results must be those of one pass
over all events in time order (the way the live worker meets them)."""

from __future__ import annotations

from collections import Counter

import orjson

from streams.core.engine import Detector
from streams.core.policy import load_policy
from streams.decode import decode_input
from streams.offline.replay import replay
from streams.offline.simulate import simulate


def _in_time_order(records: list[dict], policy) -> tuple[list[dict], Counter, dict, int]:
    """The reference: every event through the detector in time order, one at a time."""
    detector = Detector(policy)
    events = [decode_input(r["topic"], orjson.dumps(r["value"])) for r in records]
    events.sort(key=lambda e: e.event_time)  # stable, as replay's
    states: dict = {}
    actions, hits, duplicates = [], Counter(), 0
    for event in events:
        state, outcome = detector.process(states.get(event.subject_account), event)
        states[event.subject_account] = state
        duplicates += outcome.duplicate
        hits.update(outcome.hits)
        actions += outcome.actions
    return actions, hits, states, duplicates


def test_replay_by_account_equals_one_pass_in_time_order() -> None:
    records = simulate(seed=3, accounts=40, days=4.0).records
    records = records + records[::7]  # re-deliveries, late
    policy = load_policy()
    lines = [(str(i), orjson.dumps(record)) for i, record in enumerate(records)]
    result = replay(lines, policy)
    actions, hits, states, duplicates = _in_time_order(records, policy)
    assert actions and duplicates
    assert [{k: v for k, v in a.items() if k != "decided_at"} for a in result.actions] == actions
    assert list(result.hits.items()) == list(hits.items())  # same counts, same first-seen order
    assert result.duplicates == duplicates and result.valid == len(records) - duplicates
    assert list(result.states) == list(states)
    assert all(result.states[a].to_bytes() == states[a].to_bytes() for a in states)
