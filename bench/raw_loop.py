"""Contender (a): the floor of Python overhead — aiokafka consume, orjson decode, a stub, produce.

One process, its own consumer group, at-least-once like tradewatch: outstanding sends are
acknowledged before the offsets are committed, every 1000 messages or every second.

Run as ``python -m bench.raw_loop --bootstrap HOST:PORT --group G --out TOPIC TOPIC...``;
it stops on SIGTERM or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.config import load_config
from streams.worker import use_event_loop

COMMIT_EVERY = 1000
COMMIT_INTERVAL_S = 1.0


def score_stub(value: Any) -> float:
    """Stands in for the detection core: touches the payload, costs next to nothing."""
    return 1.0 if isinstance(value, dict) and "event_id" in value else 0.0


async def run(bootstrap: str, group: str, topics: list[str], out_topic: str, max_seconds: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    await consumer.start()
    await producer.start()
    processed = 0
    try:
        deadline = time.monotonic() + max_seconds
        pending: list[asyncio.Future] = []
        since_commit, last_commit = 0, time.monotonic()
        while not stop.is_set() and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=COMMIT_EVERY)
            for records in batches.values():
                for record in records:
                    score_stub(orjson.loads(record.value))
                    pending.append(await producer.send(out_topic, record.value, key=record.key))
                    since_commit += 1
            if since_commit and (since_commit >= COMMIT_EVERY or time.monotonic() - last_commit >= COMMIT_INTERVAL_S):
                await asyncio.gather(*pending)
                pending.clear()
                await consumer.commit()
                processed += since_commit
                since_commit, last_commit = 0, time.monotonic()
    finally:
        await producer.stop()
        await consumer.stop()
    return processed


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.raw_loop")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("topics", nargs="+")
    args = parser.parse_args()
    use_event_loop(load_config())  # the event loop tradewatch workers use (TRADEWATCH_EVENT_LOOP)
    asyncio.run(run(args.bootstrap, args.group, args.topics, args.out, args.max_seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
