"""A starting worker waits for Kafka and its topics with backoff, then fails with one line."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from streams import worker
from streams.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    """Time that passes only while the worker sleeps between tries."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_a_broker_that_comes_up_late_is_waited_for_with_growing_pauses(monkeypatch):
    answers = iter(["cannot reach Kafka", "topics missing on x: posts.v1", None])

    async def prepare(config):
        return next(answers)

    monkeypatch.setattr(worker, "_prepare", prepare)
    clock = FakeClock()
    worker.prepare_broker(load_config(TRADEWATCH_CONNECT_TIMEOUT_SECONDS="60"), sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [1.0, 2.0]


def test_a_refused_connection_gives_up_after_the_connect_timeout_naming_the_broker():
    clock = FakeClock()
    config = load_config(TRADEWATCH_BROKER="127.0.0.1:1", TRADEWATCH_CONNECT_TIMEOUT_SECONDS="10")
    with pytest.raises(ConfigError) as error:
        worker.prepare_broker(config, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [1.0, 2.0, 4.0]  # the next pause (8 s) would end after the timeout
    message = str(error.value)
    assert "TRADEWATCH_BROKER=127.0.0.1:1" in message and "gave up after 4 tries" in message
    assert "\n" not in message


@pytest.fixture
def silent_broker():
    """A port that accepts connections and never answers (a hung broker, a wrong proxy)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_broker_that_never_answers_fails_each_try_instead_of_hanging(monkeypatch, silent_broker):
    monkeypatch.setattr(worker, "ATTEMPT_TIMEOUT_S", 0.5)
    clock = FakeClock()
    config = load_config(TRADEWATCH_BROKER=silent_broker, TRADEWATCH_CONNECT_TIMEOUT_SECONDS="2")
    with pytest.raises(ConfigError) as error:
        worker.prepare_broker(config, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [1.0]
    assert f"TRADEWATCH_BROKER={silent_broker}: cannot reach Kafka" in str(error.value)


def test_the_worker_command_logs_each_try_and_ends_with_one_line_no_traceback():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TRADEWATCH_CONNECT_TIMEOUT_SECONDS": "1.5",
           "TRADEWATCH_EVENT_LOOP": "asyncio"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker", "--broker", "127.0.0.1:1"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert sum("connecting to Kafka at 127.0.0.1:1" in line for line in lines) == 2, done.stderr
    assert "trying again in 1 s" in done.stderr
    assert "127.0.0.1:1" in lines[-1] and "gave up after 2 tries" in lines[-1]
