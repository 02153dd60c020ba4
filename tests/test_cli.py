"""Every command's file and connection problems are one line naming the path or setting, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tradewatch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "garbage.jsonl").write_text("not json\n")
    (tmp_path / "invalid.jsonl").write_text('{"topic": "posts.v1"}\n')
    (tmp_path / "dir").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "args, names",
    [
        (["replay", "missing.jsonl"], "missing.jsonl"),
        (["replay", "dir"], "dir"),
        (["replay", "invalid.jsonl", "--out", "dir/no/such/actions.jsonl"], "dir/no/such/actions.jsonl"),
        (["evaluate", "--recording", "missing.jsonl", "--labels", "garbage.jsonl"], "missing.jsonl"),
        (["evaluate", "--recording", "invalid.jsonl", "--labels", "garbage.jsonl"], "garbage.jsonl:1"),
        (["evaluate", "--recording", "invalid.jsonl", "--labels", "dir"], "dir"),
        (["replay", "invalid.jsonl", "--policy", "missing.toml"], "missing.toml"),
        (["topics", "--broker", "127.0.0.1:1"], "127.0.0.1:1"),
        (["replay", "invalid.jsonl", "--control", "missing.jsonl"], "missing.jsonl"),
        (["replay", "invalid.jsonl", "--control", "garbage.jsonl"], "garbage.jsonl:1"),
        (["policy", "publish", "missing.toml", "--actor", "a", "--reason", "r"], "missing.toml"),
        (["policy", "publish", "garbage.jsonl", "--actor", "a", "--reason", "r", "--dry-run"], "policy_toml"),
        (["allowlist", "add", "gh_x", "--actor", "a", "--reason", "r", "--expires", "soon"], "--expires"),
        (["allowlist", "add", "gh_x", "--actor", "a", "--reason", "r", "--expires", "2020-01-01T00:00:00Z",
          "--dry-run"], "expires_at"),
        (["allowlist", "remove", "gh_x", "--actor", "a", "--reason", "r", "--wait", "-1"], "--wait"),
    ],
)
def test_a_bad_path_or_broker_is_one_line_naming_it(files, args, names):
    done = tradewatch(*args, cwd=files)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert names in lines[0]


def test_an_unwritable_out_fails_before_the_replay_starts(files):
    # the recording is never read: its invalid line is not reported
    done = tradewatch("replay", "invalid.jsonl", "--out", "dir/no/such/actions.jsonl", cwd=files)
    assert "invalid invalid.jsonl:1" not in done.stderr


def test_replay_fails_when_no_line_is_valid_and_strict_fails_on_any(files, tmp_path):
    assert tradewatch("replay", "invalid.jsonl", cwd=files).returncode == 1
    subprocess.run([sys.executable, "-m", "streams.cli", "simulate", "--accounts", "4", "--days", "1",
                    "--out", str(tmp_path / "rec.jsonl"), "--labels", str(tmp_path / "labels.jsonl")],
                   cwd=ROOT, check=True, capture_output=True)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text((tmp_path / "rec.jsonl").read_text() + '{"topic": "posts.v1"}\n')
    assert tradewatch("replay", str(mixed), cwd=files).returncode == 0
    assert tradewatch("replay", str(mixed), "--strict", cwd=files).returncode == 1


@pytest.fixture(scope="module")
def small_simulation(tmp_path_factory) -> tuple[Path, Path]:
    from streams.cli import main

    directory = tmp_path_factory.mktemp("sim")
    recording, labels = directory / "rec.jsonl", directory / "labels.jsonl"
    assert main(["simulate", "--accounts", "30", "--days", "4", "--out", str(recording), "--labels", str(labels)]) == 0
    return recording, labels


def test_evaluate_json_is_one_object_with_both_scores_and_the_misjudged_accounts(small_simulation, capsys):
    import json

    from streams.cli import main

    recording, labels = small_simulation
    capsys.readouterr()
    assert main(["evaluate", "--recording", str(recording), "--labels", str(labels), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accounts"] == 30 and report["messages"] == report["valid"] > 0
    for score in (report["suspend"], report["reminder_or_stronger"]):
        assert set(score) == {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert sum(sum(counts.values()) for counts in report["by_archetype"].values()) == 30
    assert isinstance(report["false_positives"], list) and isinstance(report["false_negatives"], list)


def test_evaluate_bars_of_zero_pass_and_a_bar_outside_0_to_1_is_refused(small_simulation, capsys):
    from streams.cli import main

    recording, labels = small_simulation
    args = ["evaluate", "--recording", str(recording), "--labels", str(labels)]
    assert main([*args, "--min-precision", "0", "--min-recall", "0"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:
        main([*args, "--min-recall", "1.5"])
    assert bad.value.code == 2
    assert "not between 0 and 1" in capsys.readouterr().err


def test_evaluate_exits_1_naming_each_score_below_the_bar(small_simulation, capsys, monkeypatch):
    from streams.cli import main
    from streams.offline import evaluate as evaluation

    recording, labels = small_simulation
    real = evaluation.evaluate

    def one_missed(result, labelled):  # the same run, with one suspension fewer found
        judged = real(result, labelled)
        judged.suspend.recall = round(judged.suspend.recall - 0.1, 4)
        return judged

    monkeypatch.setattr(evaluation, "evaluate", one_missed)
    capsys.readouterr()
    assert main(["evaluate", "--recording", str(recording), "--labels", str(labels), "--min-recall", "0.95"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("tradewatch evaluate: ") for line in err)
    assert any(line.startswith("tradewatch evaluate: suspend recall ") and "< 0.95" in line for line in err)


def test_replay_with_the_control_log_decides_with_the_policy_each_change_put_in_force(tmp_path):
    """An account's reminder under the policy in force at its time: the shipped one before the
    change, the published one after it, as the workers decided."""
    import orjson

    from streams.core.control import APPLIED, audit_entry
    from streams.core.events import ControlRecord
    from streams.core.policy import DEFAULT_POLICY_PATH
    from streams.core.timefmt import format_time, parse_time

    start = parse_time("2022-03-20T00:00:00+08:00")
    lines = []
    for account, offset in (("gh_early000001", 0.0), ("gh_late0000001", 86400.0)):
        for i in range(30):
            at = format_time(start + offset + i * 600)
            lines.append({"topic": "miniprogram.events.v1", "key": "wx" + account, "value": {
                "event_id": f"{account}-{i}", "app_id": "wx" + account, "owner_account_id": account,
                "occurred_at": at, "type": "sale.secondary", "user_id": f"b{i}", "counterparty_id": f"s{i}",
                "item_id": f"i{i}", "price_cents": 99000, "issue_price_cents": 990}})
    (tmp_path / "rec.jsonl").write_text("".join(orjson.dumps(line).decode() + "\n" for line in lines))
    toml = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace('policy_version = "', 'policy_version = "next-', 1)
    document = {"control_id": "policy-next", "kind": "policy", "effective_at": format_time(start + 43200),
                "actor": "bob", "reason": "why", "policy_toml": toml}
    entry = audit_entry(ControlRecord("policy-next", start + 43200, orjson.dumps(document).decode()), APPLIED, "", start)
    (tmp_path / "audit.jsonl").write_text(orjson.dumps(entry).decode() + "\n")
    done = tradewatch("replay", "rec.jsonl", "--control", "audit.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    versions = {a["account_id"]: a["policy_version"] for a in map(orjson.loads, done.stdout.splitlines())}
    assert versions["gh_late0000001"].startswith("next-") and not versions["gh_early000001"].startswith("next-")
