"""Driving real tradewatch workers on the real local Kafka: start, produce, read, wait.

Every wait polls a condition with a deadline; nothing sleeps in place of synchronisation.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class WorkerProcess:
    bootstrap: str
    app_id: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    create_topics: bool = True  # False: an admin created them (a worker without the right to)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self) -> WorkerProcess:
        env = self.environment()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.create_topics:
            topics = subprocess.run([sys.executable, "-m", "streams.cli", "topics"], cwd=REPO, env=env,
                                    capture_output=True, text=True, timeout=120)
            # 1: a topic differs from what `topics` would create — here one that a test's producer
            # auto-created with the broker's default partition count before any worker started
            assert topics.returncode in (0, 1), topics.stderr[-2000:]
        self.log_path = self.workdir / f"worker-{self.port}.log"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "TRADEWATCH_BROKER": self.bootstrap,
                "TRADEWATCH_APP_ID": self.app_id,
                "TRADEWATCH_PARTITIONS": "4",
                "TRADEWATCH_METRICS_ADDR": f"127.0.0.1:{self.port}",
                "TRADEWATCH_DATA_DIR": str(self.workdir / f"data-{self.port}"),
                "TRADEWATCH_IDLE_PARTITION_SECONDS": "2",
                "TRADEWATCH_LAG_INTERVAL_SECONDS": "2",
                "TRADEWATCH_SESSION_TIMEOUT_SECONDS": "6",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            return 0, b""

    def wait_ready(self, timeout: float = 90.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            return self.get("/readyz")[0] == 200

        try:
            wait_for(ready, timeout, "worker readiness")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tail()}") from None

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        status, body = self.get("/metrics")
        if status != 200:
            return 0.0
        total = 0.0
        for line in body.decode().splitlines():
            if not line.startswith(name):
                continue
            series, _, value = line.rpartition(" ")
            metric_name, _, label_text = series.partition("{")
            if metric_name != name:
                continue
            if all(f'{key}="{val}"' in label_text for key, val in labels.items()):
                total += float(value)
        return total

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def _value_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return orjson.dumps(value)


async def _produce(bootstrap: str, records: Iterable[dict[str, Any]], max_request_size: int) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all", max_request_size=max_request_size)
    await producer.start()
    count = 0
    try:
        batch = []
        for record in records:
            key = record.get("key")
            batch.append(
                await producer.send(
                    record["topic"],
                    _value_bytes(record["value"]),
                    key=key.encode() if isinstance(key, str) else key,
                    partition=record.get("partition"),  # None: the default partitioner's
                    headers=record.get("headers"),
                )
            )
            count += 1
            if len(batch) >= 500:
                await asyncio.gather(*batch)
                batch.clear()
        await asyncio.gather(*batch)
    finally:
        await producer.stop()
    return count


def produce(bootstrap: str, records: Iterable[dict[str, Any]], max_request_size: int = 1048576) -> int:
    return asyncio.run(_produce(bootstrap, records, max_request_size))


async def _read_all(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = await consumer._client.fetch_all_metadata()
        parts = partitions.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        messages = []
        async def behind() -> bool:
            for tp in tps:
                if await consumer.position(tp) < end[tp]:
                    return True
            return False

        while await behind():
            batch = await consumer.getmany(*tps, timeout_ms=1000)
            for records in batch.values():
                messages.extend(records)
        return messages
    finally:
        await consumer.stop()


def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every message currently in ``topic`` (aiokafka ConsumerRecords)."""
    return asyncio.run(_read_all(bootstrap, topic))


def read_actions(bootstrap: str, topic: str = "enforcement.actions.v1") -> list[dict[str, Any]]:
    return [orjson.loads(message.value) for message in read_all(bootstrap, topic)]
