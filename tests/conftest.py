"""Session fixtures: a real local Apache Kafka per test that needs one (started in seconds);
and the soak-only schedules, which run under ``scripts/soak`` only."""

from __future__ import annotations

import os

import pytest

from streams.localkafka import LocalKafka

SOAK_ENV = "TRADEWATCH_SOAK"  # set by scripts/soak


def pytest_collection_modifyitems(config, items):
    """A ``soak_only`` schedule is known to fail now and then (its marker says why and how often):
    one run proves nothing either way, so it is measured by ``scripts/soak``, many runs at a
    time, and shown as skipped (with the reason) everywhere else."""
    if os.environ.get(SOAK_ENV) == "1":
        return
    for item in items:
        marker = item.get_closest_marker("soak_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"soak only (scripts/soak): {marker.args[0]}"))



@pytest.fixture
def kafka(tmp_path):
    """A fresh single-node KRaft broker on 127.0.0.1, stopped after the test.

    One per test: the topic names are a contract, so tests cannot isolate themselves by
    prefix; a fresh broker costs ~3 s and makes every test independent.
    """
    broker = LocalKafka(tmp_path / "kafka")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
