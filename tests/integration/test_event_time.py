"""Live decisions equal replay's whatever order the topics arrive in (the pipeline watermark).

Upstream systems write their topics independently: a first deployment reading retained topics
from the earliest offset, or a backfill, sees one topic days of event time ahead of another.
Each run writes a ten-day recording with one producer per topic — each topic in full before
the next (the worst order), or randomly interleaved — into one or two workers started before
or after the data is there (all eight combinations), and compares the actions with
``tradewatch replay``.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict

import orjson
import pytest

from streams.core.policy import load_policy
from streams.offline.replay import replay
from streams.offline.simulate import simulate
from tests.integration.harness import WorkerProcess, produce, read_actions, wait_for
from tests.integration.records import LIVE_REVIEWER_ENV, live_traffic_on_every_partition

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
STRENGTH = {"suspend": 3, "review": 2, "qualification_reminder": 1}
TOPIC_ORDER = ("posts.v1", "qualifications.v1", "enforcement.appeals.v1", "miniprogram.events.v1")


def recording() -> list[dict]:
    return simulate(seed=11, accounts=24, days=10, intensity=0.3).records


def content(action: dict) -> bytes:
    return orjson.dumps({key: value for key, value in action.items() if key != "decided_at"},
                        option=orjson.OPT_SORT_KEYS)


def replayed(records: list[dict], until: float) -> list[dict]:
    result = replay([(f"rec:{i}", orjson.dumps(r)) for i, r in enumerate(records)], load_policy(), until=until)
    assert not result.invalid
    return result.actions


def triples(actions: list[dict]) -> set[tuple[str, str, str]]:
    return {(a["account_id"], a["subject"]["id"], a["action"]) for a in actions}


def strongest(actions: list[dict]) -> dict[str, str]:
    best: dict[str, str] = {}
    for action in actions:
        name = action["action"]
        if STRENGTH.get(name, 0) > STRENGTH.get(best.get(action["account_id"], ""), 0):
            best[action["account_id"]] = name
    return best


def worst_order(records: list[dict]) -> list[list[dict]]:
    """One batch per topic, each in full, the largest topic last (it lags everything else)."""
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_topic[record["topic"]].append(record)
    return [by_topic[topic] for topic in TOPIC_ORDER if by_topic[topic]]


def random_interleaving(records: list[dict], seed: int) -> list[list[dict]]:
    """Each topic keeps its own order (one producer per topic); the topics interleave at random."""
    rnd = random.Random(seed)
    queues = [list(reversed(batch)) for batch in worst_order(records)]
    out: list[dict] = []
    while any(queues):
        queue = rnd.choice([q for q in queues if q])
        for _ in range(rnd.randint(1, 400)):
            if queue:
                out.append(queue.pop())
    return [out]


def settled(bootstrap: str, expected: list[dict], timeout: float = 120.0) -> list[dict]:
    """The live actions once they hold every action replay has (or the timeout)."""
    want = {a["action_id"] for a in expected}
    try:
        return wait_for(lambda: (live := read_actions(bootstrap)) and want <= {a["action_id"] for a in live} and live,
                        timeout, f"{len(want)} actions")
    except AssertionError:
        return read_actions(bootstrap)


@pytest.mark.parametrize("start", ["before", "after"])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("order", ["worst", "random"])
def test_live_equals_replay_whatever_order_the_topics_arrive_in(kafka, tmp_path, order, workers, start):
    records = recording()
    batches = worst_order(records) if order == "worst" else random_interleaving(records, seed=workers)
    env = {"TRADEWATCH_IDLE_PARTITION_SECONDS": "20"}
    group = [WorkerProcess(kafka.bootstrap, f"tw-et-{order}-{workers}-{start}", tmp_path, extra_env=env)
             for _ in range(workers)]
    try:
        if start == "after":
            for batch in batches:
                produce(kafka.bootstrap, batch)
        for worker in group:
            worker.start()
        for worker in group:
            worker.wait_ready()
        if start == "before":
            for batch in batches:
                produce(kafka.bootstrap, batch)
        expected = replayed(records, until=time.time())
        live = settled(kafka.bootstrap, expected)
        assert {"qualification_reminder", "suspend", "case_closed"} <= {a["action"] for a in expected}
        assert triples(live) == triples(expected)
        assert strongest(live) == strongest(expected)
        versions: dict[str, set[bytes]] = defaultdict(set)
        for action in live:
            versions[action["action_id"]].add(content(action))
        assert all(len(v) == 1 for v in versions.values()), "an action_id with two contents"
        # the ordered design: every action exactly as replay wrote it
        assert {a["action_id"]: content(a) for a in live} == {a["action_id"]: content(a) for a in expected}
        assert sum(w.metric("tradewatch_late_events_total") for w in group) == 0
    finally:
        for worker in group:
            worker.stop()


def test_no_deadline_is_judged_before_a_lagging_topic_has_been_read(kafka, tmp_path):
    """The mini-program topic lags the posts by more than the grace period: while only its
    first two days are written, every action published is one replay of the whole recording
    publishes too — no reminder judged "trading stopped" for want of the evidence not yet read."""
    records = recording()
    mini = [r for r in records if r["topic"] == "miniprogram.events.v1"]
    others = [r for r in records if r["topic"] != "miniprogram.events.v1"]
    cut = len(mini) // 5  # about the first two of ten days
    # live traffic on every partition of the small topics: they follow the wall clock, and
    # with idle partitions never presumed quiet (600 s) only the lagging topic holds the watermark
    live = live_traffic_on_every_partition(topics=("qualifications.v1", "enforcement.appeals.v1", "tradewatch.control.v1"))
    env = {"TRADEWATCH_IDLE_PARTITION_SECONDS": "600", **LIVE_REVIEWER_ENV}
    worker = WorkerProcess(kafka.bootstrap, "tw-et-lag", tmp_path, extra_env=env).start()
    try:
        worker.wait_ready()
        produce(kafka.bootstrap, others)
        produce(kafka.bootstrap, mini[:cut])
        produce(kafka.bootstrap, live)
        wait_for(lambda: worker.metric("tradewatch_inputs_read_total") == len(others) + cut + len(live)
                 and worker.metric("tradewatch_reorder_buffered_events") > 0,
                 60, "the posts and the first mini-program days read")
        expected = {a["action_id"]: content(a) for a in replayed(records, until=time.time())}
        early = read_actions(kafka.bootstrap)
        assert {a["action_id"]: content(a) for a in early}.items() <= expected.items()
        assert worker.metric("tradewatch_watermark_held_by", topic="miniprogram.events.v1") == 1
        assert worker.metric("tradewatch_watermark_lag_seconds") > 7 * 86400  # held by the lagging topic
        produce(kafka.bootstrap, mini[cut:])
    finally:
        worker.stop()
