"""Intake: the input topics read, validated and re-keyed onto the internal topic.

:func:`check_event_time` is the check every input passes after schema validation, shared by
the worker and replay: a producer with a broken clock must not be able to fire every deadline
at once, so an event timed further ahead of the wall clock than the allowed skew is rejected
(dead-letter topic live, reported in replay). :class:`Intake` is the worker's loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from streams import metrics, topics
from streams.appeals import verified_appeal
from streams.commits import CommitMeter
from streams.core.control import APPLIED, REFUSED, ControlError, PolicyChange, audit_entry, parse_change
from streams.core.events import Appeal, ControlRecord, InputEvent, MiniProgramEvent
from streams.core.owners import OwnerBindings, OwnerMismatch
from streams.core.rejections import FUTURE_TIME, INTERNAL_ERROR, INVALID_CONTROL, LATE_CONTROL, OWNER_MISMATCH
from streams.core.timefmt import format_time
from streams.decode import DecodeError, DecodeLimits, decode_input
from streams.failstop import stop_now
from streams.lag import LagMeter
from streams.owners import OwnerLedger, binding_record, check_routing
from streams.publisher import dead_letter_headers
from streams.watermark import NEVER, InputProgress, mark_name
from streams.wire import Bundler

if TYPE_CHECKING:
    from streams.config import Config

Send = Callable[[str, int | None, bytes, bytes | None], Awaitable[Awaitable[Any]]]  # (topic, partition, value, key) -> ack future
DeadLetter = Callable[[Any, list[tuple[str, bytes]]], Awaitable[None]]
log = logging.getLogger("tradewatch")


def check_event_time(event: InputEvent, now: float, max_future_skew_s: float) -> None:
    if event.event_time > now + max_future_skew_s:
        raise DecodeError(
            FUTURE_TIME,
            f"event time {_readable(event.event_time)} is more than {max_future_skew_s:g}s ahead of the wall clock",
        )


def _readable(epoch_s: float) -> str:
    """RFC 3339 when it fits a datetime (a valid time can reach year 10000 in UTC)."""
    try:
        return format_time(epoch_s)
    except (ValueError, OverflowError):
        return f"{epoch_s:.0f} s after the epoch"


def intake_group(app_id: str) -> str:
    """The consumer group that holds the input topics' committed offsets (the Faust group
    named ``app_id`` holds only the internal topic's)."""
    return f"{app_id}-intake"


def batch_pause(records: int, batch_max: int, batch_wait_s: float, cycle_s: float) -> float:
    """How long to let the next batch fill before reading it.

    Every batch costs a record to *every* internal partition (the marks) and a commit, and each
    of those costs the deciding side a pass. Read as soon as anything arrives, a trickle makes a
    batch of every few records, and at a few hundred events per second those fixed costs, not
    the events, saturate the worker. So a batch that was not full starts its successor no
    sooner than ``batch_wait_s`` after it began; a full one (a backlog) does not wait."""
    if records >= batch_max:
        return 0.0
    return max(0.0, batch_wait_s - cycle_s)


