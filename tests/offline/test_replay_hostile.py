"""``tradewatch replay`` survives hostile input and decides on the rest as if it were absent."""

from __future__ import annotations

import subprocess
import sys

import orjson

from streams.core.policy import load_policy
from streams.offline.replay import replay
from tests.hostile import corpus
from tests.integration.records import resale_records

ACCOUNT = "gh_feedfacecafe"
APP = "wxfeedfacecafe0001"


def good_records() -> list[dict]:
    return resale_records(ACCOUNT, APP, count=170, every_s=1800)  # 85 h: through the deadline


def line(record: dict) -> bytes:
    return orjson.dumps(record)


def hostile_lines() -> list[tuple[bytes, str]]:
    lines = []
    for item in corpus():
        try:
            text = item.value.decode("utf-8")
        except UnicodeDecodeError:
            continue  # cannot be written into a JSON recording line; covered below as a broken line
        lines.append((line({"topic": item.topic, "key": ACCOUNT, "value": text}), item.reason))
    # a far-future event for the very account that has a pending deadline must not fire it
    future = resale_records(ACCOUNT, APP, count=1)[0]
    future["value"]["occurred_at"] = "2099-01-01T00:00:00+00:00"
    lines.append((line(future), "future_time"))
    lines.append((b'{"topic": "posts.v1", "value": {"event_id": "\xff"}}', "not_json"))
    lines.append((b"[not a recording line", "not_json"))
    lines.append((line({"topic": "trades.v9", "key": "k", "value": {"x": 1}}), "unknown_topic"))
    lines.append((line({"key": "k", "value": {}}), "not_object"))
    return lines


def comparable(actions: list[dict]) -> list[tuple]:
    return [(a["action_id"], a["action"], a.get("deadline"), a["event_time"]) for a in actions]


def test_hostile_lines_are_reported_and_change_no_decision():
    policy = load_policy()
    good = [line(record) for record in good_records()]
    clean = replay([(f"good:{i}", raw) for i, raw in enumerate(good)], policy)
    assert [a["action"] for a in clean.actions] == ["qualification_reminder", "suspend", "suspend"]

    hostile = hostile_lines()
    mixed = []
    for i, raw in enumerate(good):
        mixed.append((f"good:{i}", raw))
        mixed.append((f"dup:{i}", raw))  # an exact duplicate delivery of every good message
        if i < len(hostile):
            mixed.append((f"bad:{i}", hostile[i][0]))
    mixed += [(f"bad:{i}", raw) for i, (raw, _) in enumerate(hostile) if i >= len(good)]
    result = replay(mixed, policy)

    assert [item.reason for item in result.invalid] == [reason for _, reason in hostile]
    assert result.duplicates == len(good)
    assert comparable(result.actions) == comparable(clean.actions)
    state = result.states[ACCOUNT]
    assert state.clock == clean.states[ACCOUNT].clock, "a rejected event moved the account clock"
    assert state.counters.to_dict() == clean.states[ACCOUNT].counters.to_dict(), "duplicates changed a counter"


def test_replay_command_reports_invalid_lines_on_stderr_and_keeps_going(tmp_path):
    recording = tmp_path / "recording.jsonl"
    with open(recording, "wb") as out:
        for raw, _ in hostile_lines():
            out.write(raw + b"\n")
        for record in good_records():
            out.write(line(record) + b"\n")
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "replay", str(recording)], capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    actions = [orjson.loads(row) for row in done.stdout.splitlines()]
    assert [a["action"] for a in actions] == ["qualification_reminder", "suspend", "suspend"]
    stderr = done.stderr.decode()
    assert stderr.count("invalid ") == len(hostile_lines())
    assert f"{recording}:1: " in stderr and "future_time" in stderr
