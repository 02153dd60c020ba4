"""Event-to-action latency under a fixed offered load.

The probe traffic (see :func:`bench.traffic.probe_events`) is sent at a constant rate; the
wall time of every send is kept by (account, event time). Each action read back from
enforcement.actions.v1 is matched to the send that triggered it through its ``account_id``
and ``event_time`` (the subject clock when decided = the triggering input's event time),
and its latency is the arrival time at this consumer minus that send time.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.kafkaio import topic_partitions
from bench.traffic import ProbeEvent, live
from streams import topics
from streams.core.timefmt import parse_time


@dataclass
class LatencyResult:
    offered_eps: float
    sent: int
    send_seconds: float
    latencies_s: list[float] = field(default_factory=list)  # in send order
    unmatched_actions: int = 0
    complete: bool = False  # every input consumed and every action the worker sent arrived in time

    def trend(self) -> tuple[float | None, float | None]:
        """Median latency of the first and of the last third of the sends: a rising trend means
        the worker fell behind the offered rate (a backlog), not a slow path per event."""
        third = len(self.latencies_s) // 3
        if third == 0:
            return None, None
        first, last = sorted(self.latencies_s[:third]), sorted(self.latencies_s[-third:])
        return first[len(first) // 2], last[len(last) // 2]

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile of the matched latencies."""
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        rank = max(0, min(len(ordered) - 1, int(round(q * len(ordered) + 0.5)) - 1))
        return ordered[rank]


async def offer(
    bootstrap: str,
    events: list[ProbeEvent],
    rate_eps: float,
    consumed: Callable[[], Awaitable[float]],
    actions_sent: Callable[[], Awaitable[float]],
    drain_timeout_s: float,
) -> LatencyResult:
    """Send ``events`` at ``rate_eps``, then wait (bounded) until the worker consumed them all
    and every action it reports having sent has arrived; ``consumed``/``actions_sent`` read
    the worker's metrics (totals since it started, including earlier traffic)."""
    consumed_before, actions_before = await consumed(), await actions_sent()
    # The bench holds hundreds of thousands of simulated records; a full collection over them
    # paused this process for up to 0.6 s, late sends and late arrival stamps that were then
    # reported as the worker's latency. The phase is bounded, so collect once and pause the GC.
    gc.collect()
    gc.freeze()
    gc.disable()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    await producer.start()
    arrivals: list[tuple[float, bytes]] = []
    stop = asyncio.Event()
    try:
        # both: at this rate the circuit breaker may trip and divert actions to the shadow topic
        tps = await topic_partitions(bootstrap, [topics.ACTIONS, topics.SHADOW])
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolve now: only actions caused by this phase count

        async def collect() -> None:
            while not stop.is_set():
                batch = await consumer.getmany(*tps, timeout_ms=50)
                now = time.time()
                for records in batch.values():
                    arrivals.extend((now, record.value) for record in records)

        collector = asyncio.create_task(collect())
        sent_at: dict[tuple[str, int], float] = {}
        pending = []
        started = time.time()
        for index, event in enumerate(events):
            due = started + index / rate_eps
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time()
            message = live(event.message, now)
            if event.account:
                sent_at[(event.account, round(now, 3))] = now
            pending.append(await producer.send(message.topic, message.value, key=message.key))
        await asyncio.gather(*pending)
        send_seconds = time.time() - started

        async def all_consumed() -> bool:
            return await consumed() >= consumed_before + len(events)

        async def all_arrived() -> bool:
            return len(arrivals) >= await actions_sent() - actions_before

        deadline = time.monotonic() + drain_timeout_s
        while time.monotonic() < deadline and not await all_consumed():
            await asyncio.sleep(0.1)
        while time.monotonic() < deadline and not await all_arrived():
            await asyncio.sleep(0.1)
        complete = await all_consumed() and await all_arrived()
        stop.set()
        await collector
    finally:
        stop.set()
        await producer.stop()
        await consumer.stop()
        gc.enable()
        gc.unfreeze()

    result = LatencyResult(offered_eps=rate_eps, sent=len(events), send_seconds=send_seconds, complete=complete)
    matched: list[tuple[float, float]] = []
    for arrived, value in arrivals:
        action = orjson.loads(value)
        key = (action.get("account_id"), round(parse_time(action["event_time"]), 3))
        if key in sent_at:
            matched.append((sent_at[key], arrived - sent_at[key]))
        else:
            result.unmatched_actions += 1
    result.latencies_s = [latency for _, latency in sorted(matched)]
    return result
