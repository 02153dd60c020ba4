"""A flood of suspensions trips the breaker: enforcement stops until an operator resets it."""

from __future__ import annotations

import urllib.request

import pytest

from streams.core.policy import DEFAULT_POLICY_PATH
from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for
from tests.integration.records import resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def trading_accounts(first: int, count: int) -> list[dict]:
    records = []
    for n in range(first, first + count):
        records += resale_records(f"gh_b0000000{n:04d}", f"wxb00000000000{n:04d}", count=170, every_s=1800)
    return records


def account_suspensions(actions: list[dict]) -> list[dict]:
    return [a for a in actions if a["action"] == "suspend" and a["subject"]["kind"] == "official_account"]


def test_suspension_flood_opens_the_breaker_until_an_operator_resets_it(kafka, tmp_path):
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = text.replace("max_suspensions_per_minute = 60", "max_suspensions_per_minute = 2")
    for name in ("vocabulary.toml", "stance_model.json.gz"):  # the copy's data files are the shipped ones
        text = text.replace(f'"{name}"', f'"{DEFAULT_POLICY_PATH.parent / name}"')
    policy.write_text(text, encoding="utf-8")
    worker = WorkerProcess(kafka.bootstrap, "tw-breaker", tmp_path, extra_env={"TRADEWATCH_POLICY": str(policy)}).start()
    try:
        worker.wait_ready()
        assert worker.metric("tradewatch_circuit_breaker_open") == 0
        produce(kafka.bootstrap, trading_accounts(0, 5))

        shadowed = wait_for(lambda: account_suspensions(read_actions(kafka.bootstrap, "tradewatch.shadow.v1")), 90,
                            "suspensions diverted to the shadow topic")
        wait_for(lambda: len(account_suspensions(read_actions(kafka.bootstrap)))
                 + len(account_suspensions(read_actions(kafka.bootstrap, "tradewatch.shadow.v1"))) == 5, 90,
                 "all five suspensions decided")
        enforced = account_suspensions(read_actions(kafka.bootstrap))
        shadowed = account_suspensions(read_actions(kafka.bootstrap, "tradewatch.shadow.v1"))
        assert len(enforced) == 2 and len(shadowed) == 3
        assert all(a["mode"] == "enforce" for a in enforced) and all(a["mode"] == "shadow" for a in shadowed)
        assert worker.metric("tradewatch_circuit_breaker_open") == 1
        assert worker.metric("tradewatch_circuit_breaker_trips_total") == 1
        assert "circuit breaker OPEN" in worker.log_path.read_text()

        # it stays open by itself ...
        status, body = worker.get("/circuit-breaker")
        assert status == 200 and b'"circuit_breaker_open":true' in body.replace(b" ", b"")
        # ... until an operator resets it
        request = urllib.request.Request(worker.url + "/circuit-breaker/reset", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        assert worker.metric("tradewatch_circuit_breaker_open") == 0
        produce(kafka.bootstrap, trading_accounts(10, 1))
        wait_for(lambda: len(account_suspensions(read_actions(kafka.bootstrap))) == 3, 90, "enforcement to resume")
    finally:
        worker.stop()
