"""Replay binds each mini program to its first owner: forged events claiming another owner for
someone else's app are rejected and cannot suspend that app."""

from __future__ import annotations

import orjson

from streams.core.policy import load_policy
from streams.offline.replay import replay
from tests.integration.records import resale_records

VICTIM, INTRUDER = "gh_0wner0000001", "gh_1ntruder0001"
APP = "wxv1ct1mapp00001"


def lines(records: list[dict]) -> list[tuple[str, bytes]]:
    return [(f"line:{i}", orjson.dumps(record)) for i, record in enumerate(records)]


def first_hand_sale(account: str, app: str) -> dict:
    record = resale_records(account, app, count=1, start_offset_s=-3600)[0]
    record["value"].update(type="sale.primary", counterparty_id=None, issue_price_cents=99000)
    record["value"] = {name: value for name, value in record["value"].items() if value is not None}
    return record


def suspended(actions: list[dict]) -> set[tuple[str, str]]:
    return {(a["subject"]["kind"], a["subject"]["id"]) for a in actions if a["action"] == "suspend"}


def test_forged_events_alone_would_suspend_the_app():
    """The attack this guards against: resale traffic claiming the intruder as owner is enough."""
    forged = resale_records(INTRUDER, APP, count=170, every_s=1800)
    result = replay(lines(forged), load_policy())
    assert ("mini_program", APP) in suspended(result.actions)


def test_forged_owner_cannot_suspend_another_accounts_mini_program():
    genuine = [first_hand_sale(VICTIM, APP)]
    forged = resale_records(INTRUDER, APP, count=170, every_s=1800)
    result = replay(lines(genuine + forged), load_policy())

    assert result.actions == []
    assert result.invalid_by_reason == {"owner_mismatch": len(forged)}
    assert VICTIM in result.invalid[0].message or INTRUDER in result.invalid[0].message


def test_the_binding_follows_recording_order_not_event_time():
    """A recording of one topic is in its partition's order; an earlier event time written later
    does not take the app over (intake binds in offset order too)."""
    genuine = first_hand_sale(VICTIM, APP)
    forged = resale_records(INTRUDER, APP, count=1, start_offset_s=-7200)  # earlier event time, written later
    result = replay(lines([genuine, *forged]), load_policy())
    assert [item.reason for item in result.invalid] == ["owner_mismatch"]


def test_an_event_not_keyed_by_its_app_is_misrouted():
    """Live, such an event would meet the bindings of another partition, which do not know the app."""
    genuine = first_hand_sale(VICTIM, APP)
    forged = resale_records(INTRUDER, APP, count=170, every_s=1800)
    for record in forged:
        record["key"] = INTRUDER
    result = replay(lines([genuine, *forged]), load_policy())
    assert result.actions == []
    assert result.invalid_by_reason == {"misrouted": len(forged)}


def test_a_recording_line_without_a_key_is_read_as_keyed_by_its_app():
    record = first_hand_sale(VICTIM, APP)
    del record["key"]
    assert replay(lines([record]), load_policy()).invalid == []
