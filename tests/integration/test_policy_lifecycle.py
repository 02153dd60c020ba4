"""The policy lifecycle on a real broker: a policy published while workers run switches at its
effective time on every worker, a staged rollout picks the same accounts everywhere, a malformed
policy is refused without stopping anything, a run-time allowlist entry turns a pending
suspension into a review and lapses on time, and replay given the audit topic decides alike."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import orjson
import pytest

from streams.core.control import applied_records, rollout_bucket
from streams.core.policy import DEFAULT_POLICY_PATH, load_policy
from streams.core.timefmt import format_time, parse_time
from streams.offline.replay import replay
from streams.signing import SigningKey, SigningKeys
from streams.wire import subject_partition
from tests.integration.harness import REPO, WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import (
    BASE,
    LIVE_REVIEWER_ENV,
    LIVE_REVIEWER_SECRET,
    harmless_control,
    live_traffic_on_every_partition,
    resale_records,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

BASE_VERSION = load_policy().version
REVIEWERS = SigningKeys([SigningKey.hmac("reviewer-live", LIVE_REVIEWER_SECRET)], "reviewer-live")
DAY = 86400.0


def policy_file(tmp_path, version: str):
    """The shipped policy under another version; its data files named as the shipped ones."""
    path = tmp_path / f"{version}.toml"
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    path.write_text(text.replace(f'policy_version = "{BASE_VERSION}"', f'policy_version = "{version}"'), encoding="utf-8")
    return path


def run_tradewatch(bootstrap: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TRADEWATCH_BROKER": bootstrap})


def tradewatch(bootstrap: str, *args: str) -> str:
    done = run_tradewatch(bootstrap, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def trading_now(accounts: list[str], since: float | None = None) -> list[dict]:
    """30 secondary sales per account, timed now (or from ``since``, a moment a published change
    takes effect): a qualification reminder each, decided once the watermark passes them."""
    now = time.time() if since is None else since
    records = []
    for account in accounts:
        for record in resale_records(account, "wx" + account[3:], count=30, start_offset_s=now - BASE, every_s=0.01):
            records.append(record)
    return records


def reminders(bootstrap: str) -> dict[str, dict]:
    return {a["account_id"]: a for a in read_actions(bootstrap) if a["action"] == "qualification_reminder"}


def audit(bootstrap: str) -> list[dict]:
    return [orjson.loads(record.value) for record in read_all(bootstrap, "tradewatch.audit.v1")]


def recording_line(record: dict) -> bytes:
    """A produced record as a recording line (headers as text, as replay reads them)."""
    line = {k: v for k, v in record.items() if k != "partition"}
    if isinstance(line.get("headers"), list):
        line["headers"] = {name: value.decode() for name, value in line["headers"]}
    return orjson.dumps(line)


def replayed_actions(recorded: list[dict], entries: list[dict], until: float | None = None) -> list[dict]:
    lines = [(str(n), recording_line(record)) for n, record in enumerate(recorded)]
    return replay(lines, load_policy(), until=until, reviewers=REVIEWERS, control=applied_records(entries)).actions


def test_a_policy_published_mid_stream_switches_at_its_time_on_every_worker_and_in_replay(kafka, tmp_path):
    bootstrap = kafka.bootstrap
    group = [WorkerProcess(bootstrap, "tw-lifecycle", tmp_path / f"w{n}", extra_env=LIVE_REVIEWER_ENV)
             for n in range(2)]
    try:
        for worker in group:
            worker.start()
        for worker in group:
            worker.wait_ready()
        recorded = live_traffic_on_every_partition()
        produce(bootstrap, recorded)
        before = [f"gh_before{n:05d}" for n in range(6)]
        recorded += trading_now(before)
        produce(bootstrap, recorded[-180:])
        wait_for(lambda: set(reminders(bootstrap)) >= set(before), 90, "the first reminders")

        published = tradewatch(bootstrap, "policy", "publish", str(policy_file(tmp_path, "2026.12-v2")),
                               "--actor", "bob", "--reason", "new thresholds", "--wait", "60")
        assert published.splitlines()[-1].startswith("applied policy-"), published
        switch = parse_time(audit_wait(bootstrap, 1)[0]["effective_at"])
        # a change timed where the watermark already is: refused, and --wait says why
        late = run_tradewatch(bootstrap, "allowlist", "remove", "gh_nobody", "--at", format_time(time.time() - 3600),
                              "--actor", "carol", "--reason", "backdated", "--wait", "60")
        assert late.returncode == 1 and "refused by the workers: late_control" in late.stderr, late.stderr
        # a malformed policy, written past the command's checks: refused, nothing stops
        broken = {"control_id": "policy-broken", "kind": "policy", "effective_at": format_time(time.time() + 30),
                  "actor": "mallory", "reason": "typo", "policy_toml": 'policy_version = "broken"\nmode = "enforce"\n'}
        produce(bootstrap, [{"topic": "tradewatch.control.v1", "key": "policy", "value": broken}])
        after = [f"gh_after{n:05d}" for n in range(6)]
        recorded += trading_now(after, since=switch + 1)
        produce(bootstrap, recorded[-180:])
        wait_for(lambda: set(reminders(bootstrap)) >= set(before + after), 90, "the reminders after the switch")

        tradewatch(bootstrap, "policy", "publish", str(policy_file(tmp_path, "2026.12-candidate")),
                   "--actor", "bob", "--reason", "candidate to half the accounts", "--rollout-percent", "50")
        staged_at = max(parse_time(e["effective_at"]) for e in audit_wait(bootstrap, 3) if e["verdict"] == "applied")
        staged = [f"gh_staged{n:05d}" for n in range(24)]
        recorded += trading_now(staged, since=staged_at + 1)
        produce(bootstrap, recorded[-720:])
        found = wait_for(lambda: (r := reminders(bootstrap)) and set(r) >= set(before + after + staged) and r,
                         90, "the reminders of the staged rollout")

        assert all(worker.process.poll() is None for worker in group), "a worker stopped"
        assert {found[a]["policy_version"] for a in before} == {BASE_VERSION}
        assert all(parse_time(found[a]["event_time"]) < switch for a in before)
        assert {found[a]["policy_version"] for a in after} == {"2026.12-v2"}
        expected = {a: "2026.12-candidate" if rollout_bucket(a) < 50 else "2026.12-v2" for a in staged}
        assert {a: found[a]["policy_version"] for a in staged} == expected
        assert len(set(expected.values())) == 2
        deciders = {w.metric("tradewatch_events_consumed_total", topic="miniprogram.events.v1") > 0 for w in group}
        assert deciders == {True}, "both workers decided part of the accounts"

        entries = audit(bootstrap)
        verdicts = {e["control_id"]: (e["verdict"], e["actor"]) for e in entries if e["kind"] == "policy"}
        assert verdicts["policy-broken"] == ("refused", "mallory")
        assert next(e["why"] for e in entries if e["control_id"] == "policy-broken").startswith("invalid_control: ")
        assert sorted(v for v, _ in verdicts.values()) == ["applied", "applied", "refused"]
        dead = [dict(r.headers) for r in read_all(bootstrap, "tradewatch.dlq.v1")]
        assert sorted(h["tw-error-class"] for h in dead if h["tw-source-topic"] == b"tradewatch.control.v1") == [
            b"invalid_control", b"late_control"]
        assert sum(w.metric("tradewatch_control_records_total", kind="policy", verdict="refused") for w in group) == 1
        assert {w.metric("tradewatch_policy_info", version="2026.12-v2", candidate="2026.12-candidate",
                         candidate_percent="50", mode="enforce") for w in group} == {1}

        live = read_actions(bootstrap)
        again = replayed_actions(recorded, entries)
        assert sorted((a["action_id"], a["policy_version"]) for a in live) == sorted(
            (a["action_id"], a["policy_version"]) for a in again)
    finally:
        for worker in group:
            worker.stop()


def audit_wait(bootstrap: str, count: int) -> list[dict]:
    """The audit entries of policies, once there are ``count``."""
    def policies():
        entries = [e for e in audit(bootstrap) if e["kind"] == "policy"]
        return len(entries) >= count and entries
    return wait_for(policies, 30, "the audit entries")


def test_a_run_time_allowlist_entry_turns_a_pending_suspension_into_a_review_and_lapses_on_time(kafka, tmp_path):
    """Three platforms reminded in a backfilled history, trading on past their deadline: one is
    allowlisted while its reminder is open (review at the deadline), one by an entry that lapses
    before its deadline (suspended), one not at all (suspended)."""
    bootstrap = kafka.bootstrap
    protected, lapsed, plain = "gh_protected01", "gh_lapsed0001", "gh_plain00001"
    accounts = (protected, lapsed, plain)
    history = [r for a in accounts for r in resale_records(a, "wx" + a[3:], count=30)]
    later = [r for a in accounts for r in resale_records(a, "wx" + a[3:], count=40, start_offset_s=DAY, every_s=7200)]
    keys = [f"allowlist:{a}" for a in (protected, lapsed)]
    entry_partitions = {subject_partition(key.encode(), 4) for key in keys}
    # every other partition follows the wall clock; the history's hold the watermark where it
    # was read; the entries' partitions report a time between the reminders and the entries
    live = live_traffic_on_every_partition(besides=tuple(("miniprogram.events.v1", "wx" + a[3:]) for a in accounts)
                                           + tuple(("tradewatch.control.v1", key) for key in keys))
    holds = [harmless_control(keys[0], BASE + 8 * 3600, partition=p) for p in sorted(entry_partitions)]
    env = {"TRADEWATCH_IDLE_PARTITION_SECONDS": "60", **LIVE_REVIEWER_ENV}
    worker = WorkerProcess(bootstrap, "tw-allowlist", tmp_path, extra_env=env).start()
    try:
        worker.wait_ready()
        produce(bootstrap, holds + history + live)
        wait_for(lambda: set(reminders(bootstrap)) >= set(accounts), 45, "the three reminders")
        assert not [a for a in read_actions(bootstrap) if a["action"] in ("suspend", "review")]

        at = format_time(BASE + 10 * 3600)
        tradewatch(bootstrap, "allowlist", "add", protected, "--at", at, "--expires", format_time(BASE + 30 * DAY),
                   "--actor", "alice", "--reason", "licence renewal under review (TS-4411)")
        # a later time: the first entry's own time is where the watermark may already be
        tradewatch(bootstrap, "allowlist", "add", lapsed, "--at", format_time(BASE + 10 * 3600 + 1),
                   "--expires", format_time(BASE + 2 * DAY),
                   "--actor", "alice", "--reason", "two days' grace")
        produce(bootstrap, later)

        def decided():
            done = {(a["account_id"], a["action"]) for a in read_actions(bootstrap)
                    if a["subject"]["kind"] == "official_account" and a["action"] in ("suspend", "review")}
            return len(done) == 3 and done
        outcome = wait_for(decided, 120, "every deadline judged")
        assert outcome == {(protected, "review"), (lapsed, "suspend"), (plain, "suspend")}
        deadline = reminders(bootstrap)[protected]["deadline"]
        review = next(a for a in read_actions(bootstrap) if a["action"] == "review")
        assert review["event_time"] == deadline

        entries = {e["record"]["account_id"]: e for e in audit(bootstrap) if e["kind"] == "allowlist"
                   and e["record"]["account_id"] in accounts}
        assert {a: (e["verdict"], e["actor"], e["reason"]) for a, e in entries.items()} == {
            protected: ("applied", "alice", "licence renewal under review (TS-4411)"),
            lapsed: ("applied", "alice", "two days' grace")}
        listed = tradewatch(bootstrap, "allowlist", "list", "--json")
        assert [orjson.loads(line)["account_id"] for line in listed.splitlines()] == [protected]

        live_actions = read_actions(bootstrap)
        again = replayed_actions(holds + history + live + later, audit(bootstrap), until=time.time())
        assert sorted(a["action_id"] for a in live_actions) == sorted(a["action_id"] for a in again)
    finally:
        worker.stop()
