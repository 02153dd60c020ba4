"""A flood of suspensions trips only its own breaker scope: the flood is held (on every worker, and
across a restart) until an operator closes the trip and releases it, while a real account's
suspension in another scope is enforced at once."""

from __future__ import annotations

import base64
import urllib.request

import orjson
import pytest

from streams.core.policy import DEFAULT_POLICY_PATH
from streams.signing import SigningKey, SigningKeys
from tests.integration.harness import WorkerProcess, produce, read_actions, read_all, wait_for
from tests.integration.records import appeal_record, post_record, resale_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

SCHEMES = (  # two of these from a fresh account: a fraud suspension resting on two posts
    "数字藏品保本保收益！购买即享每日返利5%，邀请好友再得10%佣金，平台承诺跌价全额回购，稳赚不赔。",
    "藏品理财计划：固定年化收益36%，保证本金安全，到期平台原价回购，名额有限速来私聊。",
)
TARGET, TARGET_APP = "gh_7a4ge7000001", "wx7a4ge700000001"
REVIEWER_SECRET = b"r" * 32
REVIEWERS = SigningKeys([SigningKey.hmac("reviewer-anna", REVIEWER_SECRET)], "reviewer-anna")


def throwaway(n: int) -> list[dict]:
    return [post_record(f"gh_f1ood{n:07d}", text, at_offset_s=n * 10 + i) for i, text in enumerate(SCHEMES)]


def account_suspensions(actions: list[dict]) -> list[dict]:
    return [a for a in actions if a["action"] == "suspend" and a["subject"]["kind"] == "official_account"]


def held(bootstrap: str) -> list[dict]:
    return [orjson.loads(record.value) for record in read_all(bootstrap, "tradewatch.held.v1")]


def policy_with_limit(tmp_path, limit: int):
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = text.replace("max_suspensions_per_minute = 60", f"max_suspensions_per_minute = {limit}")
    for name in ("vocabulary.toml", "stance_model.json.gz"):  # the copy's data files are the shipped ones
        text = text.replace(f'"{name}"', f'"{DEFAULT_POLICY_PATH.parent / name}"')
    policy.write_text(text, encoding="utf-8")
    return policy