class Intake:
    """Reads the input topics with a consumer whose offsets tradewatch owns, and re-keys them.

    One loop on the worker's event loop: read a batch, validate each message (a bad one is
    dead-lettered with headers saying why, or the worker stops), bundle the events per internal
    partition with the watermark marks (:mod:`streams.watermark`), send every record and wait
    until Kafka acknowledged all of them, and only then commit the batch's offsets. A send that
    fails stops the loop before anything past it is committed; a commit refused by a rebalance
    only means the new owner reads those inputs again (duplicates are ignored downstream).
    Kafka's consumer delivers each partition in offset order, compacted topics included.
    """

    def __init__(self, config: Config, send: Send, dead_letter: DeadLetter,
                 subject_topic: str, subject_partitions: Callable[[], int], owners: OwnerLedger) -> None:
        self.config = config
        self.send = send
        self.dead_letter = dead_letter
        self.subject_topic = subject_topic
        self.subject_partitions = subject_partitions
        self.limits = DecodeLimits(max_bytes=config.max_message_bytes, max_depth=config.max_json_depth)
        self.owners = owners
        self._new_bindings: list[tuple[int, bytes, bytes]] = []  # (partition, key, value) to persist
        self._app_partitions = 0  # partitions of miniprogram.events.v1 when first seen: fixed for good
        self.progress = InputProgress(config.allowed_lateness_s, config.idle_partition_s)
        self.lag = LagMeter(metrics.CONSUMER_LAG, metrics.COMMIT_STALLED)
        self.commits = CommitMeter("intake")
        self._marks_sent_at = -math.inf
        self._marks_sent: dict[str, float] = {}  # the marks last sent: what a deciding side may have passed
        self._audits: list[tuple[bytes, bytes]] = []  # (key, value) for tradewatch.audit.v1, sent first
        # per control record judged and not yet committed past: None (applied) or why refused
        self._judged: dict[tuple[str, int, int], DecodeError | None] = {}
        self._positions: dict[Any, int] = {}  # per input partition: the position last seen
        self._committed: dict[Any, int] = {}
        self.consumer: Any = None

    def group_id(self) -> str:
        return intake_group(self.config.app_id)

    def make_consumer(self) -> Any:
        config = self.config
        return AIOKafkaConsumer(
            bootstrap_servers=config.bootstrap_servers,
            group_id=self.group_id(),
            client_id=f"{config.app_id}-intake",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=config.batch_max,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=max(1024 * 1024, config.max_message_bytes + 64 * 1024),
            session_timeout_ms=int(config.session_timeout_s * 1000),
            heartbeat_interval_ms=int(max(1.0, config.session_timeout_s / 10) * 1000),
            **config.security.aiokafka_kwargs(),
        )

    async def run(self) -> None:
        self.consumer = consumer = self.make_consumer()
        consumer.subscribe(list(topics.INPUT_TOPICS), listener=_Rebalance(self))
        await consumer.start()
        try:
            wait_ms = max(1, int(self.config.watermark_interval_s * 1000))
            while True:
                began = time.monotonic()
                batch = await consumer.getmany(timeout_ms=wait_ms, max_records=self.config.batch_max)
                await self.handle(batch)
                await asyncio.sleep(batch_pause(sum(map(len, batch.values())), self.config.batch_max,
                                                self.config.batch_wait_s, time.monotonic() - began))
        finally:
            await consumer.stop()

    async def handle(self, batch: Mapping[Any, list[Any]]) -> None:
        """One batch: validate, bundle with the marks, send and await, then commit."""

        consumer = self.consumer
        now = time.time()
        bundler = Bundler(self.subject_partitions())
        offsets: dict[Any, int] = {}
        events = 0
        # before any input of a mini-program partition is read: the owners its earlier readers bound
        owners = await self.owners.bindings(tp.partition for tp, records in batch.items()
                                            if records and tp.topic == topics.MINI_PROGRAM_EVENTS)
        routing = _Routing(owners, self._mini_program_partitions())
        for tp, records in batch.items():
            if not records:
                continue
            metrics.LAST_EVENT_TIMESTAMP.labels(tp.topic).set(now)
            metrics.INPUTS_READ.labels(tp.topic).inc(len(records))
            for record in records:
                if await self._validate(record, bundler, routing, now):
                    events += 1
            offsets[tp] = records[-1].offset + 1
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            position = offsets.get(tp)
            if position is None:
                try:
                    position = await consumer.position(tp)
                except Exception:  # noqa: BLE001 - revoked meanwhile, or not fetched yet
                    continue
            self._positions[tp] = position
            self.progress.caught_up((tp.topic, tp.partition), highwater is not None and position >= highwater)
        marks = self.progress.marks(now)
        if not events and not offsets and now - self._marks_sent_at < self.config.watermark_interval_s:
            return
        counts = {topic: len(consumer.partitions_for_topic(topic) or ()) for topic in consumer.subscription()}
        counts = {topic: number for topic, number in counts.items() if number}
        audits, self._audits = self._audits, []
        if audits:  # in the control log before any deciding side can apply what it records
            await asyncio.gather(*[await self.send(topics.AUDIT, None, value, key) for key, value in audits])
        futures = [await self.send(self.subject_topic, partition, record, None)
                   for partition, record in bundler.drain(marks, counts)]
        bindings, self._new_bindings = self._new_bindings, []
        futures += [await self.send(self.owners.topic, partition, value, key) for partition, key, value in bindings]
        await asyncio.gather(*futures)  # acknowledged by Kafka before any offset is committed
        self._marks_sent_at = now
        self._marks_sent = marks
        if offsets:
            await self._commit(offsets)

    def _mini_program_partitions(self) -> int:
        """The partition count of miniprogram.events.v1, which the owner bindings are filed by.
        Growing it moves apps to partitions whose bindings do not know them: stop, and let the
        start-up check (streams/admin.py) refuse until the bindings are made to match."""
        count = len(self.consumer.partitions_for_topic(topics.MINI_PROGRAM_EVENTS) or ())
        if count and self._app_partitions and count != self._app_partitions:
            stop_now(f"{topics.MINI_PROGRAM_EVENTS} now has {count} partitions, not {self._app_partitions}: "
                     "its apps moved to partitions whose owner bindings do not know them")
        self._app_partitions = self._app_partitions or count
        return self._app_partitions  # metadata briefly missing: the count it had

    async def _validate(self, record: Any, bundler: Any, routing: _Routing, now: float) -> bool:
        config = self.config
        started = time.perf_counter()
        tp = (record.topic, record.partition)
        try:
            decoded = decode_input(record.topic, record.value, self.limits)
            check_event_time(decoded, now, config.max_future_skew_s)
            if type(decoded) is Appeal:  # counts only when a configured reviewer signed it
                decoded = verified_appeal(decoded, config.reviewers, record.topic, record.key, record.value,
                                          list(record.headers or ()))
            elif type(decoded) is MiniProgramEvent and routing.binds(record, decoded):
                key, value = binding_record(decoded.app_id, decoded.owner_account_id, now)
                self._new_bindings.append((record.partition, key, value))
            produced_at = record.timestamp / 1000 if record.timestamp is not None else None
            if type(decoded) is ControlRecord:
                self._control(record, decoded, now)
                bundler.broadcast(decoded, produced_at)
            else:
                bundler.add(decoded, produced_at)
        except _Redelivered:  # refused before, its dead letter and audit entry already written
            self.progress.touched(tp, now)
            return False
        except DecodeError as error:
            reason, detail = error.reason, error.message
        except OwnerMismatch as error:
            reason, detail = OWNER_MISMATCH, str(error)
        except Exception as error:  # a bug must not acknowledge-and-lose the message
            log.exception("intake failed on %s[%s]@%s", record.topic, record.partition, record.offset)
            reason, detail = INTERNAL_ERROR, type(error).__name__
        else:
            timestamp = record.timestamp
            self.progress.read(tp, decoded.event_time, now, timestamp / 1000 if timestamp and timestamp > 0 else None)
            metrics.EVENT_PROCESSING.labels("intake").observe(time.perf_counter() - started)
            return True
        self.progress.touched(tp, now)
        metrics.EVENTS_CONSUMED.labels(record.topic, "invalid").inc()
        metrics.INVALID_EVENTS.labels(record.topic, reason).inc()
        await self.dead_letter(record, dead_letter_headers(record, reason, detail))
        return False

    def _control(self, record: Any, control: ControlRecord, now: float) -> None:
        """Validate a control record and audit the verdict; a refused one raises DecodeError
        (dead-lettered). Applied, every deciding side gets it (broadcast) after its audit entry.

        A record this intake judged is read again when a rebalance refused the commit after it
        and the partition came back: it gets the same verdict, not a second judgment against
        the marks its first reading advanced (which would call every change late)."""
        where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
        seen = (record.topic, record.partition, record.offset)
        if seen in self._judged:
            if self._judged[seen] is not None:
                raise _Redelivered
            return  # applied: broadcast again; every deciding side knows its id
        passed = self._marks_sent.get(mark_name(record.topic, record.partition), NEVER)
        try:
            if control.effective_at <= passed:  # a deciding side may have decided events after it
                raise DecodeError(LATE_CONTROL, f"effective_at {_readable(control.effective_at)} is not after the "
                                                f"watermark already passed ({_readable(passed)})")
            try:
                change = parse_change(control, self.config.policy.mode)
            except ControlError as error:
                raise DecodeError(INVALID_CONTROL, str(error)) from None
        except DecodeError as error:
            log.error("control record %r refused (%s): %s", control.control_id[:128], error.reason, error.message)
            self._audit(control, REFUSED, f"{error.reason}: {error.message}", now, where)
            self._judged[seen] = error
            raise
        self._judged[seen] = None
        kind = "policy" if isinstance(change, PolicyChange) else "allowlist"
        log.info("control record %r (%s) applies from %s", control.control_id[:128], kind,
                 _readable(control.effective_at))
        self._audit(control, APPLIED, "", now, where)

    def _audit(self, control: ControlRecord, verdict: str, why: str, now: float, where: dict[str, Any]) -> None:
        entry = audit_entry(control, verdict, why, now, where)
        kind = entry["kind"] if entry["kind"] in ("policy", "allowlist") else "unknown"
        metrics.CONTROL_RECORDS.labels(kind, verdict).inc()
        self._audits.append((control.control_id.encode(), orjson.dumps(entry)))

    async def _commit(self, offsets: dict[Any, int]) -> None:
        try:
            await self.commits.measure(self.consumer.commit(offsets))
            self._committed.update(offsets)
            if self._judged:  # committed past: never read again by this group
                done = {(tp.topic, tp.partition): offset for tp, offset in offsets.items()}
                self._judged = {seen: verdict for seen, verdict in self._judged.items()
                                if seen[2] >= done.get(seen[:2], 0)}
        except (CommitFailedError, IllegalStateError, KafkaError) as error:
            log.warning("intake: commit of input offsets refused (%s); the partitions' new owner reads "
                        "them again", type(error).__name__)

    def partitions_view(self) -> list[dict[str, Any]]:
        """Per input partition read now: the position last seen, the log end, what this
        intake last committed. For the loopback debug view."""
        consumer = self.consumer
        if consumer is None:
            return []
        return [
            {"topic": tp.topic, "partition": tp.partition, "position": self._positions.get(tp),
             "highwater": consumer.highwater(tp), "committed": self._committed.get(tp)}
            for tp in sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        ]

    def owned(self) -> list[Any]:
        """The input partitions this intake reads now."""
        return [] if self.consumer is None else list(self.consumer.assignment())

    def measure_lag(self, committed: Mapping[tuple[str, int], int] | None = None) -> None:
        """Lag of the input partitions this intake reads: log end minus the group's committed
        offset as the broker holds it (``committed``), or else as this intake last committed."""
        consumer = self.consumer
        if consumer is None:
            return
        now = time.monotonic()
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            done = committed.get((tp.topic, tp.partition)) if committed is not None else None
            if done is None:
                done = self._committed.get(tp, self._positions.get(tp))
            if highwater is None or done is None:
                continue
            self.lag.observe(tp.topic, tp.partition, highwater, done, now)
        self.lag.end_round()


