"""The Faust application: topics, the subject-state table and the agents.

Two agents, read top to bottom:

* ``intake`` reads the four input topics, validates each message (bad ones go to the
  dead-letter topic with headers saying why) and forwards the decoded event to the internal
  ``subject-inputs`` topic keyed by subject account — the re-keying that puts everything
  about one account into one partition.
* ``decide`` reads ``subject-inputs``, runs the detection core with the account's state
  from the ``subject-state`` table, publishes the actions, then stores the new state.

Following DESIGN.md's Faust pitfalls: ``concurrency=1`` everywhere, at-least-once delivery
with deterministic action ids, every per-message failure caught and routed, no windowed
tables (the core keeps its own event-time buckets), and Faust's web server disabled (our own
server in :mod:`streams.web` exposes only /metrics and health).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import faust
from faust.serializers import codecs

from streams import metrics, topics
from streams.config import Config
from streams.core.engine import Detector
from streams.core.events import Tick
from streams.core.state import CASE_STATES, SubjectState
from streams.decode import DecodeError, DecodeLimits, decode_input
from streams.intake import check_event_time
from streams.publisher import ActionPublisher, dead_letter_headers
from streams.wire import decode_event, encode_event

log = logging.getLogger("tradewatch")


class SubjectStateCodec(codecs.Codec):
    """Table values are SubjectState objects in memory and compact JSON in the changelog."""

    def _dumps(self, obj: SubjectState) -> bytes:
        return obj.to_bytes()

    def _loads(self, s: bytes) -> SubjectState:
        return SubjectState.from_bytes(s)


codecs.register("subject_state", SubjectStateCodec())


class SubjectStateValue:
    """The table's value type, as Faust expects it: it names the codec and passes values through.

    Faust derives a table's changelog serializer from ``value_type._options.serializer`` and
    rebuilds recovered values with ``value_type.from_data``.
    """

    class _options:  # noqa: N801 - Faust's attribute name
        serializer = "subject_state"

    @classmethod
    def from_data(cls, data: SubjectState, preferred_type: object = None) -> SubjectState:  # noqa: ARG003
        return data


@dataclass
class Tradewatch:
    """The pieces of a running worker, for the CLI, the web server and tests."""

    app: faust.App
    config: Config
    detector: Detector
    publisher: ActionPublisher
    table: faust.Table


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


def create_app(config: Config) -> Tradewatch:
    policy = config.policy
    app = faust.App(config.app_id, **faust_settings(config))
    raw = dict(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    inputs = app.topic(*topics.INPUT_TOPICS, **raw)
    subject_inputs = app.topic(
        f"{config.app_id}-{topics.SUBJECT_INPUTS}", internal=True, partitions=config.partitions, **raw
    )
    table = app.Table(
        topics.SUBJECT_STATE_TABLE,
        default=None,
        partitions=config.partitions,
        key_type=bytes,
        value_type=SubjectStateValue,
    )
    detector = Detector(policy)
    publisher = ActionPublisher(app, policy, log, signing=config.signing)
    limits = DecodeLimits(max_bytes=config.max_message_bytes, max_depth=config.max_json_depth)
    tw = Tradewatch(app=app, config=config, detector=detector, publisher=publisher, table=table)
    deadlines = PendingDeadlines()
    metrics.POLICY_INFO.info({"version": policy.version, "mode": policy.mode})
    lag_series: set[tuple[str, str]] = set()
    last_offsets: dict[int, int] = {}  # subject-inputs partition -> last offset decided

    @app.agent(inputs, concurrency=1)
    async def intake(stream):
        async for event in stream.events():
            message = event.message
            started = time.perf_counter()
            metrics.LAST_EVENT_TIMESTAMP.labels(message.topic).set(time.time())
            try:
                decoded = decode_input(message.topic, message.value, limits)
                check_event_time(decoded, time.time(), config.max_future_skew_s)
            except DecodeError as error:
                metrics.EVENTS_CONSUMED.labels(message.topic, "invalid").inc()
                metrics.INVALID_EVENTS.labels(message.topic, error.reason).inc()
                await publisher.dead_letter(message, dead_letter_headers(message, error.reason, error.message))
                continue
            except Exception as error:  # a bug must not acknowledge-and-lose the message
                log.exception("intake failed on %s[%s]@%s", message.topic, message.partition, message.offset)
                metrics.EVENTS_CONSUMED.labels(message.topic, "invalid").inc()
                metrics.INVALID_EVENTS.labels(message.topic, "internal_error").inc()
                headers = dead_letter_headers(message, "internal_error", type(error).__name__)
                await publisher.dead_letter(message, headers)
                continue
            await app.producer.send(
                subject_inputs.get_topic_name(),
                decoded.subject_account.encode(),
                encode_event(decoded, message.timestamp),
                None,
                None,
                None,
            )
            metrics.EVENT_PROCESSING.labels("intake").observe(time.perf_counter() - started)

    @app.agent(subject_inputs, concurrency=1)
    async def decide(stream):
        async for event in stream.events():
            message = event.message
            started = time.perf_counter()
            account = message.key
            last = last_offsets.get(message.partition)
            if last is not None and message.offset <= last:
                metrics.OUT_OF_ORDER.labels(message.topic).inc()
                log.warning(
                    "out-of-order delivery on %s[%s]: offset %s after %s", message.topic,
                    message.partition, message.offset, last,
                )
            last_offsets[message.partition] = message.offset
            try:
                core_event, produced_at = decode_event(message.value)
                previous = table.get(account)
                case_before = _case_state(previous)  # the core mutates the stored state in place
                state, outcome = detector.process(previous, core_event)
            except Exception as error:  # a bug must not acknowledge-and-lose the message (faust#189)
                log.exception("decide failed on %s[%s]@%s", message.topic, message.partition, message.offset)
                metrics.INVALID_EVENTS.labels(message.topic, "internal_error").inc()
                await publisher.dead_letter(message, dead_letter_headers(message, "internal_error", type(error).__name__))
                continue
            if isinstance(core_event, Tick) and not outcome.actions:
                deadlines.track(account, state)
                table[account] = state
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
            for action in outcome.actions:
                await publisher.publish(action, produced_at)
            _track_case_change(case_before, state)
            deadlines.track(account, state)
            table[account] = state
            metrics.EVENT_PROCESSING.labels("decide").observe(time.perf_counter() - started)

    if config.tick_seconds > 0:

        @app.timer(config.tick_seconds)
        async def tick() -> None:
            """Advance quiet accounts whose deadline has passed to the wall clock.

            The tick is a message to the account's partition, so the owner decides as for any
            input; sending one for an account another worker now owns is harmless.
            """
            now = time.time()
            for key in deadlines.due(now):
                await subject_inputs.send(key=key, value=encode_event(Tick(key.decode(), now), None))

    @app.timer(config.lag_interval_s)
    async def measure_lag() -> None:
        """Lag = log end offset - committed offset, for the partitions this worker owns now."""
        consumer = app.consumer
        current: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - not known before the first fetch
                continue
            if highwater is None:
                continue
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001 - no public accessor
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(max(0, highwater - (committed or 0)))
            current.add(labels)
        for labels in lag_series - current:  # partitions revoked by a rebalance
            metrics.CONSUMER_LAG.remove(*labels)
        lag_series.clear()
        lag_series.update(current)

    @app.on_rebalance_complete.connect
    async def on_rebalance_complete(sender, **kwargs) -> None:  # noqa: ARG001
        last_offsets.clear()  # a new assignment legitimately restarts at the committed offsets
        _recount_open_cases(table)
        deadlines.rebuild(table.items())

    return tw


class PendingDeadlines:
    """Accounts of this worker with a reminder deadline, so the tick never scans the table."""

    def __init__(self) -> None:
        self._deadline: dict[bytes, float] = {}

    def track(self, key: bytes, state: SubjectState | None) -> None:
        case = state.case if state is not None else None
        if case is not None and case.deadline is not None:
            self._deadline[key] = case.deadline
        else:
            self._deadline.pop(key, None)

    def rebuild(self, items) -> None:
        self._deadline.clear()
        for key, state in items:
            self.track(key, state)

    def due(self, now: float) -> list[bytes]:
        return [key for key, deadline in self._deadline.items() if deadline <= now]


_SOURCE_TOPIC = {
    "Post": topics.POSTS,
    "MiniProgramEvent": topics.MINI_PROGRAM_EVENTS,
    "Qualification": topics.QUALIFICATIONS,
    "Appeal": topics.APPEALS,
    "Tick": "tick",
}


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


def _recount_open_cases(table: faust.Table) -> None:
    counts = dict.fromkeys(CASE_STATES, 0)
    for state in table.values():
        current = _case_state(state)
        if current:
            counts[current] += 1
    for name, count in counts.items():
        metrics.OPEN_CASES.labels(name).set(count)