def reset(worker: WorkerProcess, query: str) -> dict:
    request = urllib.request.Request(worker.url + "/circuit-breaker/reset?" + query, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return orjson.loads(response.read())


def test_a_flood_is_held_across_a_restart_and_released_while_a_real_suspension_is_enforced(kafka, tmp_path):
    env = {"TRADEWATCH_POLICY": str(policy_with_limit(tmp_path, 2))}
    bootstrap = kafka.bootstrap
    first = WorkerProcess(bootstrap, "tw-breaker", tmp_path / "first", extra_env=env).start()
    try:
        first.wait_ready()
        assert first.metric("tradewatch_circuit_breaker_open") == 0
        produce(bootstrap, [record for n in range(5) for record in throwaway(n)])
        wait_for(lambda: len(held(bootstrap)) == 3, 90, "three flood suspensions held")
        enforced = account_suspensions(read_actions(bootstrap))
        assert len(enforced) == 2, "the two under the limit are enforced"
        assert first.metric("tradewatch_circuit_breaker_open") == 1
        assert first.metric("tradewatch_circuit_breaker_trips_total") == 1
        assert "circuit breaker OPEN for scope" in first.log_path.read_text()
        status, body = first.get("/circuit-breaker")
        [trip] = orjson.loads(body)["open"]
        assert status == 200 and trip["scope"].endswith("/low_history")

        # the real target: another scope (an established trading platform), enforced while the flood is held
        produce(bootstrap, resale_records(TARGET, TARGET_APP, count=170, every_s=1800))
        wait_for(lambda: {(a["subject"]["kind"], a["subject"]["id"]) for a in read_actions(bootstrap)
                          if a["action"] == "suspend"} >= {("official_account", TARGET), ("mini_program", TARGET_APP)},
                 90, "the target's suspensions enforced")
    finally:
        first.stop()

    # a new worker reads the trip back: still open, and it holds the same scope's suspensions too
    second = WorkerProcess(bootstrap, "tw-breaker", tmp_path / "second", extra_env=env).start()
    try:
        second.wait_ready()
        status, body = second.get("/circuit-breaker")
        assert [t["trip_id"] for t in orjson.loads(body)["open"]] == [trip["trip_id"]]
        produce(bootstrap, throwaway(7))
        wait_for(lambda: len(held(bootstrap)) == 4, 90, "the restarted worker holds the scope too")
        assert len(account_suspensions(read_actions(bootstrap))) == 3  # two of the flood and the target

        closed = reset(second, "disposition=release&by=alice")
        assert [t["trip_id"] for t in closed["closed"]] == [trip["trip_id"]] and closed["circuit_breaker_open"] is False
        assert "circuit breaker reset by alice from 127.0.0.1" in second.log_path.read_text()
        released = wait_for(lambda: (found := account_suspensions(read_actions(bootstrap))) and len(found) == 7 and found,
                            90, "every held suspension released to enforcement")
        held_ids = {a["action_id"] for a in held(bootstrap)}
        assert held_ids <= {a["action_id"] for a in released}
        assert all(a["mode"] == "enforce" for a in released)
        assert second.metric("tradewatch_held_actions_settled_total", outcome="released") == 4
        assert second.metric("tradewatch_circuit_breaker_open") == 0

        produce(bootstrap, throwaway(8))  # enforcement has resumed for that scope
        wait_for(lambda: len(account_suspensions(read_actions(bootstrap))) == 8, 90, "enforcement to resume")
        assert len(held(bootstrap)) == 4
    finally:
        second.stop()


def test_a_reinstatement_of_a_held_suspension_waits_behind_it_and_is_released_after_it(kafka, tmp_path):
    """Released later, the held suspension would arrive after the reinstatement that undoes it,
    and leave the account suspended downstream; so the subject's later actions follow it."""
    env = {"TRADEWATCH_POLICY": str(policy_with_limit(tmp_path, 2)),
           "TRADEWATCH_REVIEWER_KEYS": "reviewer-anna:hmac:" + base64.b64encode(REVIEWER_SECRET).decode()}
    bootstrap = kafka.bootstrap
    worker = WorkerProcess(bootstrap, "tw-breaker-follow", tmp_path, extra_env=env).start()
    try:
        worker.wait_ready()
        produce(bootstrap, [record for n in range(5) for record in throwaway(n)])
        wait_for(lambda: len(held(bootstrap)) == 3, 90, "three flood suspensions held")
        suspension = next(a for a in held(bootstrap) if a["subject"]["kind"] == "official_account")
        account = suspension["subject"]["id"]
        appeal = appeal_record(account, suspension["action_id"], 3600, "appeal-held", reviewer=REVIEWERS)
        produce(bootstrap, [{**appeal, "value": appeal["value"].encode(),
                             "headers": [(name, value.encode()) for name, value in appeal["headers"].items()]}])

        def reinstatement_held():
            return [record for record in read_all(bootstrap, "tradewatch.held.v1")
                    if orjson.loads(record.value)["action"] == "reinstate"]
        [follower] = wait_for(reinstatement_held, 90, "the reinstatement held behind the suspension")
        headers = dict(follower.headers)
        assert headers["tw-breaker-follows"].decode().startswith(suspension["policy_version"])
        assert "tw-breaker-trip" not in headers
        assert not [a for a in read_actions(bootstrap) if a["action"] == "reinstate"]

        reset(worker, "disposition=release&by=alice")

        def released_in_order():
            mine = [orjson.loads(record.value)["action"] for record in read_all(bootstrap, "enforcement.actions.v1")
                    if record.key == account.encode()]
            return "reinstate" in mine and mine
        assert wait_for(released_in_order, 90, "both released") == ["suspend", "reinstate"]
    finally:
        worker.stop()