class _Routing:
    """One batch's view of the mini-program owners: the bindings of each partition it read."""

    def __init__(self, owners: Mapping[int, OwnerBindings], partitions: int) -> None:
        self.owners = owners
        self.partitions = partitions

    def binds(self, record: Any, event: MiniProgramEvent) -> bool:
        """Check an event against its partition's bindings; True when it binds its app."""
        check_routing(record.key, record.partition, event.app_id, self.partitions)
        return self.owners[record.partition].check(event.app_id, event.owner_account_id)


class _Redelivered(Exception):
    """A control record refused before, read again: nothing more to write for it."""


class _Rebalance(ConsumerRebalanceListener):
    """Intake's rebalance listener: the watermark forgets partitions another intake now owns."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def on_partitions_revoked(self, revoked: Any) -> None:
        intake = self.intake
        intake.progress.revoke((tp.topic, tp.partition) for tp in revoked)
        intake.owners.revoke(tp.partition for tp in revoked if tp.topic == topics.MINI_PROGRAM_EVENTS)
        for tp in revoked:
            intake._committed.pop(tp, None)  # noqa: SLF001 - the listener is part of Intake
            intake._positions.pop(tp, None)  # noqa: SLF001

    async def on_partitions_assigned(self, assigned: Any) -> None:
        metrics.REBALANCES.labels("intake").inc()
        self.intake.progress.assign(((tp.topic, tp.partition) for tp in assigned), time.time())
