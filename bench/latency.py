"""Event-to-output latency under a fixed offered load, for any contender.

Traffic (:mod:`bench.traffic`) is sent at a constant rate, each message timed when it is sent
(``live``: its event time is the send time). A contender's outputs are read back from the
topics it writes and matched to the send that caused them; a latency is the arrival time at
this consumer minus that send time.

* tradewatch: an action is matched through its ``account_id`` and ``event_time`` (the subject
  clock when decided = the triggering input's event time, unique per latency probe);
* the bare Faust pass-through: the forwarded message *is* the input, matched by its bytes.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.kafkaio import Message, topic_partitions
from bench.traffic import ProbeEvent, live
from streams import topics
from streams.core.timefmt import parse_time

SentKey = Callable[[ProbeEvent, Message, float], Hashable | None]  # (event, live message, sent at)
Settled = Callable[[int], Awaitable[bool]]  # outputs arrived so far -> has the contender finished?


@dataclass
class LatencyResult:
    offered_eps: float
    sent: int
    send_seconds: float
    latencies_s: list[float] = field(default_factory=list)  # in send order
    unmatched_actions: int = 0
    complete: bool = False  # every input handled and every output arrived before the timeout

    def trend(self) -> tuple[float | None, float | None]:
        """Median latency of the first and of the last third of the sends: a rising trend means
        the contender fell behind the offered rate (a backlog), not a slow path per event."""
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
    """tradewatch: send ``events`` at ``rate_eps``, then wait (bounded) until the worker
    consumed them all and every action it reports having sent has arrived;
    ``consumed``/``actions_sent`` read the worker's metrics (totals since it started)."""
    consumed_before, actions_before = await consumed(), await actions_sent()

    def probe_key(event: ProbeEvent, message: Message, now: float) -> Hashable | None:  # noqa: ARG001
        return (event.account, round(now, 3)) if event.account else None

    def action_key(value: bytes) -> Hashable:
        action = orjson.loads(value)
        return (action.get("account_id"), round(parse_time(action["event_time"]), 3))

    async def settled(arrived: int) -> bool:
        return (await consumed() >= consumed_before + len(events)
                and arrived >= await actions_sent() - actions_before)

    # both: at a high rate the circuit breaker may trip and divert actions to the shadow topic
    return await offer_to(bootstrap, events, rate_eps, (topics.ACTIONS, topics.SHADOW),
                          probe_key, action_key, settled, drain_timeout_s)


async def offer_passthrough(bootstrap: str, events: list[ProbeEvent], rate_eps: float, out_topic: str,
                            drain_timeout_s: float) -> LatencyResult:
    """The bare Faust pass-through: every input comes back unchanged on ``out_topic``."""

    def sent_key(event: ProbeEvent, message: Message, now: float) -> Hashable:  # noqa: ARG001
        return message.value

    async def settled(arrived: int) -> bool:
        return arrived >= len(events)

    return await offer_to(bootstrap, events, rate_eps, (out_topic,), sent_key, bytes, settled, drain_timeout_s)


async def offer_to(
    bootstrap: str,
    events: list[ProbeEvent],
    rate_eps: float,
    read_topics: tuple[str, ...],
    sent_key: SentKey,
    arrival_key: Callable[[bytes], Hashable],
    settled: Settled,
    drain_timeout_s: float,
) -> LatencyResult:
    """Send at a constant rate, read ``read_topics`` from their end, match, until ``settled``."""
    # The bench holds hundreds of thousands of simulated records; a full collection over them
    # paused this process for up to 0.6 s, late sends and late arrival stamps that were then
    # reported as the contender's latency. The phase is bounded, so collect once and pause the GC.
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
        tps = await topic_partitions(bootstrap, read_topics)
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)  # resolve now: only outputs caused by this phase count

        async def collect() -> None:
            while not stop.is_set():
                batch = await consumer.getmany(*tps, timeout_ms=50)
                now = time.time()
                for records in batch.values():
                    arrivals.extend((now, record.value) for record in records)

        collector = asyncio.create_task(collect())
        sent_at: dict[Hashable, float] = {}
        pending = []
        started = time.time()
        for index, event in enumerate(events):
            due = started + index / rate_eps
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time()
            message = live(event.message, now)
            key = sent_key(event, message, now)
            if key is not None:
                sent_at[key] = now
            pending.append(await producer.send(message.topic, message.value, key=message.key))
        await asyncio.gather(*pending)
        send_seconds = time.time() - started

        deadline = time.monotonic() + drain_timeout_s
        while time.monotonic() < deadline and not await settled(len(arrivals)):
            await asyncio.sleep(0.1)
        complete = await settled(len(arrivals))
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
        key = arrival_key(value)
        if key in sent_at:
            matched.append((sent_at[key], arrived - sent_at[key]))
        else:
            result.unmatched_actions += 1
    result.latencies_s = [latency for _, latency in sorted(matched)]
    return result
