"""A stored state is believed only if it is one tradewatch wrote: a forged or corrupt changelog
record cannot immunise an account or stop the worker at every restore."""

from __future__ import annotations

import orjson
import pytest

from streams.core.engine import Detector
from streams.core.policy import load_policy
from streams.core.state import InvalidState, SubjectState, restored_state
from streams.faustcompat import SubjectStateCodec
from tests.fixtures import ACCOUNT, T0, qualification, resales

LATEST = T0 + 30 * 86400.0


@pytest.fixture(scope="module")
def lived_state() -> SubjectState:
    """A state with a case, counters, behaviour memory, a qualification and trading apps."""
    detector = Detector(load_policy())
    state = None
    for event in [qualification("submitted", at=T0 - 10), *resales(40, every=600)]:
        state, _ = detector.process(state, event)
    assert state is not None and state.case is not None and state.trading_apps and state.qualification
    return state


def test_a_state_tradewatch_wrote_is_restored_as_it_was(lived_state):
    raw = lived_state.to_bytes()
    assert restored_state(raw, LATEST).to_bytes() == raw


def test_a_held_subject_is_restored_with_its_trip(lived_state):
    held = SubjectState.from_bytes(lived_state.to_bytes())
    held.held = {ACCOUNT: "2022.03-1/fraud_promise/low_history@1700000000000"}
    assert restored_state(held.to_bytes(), LATEST).held == held.held


def edited(state: SubjectState, change) -> bytes:
    data = orjson.loads(state.to_bytes())
    change(data)
    return orjson.dumps(data)


@pytest.mark.parametrize("change, why", [
    (lambda d: d.update(c=LATEST + 1), "clock"),
    (lambda d: d.update(s=4_102_444_800.0), "counting_since|same bytes"),  # counting from 2100: immune till then
    (lambda d: d.update(c="yesterday"), "clock"),
    (lambda d: d.update(a=7), "account id"),
    (lambda d: d.update(o=-1), "cases_opened"),
    (lambda d: d.update(z=1), "same bytes"),  # a field tradewatch does not write
    (lambda d: d.update(q=["verified", ["icp"], 4_102_444_800.0, LATEST + 86400, "forged"]), "updated_at"),
    (lambda d: d.update(q=["verified", "icp", None, T0, "forged"]), "qualification|same bytes"),
    (lambda d: d.update(q=["verified", ["icp"], None, T0, 7]), "qualification"),
    (lambda d: d["k"].update(state="closed_forever"), "case"),
    (lambda d: d["k"].update(opened_at=LATEST + 1), "opened_at"),
    (lambda d: d.update(t={"wxapp": "now"}), "trading app"),
    (lambda d: d.update(y={"gh_x": 7}), "held"),
    (lambda d: d.update(y={"gh_x": ""}), "held"),
    (lambda d: d.update(y={"gh_x": "no trip of ours"}), "held"),  # would hold its partition for good
    (lambda d: d.pop("a"), "decode"),
    (lambda d: d.update(q=["verified"]), "decode"),
])
def test_a_state_tradewatch_did_not_write_is_refused(lived_state, change, why):
    with pytest.raises(InvalidState, match=why):
        restored_state(edited(lived_state, change), LATEST)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"a": "gh_x", "c": NaN}'])
def test_bytes_that_are_not_a_state_are_refused(raw):
    with pytest.raises(InvalidState):
        restored_state(raw, LATEST)


def test_the_table_codec_turns_a_refused_state_into_a_fresh_account(lived_state):
    codec = SubjectStateCodec()
    assert codec._loads(lived_state.to_bytes()).to_bytes() == lived_state.to_bytes()
    forged = edited(lived_state, lambda d: d.update(s=4_102_444_800.0))
    assert codec._loads(forged) is None  # Faust's table then holds no state for it


def test_fixtures_account_is_the_states_account(lived_state):
    assert lived_state.account_id == ACCOUNT


@pytest.mark.parametrize("field", ["counting_since", "first_trading_at", "stopped_at", "clock"])
def test_no_time_in_a_state_may_lie_after_the_wall_clock_and_its_skew(lived_state, field):
    forged = SubjectState.from_bytes(lived_state.to_bytes())
    setattr(forged, field, LATEST + 1)
    with pytest.raises(InvalidState, match=field):
        restored_state(forged.to_bytes(), LATEST)
    setattr(forged, field, LATEST - 1)
    restored_state(forged.to_bytes(), LATEST)
