"""Run-time policy changes: which policy decides an account at an event time, rollouts by a
stable bucket, allowlist entries that lapse, and the control log replay takes."""

from __future__ import annotations

import orjson
import pytest

from streams.core.control import (
    APPLIED,
    REFUSED,
    ControlError,
    ControlTimeline,
    applied_records,
    audit_entry,
    parse_change,
    rollout_bucket,
)
from streams.core.events import ControlRecord, Tick
from streams.core.policy import DEFAULT_POLICY_PATH, load_policy
from streams.core.timefmt import format_time
from tests.fixtures import ACCOUNT, DAY, HOUR, T0, resales

BASE = load_policy()
TOML = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def policy_toml(version: str, **replacements: str) -> str:
    text = TOML.replace(f'policy_version = "{BASE.version}"', f'policy_version = "{version}"')
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text


def control(control_id: str, at: float, **document) -> ControlRecord:
    document = {"control_id": control_id, "effective_at": format_time(at), "actor": "alice",
                "reason": "a test", **document}
    return ControlRecord(control_id, at, orjson.dumps(document).decode())


def policy_record(control_id: str, at: float, version: str, percent: int | None = None, **replacements) -> ControlRecord:
    extra = {} if percent is None else {"rollout_percent": percent}
    return control(control_id, at, kind="policy", policy_toml=policy_toml(version, **replacements), **extra)


def allow(control_id: str, at: float, account: str = ACCOUNT, until: float | None = None, op: str = "add") -> ControlRecord:
    extra = {} if until is None else {"expires_at": format_time(until)}
    return control(control_id, at, kind="allowlist", account_id=account, op=op, **extra)


def timeline(*records: ControlRecord) -> ControlTimeline:
    line = ControlTimeline(BASE)
    for record in records:
        line.add(parse_change(record, BASE.mode))
    return line


def versions_of(line: ControlTimeline, accounts: list[str], at: float) -> dict[str, str]:
    return {account: line.detector_for(account, at).policy.version for account in accounts}


ACCOUNTS = [f"gh_acct{n:05d}" for n in range(2000)]


def test_a_published_policy_decides_from_its_effective_time_on_and_the_base_before():
    line = timeline(policy_record("p1", T0 + DAY, "v2"))
    assert line.detector_for(ACCOUNT, T0 + DAY - 0.001).policy.version == BASE.version
    assert line.detector_for(ACCOUNT, T0 + DAY).policy.version == "v2"
    assert line.detector_for(ACCOUNT, T0 + 9 * DAY).policy.version == "v2"


def test_rollback_is_publishing_the_previous_version_again():
    line = timeline(policy_record("p1", T0 + DAY, "v2"), policy_record("p2", T0 + 2 * DAY, BASE.version))
    assert [line.detector_for(ACCOUNT, T0 + n * DAY + 1).policy.version for n in range(3)] == [
        BASE.version, "v2", BASE.version]


def test_a_rollout_covers_its_share_of_accounts_by_a_stable_bucket():
    line = timeline(policy_record("p1", T0, "candidate", percent=10))
    chosen = {a for a, version in versions_of(line, ACCOUNTS, T0 + 1).items() if version == "candidate"}
    assert chosen == {a for a in ACCOUNTS if rollout_bucket(a) < 10}
    assert 0.07 < len(chosen) / len(ACCOUNTS) < 0.13
    # widened to 40 %: every account of the 10 % stays on the candidate
    wider = timeline(policy_record("p1", T0, "candidate", percent=10), policy_record("p2", T0 + HOUR, "candidate", percent=40))
    widened = {a for a, version in versions_of(wider, ACCOUNTS, T0 + 2 * HOUR).items() if version == "candidate"}
    assert chosen < widened and 0.35 < len(widened) / len(ACCOUNTS) < 0.45


def test_the_accounts_outside_a_rollout_keep_the_last_full_policy():
    line = timeline(policy_record("p1", T0, "v2"), policy_record("p2", T0 + HOUR, "candidate", percent=50))
    versions = set(versions_of(line, ACCOUNTS, T0 + 2 * HOUR).values())
    assert versions == {"v2", "candidate"}


def test_the_bucket_of_an_account_never_changes_between_versions():
    """Pinned: two versions of tradewatch during a rolling upgrade, and replay later, must give
    a rollout to the same accounts."""
    assert [rollout_bucket(a) for a in ("gh_x", "gh_0123456789ab", "公众号", "gh_acct00000")] == [88, 46, 95, 18]


def test_changes_at_the_same_time_are_ordered_by_id_whatever_order_they_arrive_in():
    first, second = policy_record("p-a", T0, "va"), policy_record("p-b", T0, "vb")
    assert timeline(first, second).detector_for(ACCOUNT, T0).policy.version == "vb"
    assert timeline(second, first).detector_for(ACCOUNT, T0).policy.version == "vb"


