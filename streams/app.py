"""The Faust application: topics, the subject-state table and the agents.

Two agents, read top to bottom:

* ``intake`` reads the four input topics in batches, validates each message (bad ones go to
  the dead-letter topic with headers saying why) and forwards the decoded events to the
  internal ``subject-inputs`` topic in the partition of their subject account — the
  re-keying that puts everything about one account into one partition — one bundle per
  partition per batch (:mod:`streams.wire`).
* ``decide`` reads ``subject-inputs`` in offset order (:mod:`streams.ordering`), runs the
  detection core over a bundle with each account's state from the ``subject-state`` table,
  publishes the actions and waits for Kafka to acknowledge them, then stores each touched
  account's new state once.

Batching is where the speed is (bench/PROFILE.md): Faust's cost is per message, so the
re-keying hop and the table's changelog are paid per bundle and per account, not per input.

Following the Faust pitfalls in docs/design.md: ``concurrency=1`` everywhere, at-least-once delivery
with deterministic action ids, every per-message failure caught and routed, no windowed
tables (the core keeps its own event-time buckets), and Faust's web server disabled (our own
server in :mod:`streams.web` exposes only /metrics and health).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TP, TableT

from streams import faustcompat, logfilter, metrics, topics
from streams.admin import CommittedOffsets, partition_count
from streams.breakerboard import BreakerBoard
from streams.commits import CommitMeter, meter_faust_commits
from streams.config import Config
from streams.controllog import ControlLog
from streams.core.cases import CASE_STATES
from streams.core.control import ControlError, ControlTimeline, parse_change
from streams.core.engine import Detector
from streams.core.events import ControlRecord, Tick
from streams.core.rejections import INTERNAL_ERROR
from streams.core.state import SubjectState
from streams.deadlines import PendingDeadlines
from streams.decided import Unstored
from streams.decode import DecodeError
from streams.failstop import stop_now
from streams.intake import Intake, intake_group
from streams.lag import LagMeter
from streams.lanes import Lanes, event_time
from streams.ordering import OffsetOrder, SkippedHeadWatch
from streams.owners import OwnerLedger
from streams.publisher import ActionPublisher, DeadLetterLost, dead_letter_headers
from streams.readers import manual_reader
from streams.readoffsets import RewindableReadOffsets
from streams.release import Releaser
from streams.wire import decode_record, encode_event

log = logging.getLogger("tradewatch")
logfilter.install(log)  # ids in log lines come from producers: a newline must not forge a line
START_LOOKUP_TIMEOUT_S = 10.0  # asking the broker for a partition's committed offset
LAG_LOOKUP_TIMEOUT_S = 5.0  # asking the broker for the committed offsets lag is measured against
ORDER_MAX_WAIT_S = 2.0  # a reordering after a rebalance resolves in milliseconds; then re-fetch
HEAD_CHECK_INTERVAL_S = 2.0
HEAD_MAX_WAIT_S = 10.0  # a commit stuck this long behind an undelivered offset: re-fetch it
STORE_INTERVAL_S = 5.0  # under a backlog, decided states are written to the table this often
STORE_MAX_ACCOUNTS = 20_000  # ... or as soon as this many accounts wait
STORE_SPREAD_S = 4.0  # ... each batch written evenly over this long: no burst, done before the next
STORE_CHUNK = 50  # at most this many states written between two messages
STORE_IDLE_S = 0.5  # ... and all of them once no message came for this long


@dataclass
class Tradewatch:
    """The pieces of a running worker, for the CLI, the web server and tests."""

    app: faust.App
    config: Config
    detector: Detector
    publisher: ActionPublisher
    table: TableT
    intake: Intake | None = None
    board: BreakerBoard | None = None


def faust_settings(config: Config) -> dict:
    """The Faust settings of a worker (the benchmark's bare Faust agent uses them too)."""
    return dict(
        broker=config.faust_broker,
        store=config.store,
        datadir=str(config.data_dir),
        topic_partitions=config.partitions,
        topic_replication_factor=config.replication,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=0,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # dead letters carry the original bytes: as large as the broker accepted on input
        producer_max_request_size=64 * 1024 * 1024,
        broker_session_timeout=config.session_timeout_s,
        broker_heartbeat_interval=max(1.0, config.session_timeout_s / 10),
        **config.security.faust_settings(),
    )


async def run_or_stop(what: str, loop: Awaitable[None]) -> None:
    """Run one of the worker's loops; if it fails (a failed send, a lost connection), stop the
    process at once, before anything past the failure is committed."""
    try:
        await loop
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - any failure stops the worker, its traceback logged
        stop_now(f"{what} failed", exc_info=True)


def create_app(config: Config) -> Tradewatch:
    policy = config.policy
    app = faustcompat.WatermarkApp(config.app_id, **faust_settings(config))
    faustcompat.SubjectStateCodec.max_future_skew_s = config.max_future_skew_s
    raw: dict[str, Any] = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    subject_inputs = app.topic(
        f"{config.app_id}-{topics.SUBJECT_INPUTS}", internal=True, partitions=config.partitions, **raw
    )
    table = app.Table(
        topics.SUBJECT_STATE_TABLE,
        default=None,
        partitions=config.partitions,
        key_type=bytes,
        value_type=faustcompat.SubjectStateValue,
    )
    timeline = ControlTimeline(policy)  # the policy in force per account and event time (control records)
    detector = timeline.base_detector
    publisher = ActionPublisher(app, policy, log, signing=config.signing,
                                who=f"{socket.gethostname()}:{os.getpid()}")
    board = BreakerBoard(lambda: manual_reader(config, "breaker"), lambda: partition_count(config, topics.BREAKER),
                         publisher.send_record, publisher.apply)
    publisher.board = board
    releaser = Releaser(config, publisher.breaker, lambda: board.changes, publisher.release)
    tw = Tradewatch(app=app, config=config, detector=detector, publisher=publisher, table=table, board=board)
    deadlines = PendingDeadlines(timeline.forget_at)
    lanes = Lanes()
    policy_info = [timeline.in_force(0.0)]
    metrics.POLICY_INFO.info(policy_info[0])

    def apply_control(record: ControlRecord) -> None:
        """Put a control record intake applied in force here (once per control id)."""
        if timeline.knows(record.control_id):
            return
        try:
            change = parse_change(record, policy.mode)
        except ControlError as error:  # intake validated it: only a forged or corrupt record
            log.error("control record %r not applied: %s", record.control_id[:128], error)
            return
        timeline.add(change)
        log.info("control record %r in force from %s", record.control_id[:128], record.effective_at)

    control_log = ControlLog(lambda: manual_reader(config, "control"), lambda: partition_count(config, topics.AUDIT),
                             apply_control)
    internal_lag = LagMeter(metrics.CONSUMER_LAG, metrics.COMMIT_STALLED)

    subject_topic = subject_inputs.get_topic_name()
    order: OffsetOrder = OffsetOrder(max_wait_s=ORDER_MAX_WAIT_S)
    head_watch = SkippedHeadWatch(max_wait_s=HEAD_MAX_WAIT_S)
    # the internal topic has no compaction or transaction markers: a jump is a reordering
    # (faust#221), never a gap Faust may commit past; give_up_offsets is Faust's own recorder
    give_up_offsets = faustcompat.keep_gaps_off(app.consumer, subject_topic)
    faust_consumer: Any = app.consumer
    read_offsets = faustcompat.replace_read_offsets(faust_consumer, RewindableReadOffsets)

    async def earliest(tp) -> int | None:
        found = await app.consumer.earliest_offsets(TP(tp.topic, tp.partition))
        return next(iter(found.values()), None)

    starts = CommittedOffsets(config, config.app_id, earliest)
    intake_offsets = CommittedOffsets(config, intake_group(config.app_id))
    meter_faust_commits(app.consumer, CommitMeter("decide"))

    def subject_partitions() -> int:
        return app.consumer.topic_partitions(subject_topic) or config.partitions

    async def send_internal(topic: str, partition: int | None, value: bytes, key: bytes | None):
        return await app.producer.send(topic, key, value, partition, None, None)

    owners = OwnerLedger(config.app_id, lambda: manual_reader(config, "owners"))
    intake = Intake(config, send_internal, lambda message, headers: dead_letter_or_stop(message, headers),
                    subject_topic, subject_partitions, owners)
    tw.intake = intake

    @app.task
    async def read_inputs() -> None:
        """Intake: read, validate and re-key the input topics (streams/intake.py)."""
        await run_or_stop("intake", intake.run())

    @app.task
    async def follow_breaker() -> None:
        """The group's circuit-breaker trips (streams/breakerboard.py)."""
        await run_or_stop("the circuit-breaker record", board.run())

    @app.task
    async def release_held() -> None:
        """Held suspensions, released or discarded once their trip is closed (streams/release.py)."""
        await run_or_stop("releasing held actions", releaser.run())

    unstored = Unstored(STORE_INTERVAL_S, STORE_MAX_ACCOUNTS, time.monotonic(), STORE_SPREAD_S)
    decide_lock = asyncio.Lock()  # deciding and storing never interleave
    decide_stream: list = []  # the agent's manual-ack stream, for acknowledging from the store timer
    last_decided = [time.monotonic()]
    synced_generation: list[int | None] = [None]  # the assignment the control log was last read for

    @app.agent(subject_inputs, concurrency=1)
    async def decide(stream):
        """Decide each internal partition in offset order, one message (a bundle) at a time."""
        manual = stream.noack()  # acknowledged only once decided and stored: see streams/decided.py
        decide_stream[:] = [manual]
        # a plain task, not a Faust timer: Faust stops its timers before it waits, at shutdown,
        # for every delivered message to be acknowledged, and only this task acknowledges then
        housekeeping = asyncio.ensure_future(keep_house())
        try:
            await decide_in_order(manual)
        finally:
            housekeeping.cancel()

    async def decide_in_order(manual) -> None:
        async for event in manual.events():
            message = event.message
            if message.generation_id != app.consumer_generation_id:
                # fetched before a rebalance that reset the order: delivered again from the
                # committed offset; admitted now it would mark the earlier offsets as done
                continue
            start = None
            if not order.started(message.partition):
                if synced_generation[0] != message.generation_id:
                    # once per assignment: the changes already behind its partitions' committed offsets
                    await sync_controls()
                    synced_generation[0] = message.generation_id
                start = await start_of(message.partition)
                if message.generation_id != app.consumer_generation_id:
                    continue
            admission = order.admit(message.partition, message.offset, event, time.monotonic(), _constant(start))
            if admission.held:
                metrics.OUT_OF_ORDER.labels(message.topic).inc()
                log.warning("out-of-order delivery on %s[%s]: offset %s held until the earlier ones arrive",
                            message.topic, message.partition, message.offset)
                continue
            if admission.stale:
                # decided earlier in this assignment, maybe not stored yet: acknowledged with the
                # next stored batch, never before the states of its first delivery
                unstored.decided(event)
                continue
            async with decide_lock:
                if message.generation_id != app.consumer_generation_id:
                    continue  # a rebalance came while waiting: the order was reset, it comes again
                decided = 0
                for ready in admission.ready:
                    decided += await decide_message(ready)
                await store(limit=STORE_CHUNK)  # once due, a few between messages
                if decided:  # a record of marks only does not keep the idle store waiting
                    last_decided[0] = time.monotonic()

    async def sync_controls() -> None:
        """Read the control log to its end (streams/controllog.py), retrying while the broker is away."""
        while True:
            try:
                await asyncio.wait_for(control_log.sync(), 3 * START_LOOKUP_TIMEOUT_S)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the broker is away: ask again
                log.warning("cannot read the control log %s (%s); retrying", topics.AUDIT, type(error).__name__)
                await asyncio.sleep(1.0)

    async def start_of(partition: int) -> int:
        """The committed offset of an internal partition, from the broker (streams.admin.CommittedOffsets)."""
        while True:
            try:
                return await asyncio.wait_for(starts.start(subject_topic, partition), START_LOOKUP_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the broker or the coordinator is away: ask again
                log.warning("cannot read the committed offset of %s[%s] (%s); retrying",
                            subject_topic, partition, type(error).__name__)
                await asyncio.sleep(1.0)

    async def decide_message(event) -> int:
        """One internal record: its events wait for the watermark it may move; decide what it
        releases. Returns how many events (deadlines included) were decided."""
        message = event.message
        try:
            record = decode_record(message.key, message.value, time.time() + config.max_future_skew_s)
        except DecodeError as error:  # not a record intake wrote: forged or corrupt
            log.warning("invalid record on %s[%s]@%s: %s", message.topic, message.partition, message.offset,
                        error.message)
            metrics.INVALID_EVENTS.labels(message.topic, error.reason).inc()
            await dead_letter_or_stop(message, dead_letter_headers(message, error.reason, error.message))
            unstored.decided(event)
            return 1
        except Exception as error:  # a bug must not acknowledge-and-lose the message (faust#189)
            log.exception("decide failed on %s[%s]@%s", message.topic, message.partition, message.offset)
            metrics.INVALID_EVENTS.labels(message.topic, INTERNAL_ERROR).inc()
            await dead_letter_or_stop(message, dead_letter_headers(message, INTERNAL_ERROR, type(error).__name__))
            unstored.decided(event)
            return 1
        lane = lanes.of(message.partition)
        late, controls = lane.admit(event, record)
        for control in controls:
            apply_control(control)
        for _, core_event, _, _ in late:
            metrics.LATE_EVENTS.labels(_source_topic(core_event)).inc()
        released = late + lane.release()
        await decide_items(released, event)
        due = deadlines.due(message.partition, lane.watermark.value)
        if due:
            at = lane.watermark.value
            await decide_items([(key, Tick(key.decode(), at), None, None) for key in due], event)
        forget_quiet_accounts(message.partition, lane.watermark.value, event)
        for done in lane.decided_messages():
            unstored.decided(done)
        lanes.measure(time.time())
        info = timeline.in_force(lane.watermark.value) if len(timeline) else policy_info[0]
        if info != policy_info[0]:
            policy_info[0] = info
            metrics.POLICY_INFO.info(info)
        return len(released) + len(due)

    async def decide_items(items, event) -> None:
        """Run the core over released events in order and publish their actions; the new states wait
        in ``unstored`` (stored with ``event``'s partition, before any message they came from is acknowledged)."""
        if not items:
            return
        message = event.message
        started = time.perf_counter()
        actions: list = []
        deciders: list[bytes] = []  # the account whose state each action came from
        cases_before: dict[bytes, str | None] = {}
        touched: dict[bytes, SubjectState] = {}
        for account, core_event, produced_at, _ in items:
            previous = touched[account] if account in touched else unstored.state_of(account, table.get)
            if account not in cases_before:
                cases_before[account] = _case_state(previous)  # the core mutates the stored state in place
            try:
                decider = timeline.detector_for(core_event.subject_account, event_time(core_event)) if len(timeline) else detector
                state, outcome = decider.process(previous, core_event)
            except Exception as error:  # one bad event must not lose the rest of its bundle
                log.exception("decide failed on an event of %s[%s]@%s", message.topic, message.partition, message.offset)
                metrics.INVALID_EVENTS.labels(message.topic, INTERNAL_ERROR).inc()
                single = _SingleEvent(message, account, encode_event(core_event, produced_at))
                await dead_letter_or_stop(single, dead_letter_headers(single, INTERNAL_ERROR, type(error).__name__))
                continue
            touched[account] = state  # stored even after a duplicate: see streams/decided.py
            if outcome.rejected is not None:  # e.g. an appeal naming no suspension of ours
                reason, detail = outcome.rejected
                metrics.INVALID_EVENTS.labels(message.topic, reason).inc()
                single = _SingleEvent(message, account, encode_event(core_event, produced_at))
                await dead_letter_or_stop(single, dead_letter_headers(single, reason, detail))
            if isinstance(core_event, Tick):
                actions.extend((action, produced_at) for action in outcome.actions)
                deciders.extend(account for _ in outcome.actions)
                continue
            source = _source_topic(core_event)
            if outcome.duplicate:
                metrics.EVENTS_CONSUMED.labels(source, "duplicate").inc()
                continue
            metrics.EVENTS_CONSUMED.labels(source, "valid").inc()
            for code in outcome.hits:
                metrics.SIGNAL_HITS.labels(code).inc()
            if outcome.suppressed:
                metrics.DUPLICATE_ACTIONS_SUPPRESSED.inc(outcome.suppressed)
            actions.extend((action, produced_at) for action in outcome.actions)
            deciders.extend(account for _ in outcome.actions)
        if actions:
            await publish_in_subject_order(actions, [touched[account] for account in deciders])
        for account, state in touched.items():
            unstored.put(account, state, event)
            _track_case_change(cases_before[account], state)
            deadlines.track(account, state, message.partition)
        per_event = (time.perf_counter() - started) / len(items)
        for _ in items:
            metrics.EVENT_PROCESSING.labels("decide").observe(per_event)

    async def publish_in_subject_order(actions: list, states: list[SubjectState]) -> None:
        """Publish, acknowledged by Kafka before any state is stored; a subject with a held
        action has its later ones follow it, and an action held now is remembered in the state
        stored next (streams/release.py)."""
        follows = [(state.held or {}).get(action["subject"]["id"]) for (action, _), state in zip(actions, states)]
        held = await publisher.publish(actions, follows)
        for (action, _), state, trip in zip(actions, states, held):
            if trip is not None:
                if state.held is None:
                    state.held = {}
                state.held[action["subject"]["id"]] = trip

    def forget_quiet_accounts(partition: int, watermark: float, event) -> None:
        """Drop the states nothing can reach any more (Detector.forgettable): a tombstone in
        the changelog, written and acknowledged with ``event`` like any decided state."""
        for key in deadlines.forgettable(partition, watermark):
            state = unstored.state_of(key, table.get)
            if state is not None and timeline.forgettable(state, watermark):
                unstored.put(key, None, event)
                metrics.FORGOTTEN_STATES.inc()
            elif state is not None:
                deadlines.track(key, state, partition)  # it changed since: when it may be forgotten now

    async def dead_letter_or_stop(message, headers) -> None:
        """A message that can be neither decided nor dead-lettered must not be acknowledged:
        stop at once (exit code 70), before anything commits past it; the replacement
        worker starts from the committed offsets and meets it again."""
        try:
            await publisher.dead_letter(message, headers)
        except DeadLetterLost as lost:
            stop_now(str(lost))

    async def store(limit: int | None) -> None:
        """Write due states to the table (at most ``limit``, at the sealed batch's pace; ``None``:
        all at once), then acknowledge the messages whose states are all written."""
        now = time.monotonic()
        if limit is None or unstored.due(now):
            unstored.seal(now)
        if limit is not None:
            limit = min(limit, unstored.paced(now))
        manual = decide_stream[0]
        for account, state, message in unstored.take(limit):
            faustcompat.attribute_writes_to(manual, message)  # the changelog partition is the message's
            if state is not None:
                table[account] = state
            elif account in table:  # forgotten: a tombstone frees it here and in the changelog
                del table[account]
        for message in unstored.stored():
            await manual.ack(message)

    async def keep_house() -> None:
        """Store what waits once no message came for a moment; mind gaps in the offsets."""
        while True:
            await asyncio.sleep(STORE_IDLE_S)
            try:
                if unstored.pending() and time.monotonic() - last_decided[0] >= STORE_IDLE_S:
                    async with decide_lock:
                        await store(limit=None)
                await mind_the_gaps()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("decide housekeeping failed; retrying")

    async def mind_the_gaps() -> None:
        """A gap that does not fill: seek back so Kafka delivers it again. If they still do not
        come, stop (exit 70): a restarted worker reads them from the committed offset. Only
        offsets already deleted from the log (below its first offset) are given up."""
        async with decide_lock:
            for overdue in order.overdue(time.monotonic()):
                tp = TP(subject_topic, overdue.partition)
                if overdue.skipped_to is None:
                    log.warning("offsets of %s[%s] from %s did not arrive within %.0fs; seeking back to re-fetch them",
                                subject_topic, overdue.partition, overdue.expected, ORDER_MAX_WAIT_S)
                    await app.consumer.seek(tp, overdue.expected)
                    read_offsets.rewind(tp, overdue.expected)
                    continue
                first = await earliest(tp)
                if first is None or first < overdue.skipped_to:  # still in the log: fail-stop, never lose them
                    stop_now(f"offsets {overdue.expected}..{overdue.skipped_to - 1} of {subject_topic}"
                             f"[{overdue.partition}] are in the log but were not delivered, even after seeking "
                             "back; the restarted worker reads them from the committed offset")
                log.error("offsets %s..%s of %s[%s] were deleted from the log before they were decided "
                          "(retention); deciding the later ones without them", overdue.expected, overdue.skipped_to - 1,
                          subject_topic, overdue.partition)
                metrics.SKIPPED_OFFSETS.labels(subject_topic).inc(overdue.skipped_to - overdue.expected)
                await give_up_offsets(tp, overdue.expected, overdue.skipped_to - 1)
                for event in overdue.released:
                    await decide_message(event)
                await store(limit=None)

    @app.timer(HEAD_CHECK_INTERVAL_S)
    async def refetch_skipped_heads() -> None:
        """Seek back a partition whose commit is stuck behind a message Faust never delivered."""
        consumer = faust_consumer
        now = time.monotonic()
        for tp in consumer.assignment():
            committed = faustcompat.committed_offset(consumer, tp)
            if committed is not None and head_watch.stuck(tp, committed, faustcompat.acked_head(consumer, tp), now):
                log.warning("%s[%s]: commit stuck at %s while later offsets are done; seeking back to re-fetch",
                            tp.topic, tp.partition, committed)
                metrics.PARTITION_REFETCHES.labels(tp.topic).inc()
                await consumer.seek(tp, committed)
                read_offsets.rewind(tp, committed)

    async def broker_committed(offsets: CommittedOffsets, tps: list) -> dict[tuple[str, int], int] | None:
        """The group's committed offsets from the broker; None (skip this round) if it does not answer."""
        try:
            return await asyncio.wait_for(offsets.of_many(tps), LAG_LOOKUP_TIMEOUT_S)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - lag is measured again next round
            log.debug("cannot read %s's committed offsets (%s)", offsets.group, type(error).__name__)
            return None

    @app.timer(config.lag_interval_s)
    async def measure_lag() -> None:
        """Lag = log end offset - the group's committed offset as the broker holds it (Faust's
        own view moves even when a commit failed), for the partitions this worker owns now."""
        consumer = app.consumer
        owned = [tp for tp in consumer.assignment() if tp.topic == subject_topic]
        committed = await broker_committed(starts, owned)
        if committed is not None:
            now = time.monotonic()
            for tp in owned:
                try:
                    highwater = consumer.highwater(tp)
                except Exception:  # noqa: BLE001 - not known before the first fetch
                    continue
                done = committed.get((tp.topic, tp.partition))
                if highwater is not None and done is not None:
                    internal_lag.observe(tp.topic, tp.partition, highwater, done, now)
            internal_lag.end_round()  # partitions revoked by a rebalance
        intake.measure_lag(await broker_committed(intake_offsets, intake.owned()))

    async def store_decided() -> None:
        async with decide_lock:
            await store(limit=None)

    app.before_revoke = store_decided

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # faust's signal stub wants a signal= keyword
    async def on_partitions_revoked(sender, revoked, **kwargs) -> None:  # noqa: ARG001
        """Forget the assignment: what was not acknowledged is delivered again from the committed offsets."""
        async with decide_lock:
            order.reset()
            lanes.clear()
            unstored.clear(time.monotonic())
        head_watch.reset()

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]  # as above
    async def on_rebalance_complete(sender, **kwargs) -> None:  # noqa: ARG001
        metrics.REBALANCES.labels("decide").inc()
        _recount_open_cases(table)
        deadlines.rebuild(table.items(), subject_partitions())
        gc.freeze()  # what exists now (Faust, restored states) lives long: keep it out of collections

    return tw


_SOURCE_TOPIC = {
    "Post": topics.POSTS,
    "MiniProgramEvent": topics.MINI_PROGRAM_EVENTS,
    "Qualification": topics.QUALIFICATIONS,
    "Appeal": topics.APPEALS,
    "Tick": "tick",
}


@dataclass(frozen=True)
class _SingleEvent:
    """One event of a bundle, dead-lettered on its own with its bundle's coordinates."""

    source: object
    key: bytes
    value: bytes

    def __getattr__(self, name: str) -> object:  # topic, partition, offset, headers of the bundle
        return getattr(self.source, name)


def _source_topic(event: object) -> str:
    return _SOURCE_TOPIC[type(event).__name__]


def _case_state(state: SubjectState | None) -> str | None:
    return state.case.state if state is not None and state.case is not None else None


def _track_case_change(before: str | None, state: SubjectState) -> None:
    after = _case_state(state)
    if before != after:
        if before:
            metrics.OPEN_CASES.labels(before).dec()
        if after:
            metrics.OPEN_CASES.labels(after).inc()


def _constant(value: int | None) -> Callable[[], int | None]:
    return lambda: value


def _recount_open_cases(table: TableT) -> None:
    counts = dict.fromkeys(CASE_STATES, 0)
    for state in table.values():
        current = _case_state(state)
        if current:
            counts[current] += 1
    for name, count in counts.items():
        metrics.OPEN_CASES.labels(name).set(count)
