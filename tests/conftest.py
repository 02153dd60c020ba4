"""Session fixtures: a real local Apache Kafka per test that needs one (started in seconds)."""

from __future__ import annotations

import pytest

from streams.localkafka import LocalKafka


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
