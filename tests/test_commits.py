"""Commit latency and failures of both consumer groups."""

from __future__ import annotations

import asyncio

import pytest

from streams import metrics
from streams.commits import CommitMeter, meter_faust_commits


def sample(name: str, group: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, {"group": group}) or 0.0


class FaustLikeConsumer:
    """What meter_faust_commits relies on: ``_commit(offsets) -> bool`` (False: refused)."""

    def __init__(self, answers: list[bool | Exception]) -> None:
        self.answers = answers
        self.calls: list[dict] = []

    async def _commit(self, offsets):
        self.calls.append(dict(offsets))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_every_faust_commit_is_timed_and_refused_or_raising_ones_count_as_failures():
    group = "test-faust"
    consumer = FaustLikeConsumer([True, False, RuntimeError("broker gone")])
    meter_faust_commits(consumer, CommitMeter(group))
    before_count, before_failed = sample("tradewatch_commit_seconds_count", group), sample("tradewatch_commit_failures_total", group)

    async def commits() -> list:
        done = [await consumer._commit({"tp": 5}), await consumer._commit({"tp": 6})]
        with pytest.raises(RuntimeError):
            await consumer._commit({"tp": 7})
        return done

    assert asyncio.run(commits()) == [True, False]  # Faust still sees what its commit said
    assert consumer.calls == [{"tp": 5}, {"tp": 6}, {"tp": 7}]
    assert sample("tradewatch_commit_seconds_count", group) - before_count == 3
    assert sample("tradewatch_commit_failures_total", group) - before_failed == 2


def test_a_commit_meter_times_what_it_awaits():
    group = "test-time"
    meter = CommitMeter(group)

    async def slow_commit() -> str:
        await asyncio.sleep(0.05)
        return "done"

    assert asyncio.run(meter.measure(slow_commit())) == "done"
    assert sample("tradewatch_commit_seconds_sum", group) >= 0.05
    assert sample("tradewatch_commit_failures_total", group) == 0
