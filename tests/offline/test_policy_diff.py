"""`tradewatch policy diff`: what a candidate policy would change, per account, before a rollout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli import main
from streams.core.policy import DEFAULT_POLICY_PATH, load_policy
from streams.offline.policy_diff import diff
from streams.offline.replay import read_recording, replay

DATA = DEFAULT_POLICY_PATH.parent


def candidate(tmp_path: Path, name: str, **values: float) -> Path:
    """The shipped policy with other values, next to nothing (its data files by absolute path)."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = text.replace('vocabulary = "vocabulary.toml"', f'vocabulary = "{DATA / "vocabulary.toml"}"')
    text = text.replace('model = "stance_model.json.gz"', f'model = "{DATA / "stance_model.json.gz"}"')
    for key, value in values.items():
        line = next(line for line in text.splitlines() if line.startswith(f"{key} = "))
        text = text.replace(line, f"{key} = {value}")
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("diff")
    assert main(["simulate", "--accounts", "40", "--days", "5", "--out", str(directory / "rec.jsonl"),
                 "--labels", str(directory / "labels.jsonl")]) == 0
    return directory / "rec.jsonl"


def replayed(recording: Path, policy: Path):
    return replay(read_recording([recording]), load_policy(policy), until="end")


def test_the_same_policy_changes_nothing(recording, tmp_path):
    same = candidate(tmp_path, "same")
    report = diff(replayed(recording, DEFAULT_POLICY_PATH), replayed(recording, same))
    assert report.accounts == [] and report.signals == {}
    assert all(counts["from"] == counts["to"] for name, counts in report.totals.items() if name != "accounts_changed")


def test_a_stricter_policy_lists_every_account_it_would_act_on_differently(recording, tmp_path):
    before = replayed(recording, DEFAULT_POLICY_PATH)
    stricter = candidate(tmp_path, "stricter", trading_reminder_threshold=0.3, trading_suspend_threshold=0.2,
                         fraud_threshold=0.5)
    after = replayed(recording, stricter)
    report = diff(before, after)
    assert report.accounts, "a much stricter policy changes something on 40 simulated accounts"
    strongest = {"none": 0, "reminder": 1, "suspend": 2}
    for change in report.accounts:
        assert strongest[change.after] >= strongest[change.before]  # stricter never weakens
        ids = {a["subject"]["id"] for a in change.added + change.removed} | {
            pair["to"]["subject"]["id"] for pair in change.changed}
        assert ids  # every listed account says what changed
    # the totals are what the per-account rows add up to
    moved_to_suspend = sum(c.after == "suspend" for c in report.accounts) - sum(c.before == "suspend" for c in report.accounts)
    assert report.new_suspensions == moved_to_suspend
    assert report.totals["actions"] == {"from": len(before.actions), "to": len(after.actions)}


def test_the_cli_prints_json_and_gates_on_new_suspensions(recording, tmp_path, capsys):
    # six hours to prove a licence instead of three days: platforms that would have proved it
    # in time are suspended first
    shorter = candidate(tmp_path, "shorter-grace", grace_hours=6, notice_hours=1)
    args = ["policy", "diff", "--from", str(DEFAULT_POLICY_PATH), "--to", str(shorter), str(recording)]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"accounts", "totals", "signals"}
    for account in report["accounts"]:
        assert {"account_id", "from", "to", "added", "removed", "changed"} <= set(account)
        assert account["from"] in ("suspend", "reminder", "none") and account["to"] in ("suspend", "reminder", "none")
    new = report["totals"]["accounts_suspended"]["to"] - report["totals"]["accounts_suspended"]["from"]
    assert new > 0, "the gate below needs a candidate that suspends more"
    assert main([*args, "--max-new-suspensions", str(new)]) == 0
    capsys.readouterr()
    assert main([*args, "--max-new-suspensions", str(new - 1)]) == 1
    assert f"suspends {new} more account(s)" in capsys.readouterr().err


def test_one_threshold_changed_lists_exactly_the_accounts_two_plain_replays_disagree_on(recording, tmp_path, capsys):
    """The report against its own ground truth: two replays, compared action by action here."""
    changed = candidate(tmp_path, "one-threshold", trading_reminder_threshold=0.45)

    def outcomes(policy: Path) -> dict[str, list]:
        per_account: dict[str, list] = {}
        for a in replayed(recording, policy).actions:
            per_account.setdefault(a["account_id"], []).append(
                (a["subject"]["kind"], a["subject"]["id"], a["action"], a["event_time"], a.get("deadline")))
        return {account: sorted(rows) for account, rows in per_account.items()}

    before, after = outcomes(DEFAULT_POLICY_PATH), outcomes(changed)
    differ = {a for a in set(before) | set(after) if before.get(a) != after.get(a)}
    assert differ, "the threshold must matter on this simulation"
    args = ["policy", "diff", "--from", str(DEFAULT_POLICY_PATH), "--to", str(changed), str(recording)]
    assert main([*args, "--json"]) == 0
    assert {account["account_id"] for account in json.loads(capsys.readouterr().out)["accounts"]} == differ
    assert main(args) == 0
    table = capsys.readouterr().out
    every = set(before) | set(after)
    assert {a for a in every if a in table} == differ
