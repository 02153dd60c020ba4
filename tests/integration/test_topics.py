"""``tradewatch topics`` against a real broker: refused creations and mismatched topics fail, naming why."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.topics import POSTS, QUALIFICATIONS, TOPIC_SPECS

pytestmark = [pytest.mark.kafka]
ROOT = Path(__file__).resolve().parents[2]


def topics(bootstrap: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TRADEWATCH_BROKER": bootstrap, "TRADEWATCH_PARTITIONS": "4", **env}
    return subprocess.run([sys.executable, "-m", "streams.cli", "topics", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


def existing(bootstrap: str) -> set[str]:
    async def names() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            return {name for name in await admin.list_topics() if not name.startswith("__")}
        finally:
            await admin.close()
    return asyncio.run(names())


def test_a_refused_creation_is_a_failure_naming_the_reason_not_created(kafka):
    done = topics(kafka.bootstrap, TRADEWATCH_REPLICATION="3")  # one broker
    assert done.returncode == 1
    assert "created 0 topic(s)" in done.stdout
    assert "InvalidReplicationFactor" in done.stderr and POSTS in done.stderr
    assert existing(kafka.bootstrap) == set()


def test_existing_topics_with_other_partitions_or_cleanup_policy_are_named(kafka):
    async def make_wrong() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([
                NewTopic(POSTS, num_partitions=1, replication_factor=1, topic_configs={"cleanup.policy": "compact"}),
                NewTopic(QUALIFICATIONS, num_partitions=4, replication_factor=1, topic_configs={"cleanup.policy": "delete"}),
            ])
        finally:
            await admin.close()

    asyncio.run(make_wrong())
    done = topics(kafka.bootstrap)
    assert done.returncode == 1
    problems = done.stderr.strip().splitlines()
    assert f"tradewatch topics: {POSTS}: 1 partitions, TRADEWATCH_PARTITIONS=4" in problems
    assert f"tradewatch topics: {POSTS}: cleanup.policy=compact, wanted delete" in problems
    assert f"tradewatch topics: {QUALIFICATIONS}: cleanup.policy=delete, wanted compact" in problems
    assert len(problems) == 3  # the topics it created itself are right


def test_a_dry_run_creates_nothing_and_a_right_setup_passes_twice(kafka):
    dry = topics(kafka.bootstrap, "--dry-run")
    assert dry.returncode == 0 and f"would create {len(TOPIC_SPECS)} topic(s)" in dry.stdout
    assert existing(kafka.bootstrap) == set()
    first, second = topics(kafka.bootstrap), topics(kafka.bootstrap)
    assert first.returncode == 0 and f"created {len(TOPIC_SPECS)} topic(s)" in first.stdout
    assert second.returncode == 0 and "created 0 topic(s)" in second.stdout and not second.stderr.strip()
