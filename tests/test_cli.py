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