def test_a_record_delivered_twice_is_applied_once():
    line = ControlTimeline(BASE)
    change = parse_change(policy_record("p1", T0, "v2"), BASE.mode)
    assert line.add(change) is True
    assert line.add(change) is False
    assert len(line) == 1


def test_an_allowlist_entry_covers_its_account_from_its_time_until_it_expires_or_is_removed():
    line = timeline(allow("a1", T0, until=T0 + 10 * DAY), allow("a2", T0 + 5 * DAY, op="remove"))
    assert not line.allowed_at_runtime(ACCOUNT, T0 - 1)
    assert line.allowed_at_runtime(ACCOUNT, T0 + DAY)
    assert not line.allowed_at_runtime(ACCOUNT, T0 + 5 * DAY)
    assert not line.allowed_at_runtime("gh_other", T0 + DAY)
    lapsing = timeline(allow("a1", T0, until=T0 + 2 * DAY))
    assert lapsing.allowed_at_runtime(ACCOUNT, T0 + 2 * DAY - 1)
    assert not lapsing.allowed_at_runtime(ACCOUNT, T0 + 2 * DAY)


def run(line: ControlTimeline, events):
    state, actions = None, []
    for event in events:
        state, outcome = line.detector_for(ACCOUNT, event.event_time).process(state, event)
        actions += outcome.actions
    return state, actions


SUSPENDED_AT_DEADLINE = resales(30) + resales(40, start=T0 + DAY, every=2 * HOUR)


def test_a_run_time_allowlist_entry_turns_the_suspension_at_the_deadline_into_a_review():
    _, plain = run(timeline(), SUSPENDED_AT_DEADLINE)
    assert [a["action"] for a in plain if a["subject"]["kind"] == "official_account"] == [
        "qualification_reminder", "suspend"]
    reminded_at = next(a for a in plain if a["action"] == "qualification_reminder")["event_time"]
    entry = allow("a1", T0 + 3 * HOUR, until=T0 + 30 * DAY)
    _, allowed = run(timeline(entry), SUSPENDED_AT_DEADLINE)
    assert [a["action"] for a in allowed] == ["qualification_reminder", "review"]
    assert reminded_at == allowed[0]["event_time"]


def test_an_expired_allowlist_entry_protects_nothing():
    _, actions = run(timeline(allow("a1", T0 - 10 * DAY, until=T0 - DAY)), SUSPENDED_AT_DEADLINE)
    assert "suspend" in [a["action"] for a in actions]


def test_actions_name_the_policy_that_decided_them():
    switch = T0 + DAY
    _, actions = run(timeline(policy_record("p1", switch, "v2")), SUSPENDED_AT_DEADLINE + [Tick(ACCOUNT, T0 + 30 * DAY)])
    assert {(a["action"], a["policy_version"]) for a in actions} >= {
        ("qualification_reminder", BASE.version), ("suspend", "v2")}


@pytest.mark.parametrize(("record", "message"), [
    (control("x", T0, kind="policy", policy_toml="not = [toml"), "policy_toml: not valid TOML"),
    (control("x", T0, kind="policy", policy_toml=TOML.replace("[scoring]", "[scoring]\nwhat = 1")), "scoring.what: unknown key"),
    (control("x", T0, kind="policy", policy_toml=TOML, rollout_percent=0), "rollout_percent"),
    (control("x", T0, kind="policy"), "policy_toml"),
    (control("x", T0, kind="allowlist", account_id=ACCOUNT, op="add"), "expires_at"),
    (control("x", T0, kind="allowlist", account_id=ACCOUNT, op="add", expires_at=format_time(T0 - 1)), "after"),
    (control("x", T0, kind="allowlist", account_id=ACCOUNT, op="forever"), "op"),
    (control("x", T0, kind="retire"), "kind"),
    (ControlRecord("x", T0, orjson.dumps({"control_id": "x", "kind": "policy", "reason": "r",
                                           "policy_toml": TOML}).decode()), "actor"),
])
def test_a_change_that_cannot_be_applied_is_refused_naming_the_field(record, message):
    with pytest.raises(ControlError, match=message):
        parse_change(record, BASE.mode)


def test_a_published_policy_runs_in_the_workers_mode():
    shadow = parse_change(policy_record("p1", T0, "v2"), "shadow")
    assert shadow.policy.mode == "shadow"


def test_the_control_log_is_the_applied_audit_entries_once_each_in_order():
    applied, refused = policy_record("p1", T0, "v2"), policy_record("p2", T0, "v3")
    entries = [audit_entry(refused, REFUSED, "late", T0), audit_entry(applied, APPLIED, "", T0),
               audit_entry(applied, APPLIED, "", T0 + 1)]
    entries = [orjson.loads(orjson.dumps(entry)) for entry in entries]  # as read back from the topic
    assert [(r.control_id, r.effective_at) for r in applied_records(entries)] == [("p1", T0)]
    assert parse_change(applied_records(entries)[0], BASE.mode).policy.version == "v2"
    assert entries[1]["actor"] == "alice" and entries[1]["reason"] == "a test"
