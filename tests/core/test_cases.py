"""The case state machine: every action the detector sends moves its case along the table in
streams/core/cases.py, whatever the sequence of inputs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.actions import CASE_CLOSED, REINSTATE, SUSPEND
from streams.core.cases import (
    CASE_STATES,
    NO_CASE,
    REMINDED,
    SUSPENDED,
    TRANSITIONS,
    UNDER_REVIEW,
    IllegalTransition,
    advance,
)
from streams.core.engine import Detector
from streams.core.events import Tick
from streams.core.policy import load_policy
from tests.fixtures import ACCOUNT, DAY, HOUR, T0, CodesInTextMatcher, CodesInTextStance, appeal, mp_event, post, qualification

POLICY = load_policy()


def test_an_open_case_is_stored_only_in_a_state_of_the_table():
    assert set(CASE_STATES) == {to for to in TRANSITIONS.values() if to != NO_CASE}


def test_a_move_the_table_does_not_list_is_refused():
    with pytest.raises(IllegalTransition):
        advance(SUSPENDED, CASE_CLOSED)  # a suspension ends by an appeal, never by a close
    with pytest.raises(IllegalTransition):
        advance(UNDER_REVIEW, SUSPEND)  # review is a human's decision
    assert advance(REMINDED, SUSPEND) == SUSPENDED


# One step of a generated history: what the account does during one hour.
STEPS = st.sampled_from(["resale", "resale", "resale", "fraud_post", "offer_post", "verified", "revoked",
                         "appeal", "quiet_day", "tick"])


def _events(step: str, at: float, actions: list[dict], n: int) -> list:
    if step == "resale":
        return [mp_event("sale.secondary", user=f"b{n}-{i}", counterparty=f"s{n}-{i}", at=at + i * 60,
                         item_id=f"i{n}-{i}", price_cents=9900, issue_price_cents=9900) for i in range(4)]
    if step == "fraud_post":
        return [post("codes:fraud_promise", at=at)]
    if step == "offer_post":
        return [post("codes:trading_venue", at=at)]
    if step == "verified":
        return [qualification(at=at)]
    if step == "revoked":
        return [qualification(status="revoked", at=at)]
    if step == "appeal":
        suspensions = [a["action_id"] for a in actions if a["action"] == SUSPEND]
        return [appeal(suspensions[-1], at=at)] if suspensions else []
    if step == "tick":
        return [Tick(ACCOUNT, at + DAY)]
    return []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEPS, min_size=1, max_size=60), allowlisted=st.booleans(), repeat_grace=st.booleans())
def test_every_sequence_of_actions_follows_the_table(steps, allowlisted, repeat_grace):
    policy = replace(POLICY, allowlist=frozenset({ACCOUNT}) if allowlisted else frozenset(),
                     repeat_grace_s=6 * HOUR if repeat_grace else 0.0)
    detector = Detector(policy, matcher=CodesInTextMatcher(), stance=CodesInTextStance())
    state, actions, at = None, [], T0
    for n, step in enumerate(steps):
        at += DAY if step == "quiet_day" else HOUR
        for event in _events(step, at, actions, n):
            state, outcome = detector.process(state, event)
            actions.extend(outcome.actions)
    # per case, the decisions in order (one suspension or reinstatement covers every subject)
    by_case: dict[str, list[str]] = {}
    for action in actions:
        decisions = by_case.setdefault(action["case_id"], [])
        if not (decisions and decisions[-1] == action["action"] and action["action"] in (SUSPEND, REINSTATE)):
            decisions.append(action["action"])
    for case_id, decisions in by_case.items():
        where = NO_CASE
        for decision in decisions:
            assert (where, decision) in TRANSITIONS, (case_id, decisions)
            where = TRANSITIONS[(where, decision)]
    assert state is None or state.case is None or state.case.state in CASE_STATES


def test_generated_histories_reach_every_transition():
    """The property above is only as good as the histories: these reach every row of the table."""
    detector = Detector(POLICY, matcher=CodesInTextMatcher(), stance=CodesInTextStance())
    review = Detector(replace(POLICY, allowlist=frozenset({ACCOUNT})), matcher=CodesInTextMatcher(),
                      stance=CodesInTextStance())
    seen: set[tuple[str, str]] = set()

    def play(det: Detector, steps: list[str], state=None, at: float = T0):
        actions: list[dict] = []
        for n, step in enumerate(steps):
            at += DAY if step == "quiet_day" else HOUR
            for event in _events(step, at, actions, n):
                before = state.case.state if state is not None and state.case is not None else NO_CASE
                state, outcome = det.process(state, event)
                for action in outcome.actions[:1]:
                    seen.add((before, action["action"]))
                actions.extend(outcome.actions)
        return state, at

    play(detector, ["resale"] * 6 + ["verified"])  # reminded, then closed by a qualification
    play(detector, ["resale"] * 6 + ["resale"] * 80)  # reminded, then suspended at the deadline
    play(detector, ["fraud_post"] * 6 + ["appeal"])  # suspended at once, then reinstated
    play(review, ["resale"] * 6 + ["resale"] * 80)  # allowlisted: review at the deadline
    play(review, ["fraud_post"] * 6)  # allowlisted fraud: review at once
    play(detector, ["resale"] * 6 + ["quiet_day"] * 5 + ["tick"])  # trading stopped
    play(detector, ["resale"] * 6 + ["fraud_post"] * 6)  # reminded, then fraud
    state, at = play(detector, ["resale"] * 6)  # reminded; then a new policy allowlists it
    play(review, ["resale"] * 80, state, at)
    assert not set(TRANSITIONS) - seen, sorted(set(TRANSITIONS) - seen)
