"""Sending what the worker decided: actions (enforce, shadow, or held by the breaker) and dead letters.

An action is validated against the enforcement.actions.v1 schema, stamped with the wall
clock and its mode, and sent and acknowledged *before* the account's new state is stored,
so a crash in between re-decides the same action with the same id (downstream de-duplicates)
instead of losing it. A failing send is retried, never skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from streams import metrics, topics
from streams.core.actions import OFFICIAL_ACCOUNT, SUSPEND, stamp
from streams.core.breaker import OPEN, RELEASE, CircuitBreaker, Trip
from streams.core.policy import Policy
from streams.core.timefmt import format_time
from streams.decode import validate_action
from streams.failstop import stop_now
from streams.signing import SigningConfigError, SigningKeys, sign

MAX_RETRY_DELAY_S = 30.0


MAX_ORIGINAL_HEADERS = 64  # a dead letter keeps at most this many of the message's own headers
MAX_ORIGINAL_HEADER_BYTES = 16 * 1024  # ... and at most this many bytes of them
HEADER_TRIP = "tw-breaker-trip"  # on a held action: the trip that holds it
HEADER_SCOPE = "tw-breaker-scope"
HEADER_FOLLOWS = "tw-breaker-follows"  # on a later action of a held subject: the trip it waits behind
DEAD_LETTER_PREFIX = "tw-"  # the headers a dead letter adds; an original header of that name is dropped


def _coordinates(message: Any, reason: str, detail: str) -> list[tuple[str, bytes]]:
    return [
        ("tw-source-topic", str(message.topic).encode()),
        ("tw-source-partition", str(message.partition).encode()),
        ("tw-source-offset", str(message.offset).encode()),
        ("tw-error-class", reason.encode()),
        ("tw-error-message", detail.encode("utf-8", "replace")[:512]),
    ]


def _original_headers(message: Any) -> list[tuple[str, bytes]]:
    raw = message.headers.items() if hasattr(message.headers, "items") else message.headers or []
    return [(str(name), bytes(value or b"")) for name, value in raw]


def dead_letter_headers(message: Any, reason: str, detail: str) -> list[tuple[str, bytes]]:
    """The original headers plus where the message came from and why it was rejected.

    Bounded: a message's own headers are kept up to :data:`MAX_ORIGINAL_HEADERS` headers and
    :data:`MAX_ORIGINAL_HEADER_BYTES` bytes (a header named ``tw-…`` is dropped, so a message
    cannot forge its own rejection reason); what is left out is counted in
    ``tw-headers-omitted``. So a dead letter stays sendable whatever headers came in.
    """
    kept: list[tuple[str, bytes]] = []
    size = omitted = omitted_bytes = 0
    for name, value in _original_headers(message):
        cost = len(name.encode()) + len(value)
        if (name.startswith(DEAD_LETTER_PREFIX) or len(kept) >= MAX_ORIGINAL_HEADERS
                or size + cost > MAX_ORIGINAL_HEADER_BYTES):
            omitted += 1
            omitted_bytes += cost
            continue
        kept.append((name, value))
        size += cost
    headers = kept + _coordinates(message, reason, detail)
    if omitted:
        headers.append(("tw-headers-omitted", f"{omitted} headers, {omitted_bytes} bytes".encode()))
    return headers


def minimal_dead_letter_headers(message: Any, headers: list[tuple[str, bytes]], why: str) -> list[tuple[str, bytes]]:
    """What a dead letter keeps when the full one cannot be written: coordinates, reason,
    sizes and a hash of the value — enough to find the message in its source topic."""
    value = message.value or b""
    ours = [(name, value_) for name, value_ in headers if name.startswith(DEAD_LETTER_PREFIX)]
    return ours + [
        ("tw-value-omitted", f"{why}; original value {len(value)} bytes".encode()),
        ("tw-value-sha256", hashlib.sha256(value).hexdigest().encode()),
        ("tw-original-headers", f"{len(_original_headers(message))} headers".encode()),
    ]


def _waves(records: list[Any]) -> list[list[Any]]:
    """Records in rounds that can each be sent at once: the n-th record of every key in round n.

    A record retried on its own lands after the ones sent with it, so two actions of one
    subject (a held suspension and the reinstatement behind it) must not share a round: each
    round is acknowledged before the next is sent, which keeps a subject's actions in order."""
    rounds: list[list[Any]] = []
    seen: dict[bytes, int] = {}
    for record in records:
        index = seen.get(record[1], 0)
        seen[record[1]] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(record)
    return rounds


def _trip_of(headers: Sequence[tuple[str, bytes]]) -> str:
    """The trip a held action waits for: its own (``tw-breaker-trip``) or the one it follows."""
    found = dict(headers)
    return (found.get(HEADER_TRIP) or found[HEADER_FOLLOWS]).decode()


class DeadLetterLost(RuntimeError):
    """Even the minimal dead letter could not be written: the worker must stop unacknowledged."""


class ActionPublisher:
    """Sends actions, holding the suspensions of a tripped breaker scope (streams/core/breaker.py).

    ``board`` shares the breaker's trips with the group (streams/breakerboard.py); without one
    (tests of the sending alone) trips stay local to this publisher.
    """

    def __init__(self, app: Any, policy: Policy, log: logging.Logger, signing: SigningKeys | None = None,
                 board: Any = None, who: str = "worker") -> None:
        self.app = app
        self.signing = signing
        self.policy = policy
        self.log = log
        self.who = who
        self.breaker = CircuitBreaker(policy.max_suspensions_per_minute, policy.breaker_low_history_evidence)
        self.board = board
        metrics.CIRCUIT_BREAKER_OPEN.set(0)
        expires_ms = None if signing is None else signing.active.not_after_ms
        metrics.SIGNING_KEY_EXPIRY.set(math.inf if expires_ms is None else expires_ms / 1000)

    def mode(self) -> str:
        return self.policy.mode

    async def publish(self, actions: list[tuple[dict[str, Any], float | None]],
                      follows: Sequence[str | None] | None = None) -> list[str | None]:
        """Send a batch of (action, produced_at) and return once Kafka acknowledged every one.

        All are handed to the producer first and awaited together: one round trip per round,
        not per action, where a round holds at most one action per subject (most batches are
        one round; see :func:`_waves`). A failed send is retried on its own until acknowledged.

        ``follows`` names, per action, the trip that holds an earlier action of its subject
        (the caller keeps it in the subject's state): such an action goes to the held topic
        behind it, and is released once that trip is closed, whatever the disposition. Returns,
        per action, the trip it went to the held topic with (None: sent as usual); the caller
        stores it, so that the subject's later actions follow it too.
        """
        if self.board is not None:
            await self.board.ready()  # the group's trips are known before anything is sent
        now = time.time()
        for action, _ in actions:
            if action["action"] == SUSPEND and action["subject"]["kind"] == OFFICIAL_ACCOUNT:
                trip = self.breaker.record_suspension(self.breaker.scope_of(action), now, self.who)
                if trip is not None:
                    await self.share(trip)
        behind = list(follows) if follows is not None else [None] * len(actions)
        held_now: dict[str, str] = {}  # an action held in this batch is followed by its subject's next ones
        prepared = []
        for (action, _), after in zip(actions, behind):
            subject = action["subject"]["id"]
            prepared.append(item := self._prepare(action, now, held_now.get(subject, after)))
            if item[0] == topics.HELD:
                held_now[subject] = _trip_of(item[3])
        for wave in _waves(prepared):
            await self._send_all(wave)
        now = time.time()
        held: list[str | None] = []
        for (topic, _, _, headers, record), (_, produced_at) in zip(prepared, actions):
            held.append(_trip_of(headers) if topic == topics.HELD else None)
            mode = "held" if topic == topics.HELD else record["mode"]
            metrics.ACTIONS.labels(record["action"], mode).inc()
            if topic == topics.HELD:
                metrics.HELD_ACTIONS.inc()
            if produced_at:
                metrics.EVENT_TO_ACTION_LATENCY.labels(record["action"]).observe(max(0.0, now - produced_at))
            self.log.info(
                "%s %s %s case=%s mode=%s trading=%.2f fraud=%.2f",
                record["action"], record["subject"]["kind"], record["subject"]["id"], record["case_id"],
                mode, record["trading_score"], record["fraud_score"],
            )
        return held

    async def _send_all(self, records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]], Any]]) -> None:
        """Hand every record to the producer, then wait until each is acknowledged (a failed
        one is retried on its own, so the records must not need an order among themselves)."""
        pending = []
        for topic, key, value, headers, _ in records:
            try:
                pending.append(await self.app.producer.send(topic, key, value, None, None, headers))
            except Exception:  # noqa: BLE001 - refused before sending: retried on its own below
                pending.append(None)
        for (topic, key, value, headers, _), future in zip(records, pending):
            try:
                if future is None:
                    raise RuntimeError("not sent")
                await future
            except Exception:  # noqa: BLE001 - classified and retried until acknowledged
                await self._send_until_acknowledged(topic, key, value, headers)

    async def share(self, trip: Trip) -> None:
        """A trip or close this worker made: on the breaker topic first (so every worker, and
        this one after a restart, knows it), then in force here."""
        if self.board is not None:
            await self.board.share(trip)
        self.apply(trip)

    def apply(self, trip: Trip) -> None:
        """A trip record, ours or another worker's, in force here."""
        if not self.breaker.apply(trip):
            return
        metrics.CIRCUIT_BREAKER_OPEN.set(len(self.breaker.open_scopes()))
        if trip.state == OPEN:
            metrics.CIRCUIT_BREAKER_TRIPS.inc()
            self.log.error(
                "circuit breaker OPEN for scope %s (trip %s, by %s): more than %d suspensions in a minute; "
                "its suspensions now go to %s until an operator closes the trip",
                trip.scope, trip.trip_id, trip.opened_by, self.breaker.max_per_minute, topics.HELD,
            )
        else:
            metrics.CIRCUIT_BREAKER_CLOSES.labels(trip.disposition).inc()
            self.log.warning("circuit breaker closed for scope %s (trip %s) by %s: held suspensions %s",
                             trip.scope, trip.trip_id, trip.closed_by,
                             "released to enforcement" if trip.disposition == RELEASE else "discarded")

    async def close_trips(self, by: str, disposition: str, scopes: list[str] | None = None) -> list[Trip]:
        """Operator action: close the open trips of ``scopes`` (all when None)."""
        closed = self.breaker.close(time.time(), by, disposition, scopes)
        for trip in closed:
            await self.share(trip)
        return closed

    def _prepare(self, action: dict[str, Any], now: float, follows: str | None = None,
                 ) -> tuple[str, bytes, bytes, list[tuple[str, bytes]], dict[str, Any]]:
        """Wall clock, mode, hold, schema check and signature: the message to send."""
        mode = self.policy.mode
        record = stamp(action, format_time(now), mode)
        validate_action(record)
        topic = topics.ACTIONS if mode == "enforce" else topics.SHADOW
        extra: list[tuple[str, bytes]] = []
        trip = self.breaker.holding(self.breaker.scope_of(record)) if record["action"] == SUSPEND else None
        if mode == "enforce" and trip is not None:
            topic = topics.HELD
            extra = [(HEADER_TRIP, trip.trip_id.encode()), (HEADER_SCOPE, trip.scope.encode())]
        elif mode == "enforce" and follows is not None:  # behind its subject's held action, in order
            topic = topics.HELD
            extra = [(HEADER_FOLLOWS, follows.encode())]
        key = record["subject"]["id"].encode()
        value = orjson.dumps(record)
        return topic, key, value, self._headers(topic, key, value, record["action"], now, extra), record

    def _headers(self, topic: str, key: bytes, value: bytes, action: str, now: float,
                 extra: Sequence[tuple[str, bytes]] = ()) -> list[tuple[str, bytes]]:
        headers = [("tw-action", action.encode()), *extra]
        if self.signing is not None:
            try:
                headers += sign(self.signing, topic, key, value, int(now * 1000), headers=headers)
            except SigningConfigError as error:  # the active key's window ended: nothing may go out unsigned
                stop_now(f"cannot sign a {action} for {topic}: {error}")
        return headers

    async def send_record(self, topic: str, key: bytes, value: bytes) -> None:
        """Send one record of tradewatch's own (a breaker trip) and wait until acknowledged."""
        await self._send_until_acknowledged(topic, key, value, [])

    async def release(self, key: bytes, value: bytes, action: str) -> None:
        """A held action, its trip closed for release: sent to the enforcement topic, signed
        for it now, and acknowledged."""
        headers = self._headers(topics.ACTIONS, key, value, action, time.time())
        await self._send_until_acknowledged(topics.ACTIONS, key, value, headers)

    async def dead_letter(self, message: Any, headers: list[tuple[str, bytes]]) -> None:
        """Write a dead letter and wait for Kafka's acknowledgement. If the dead-letter topic
        refuses it (e.g. larger than it accepts), a minimal one (coordinates, sizes, hash)
        is written instead; if even that is refused, :class:`DeadLetterLost` is raised and
        the caller must stop without acknowledging the message."""
        try:
            await self._send_until_acknowledged(topics.DLQ, message.key, message.value, headers)
        except NonRetriableSendError as error:
            minimal = minimal_dead_letter_headers(message, headers, error.reason)
            try:
                await self._send_until_acknowledged(topics.DLQ, None, None, minimal)
            except NonRetriableSendError as again:
                raise DeadLetterLost(
                    f"{message.topic}[{message.partition}]@{message.offset}: the dead-letter topic refused "
                    f"even a minimal dead letter ({again.reason})"
                ) from again
        metrics.DEAD_LETTERS.labels(message.topic).inc()

    async def _send_until_acknowledged(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Retry transient failures forever (never drop); raise NonRetriableSendError otherwise."""
        delay = 0.1
        while True:
            try:
                await self.app.producer.send_and_wait(topic, key, value, None, None, headers)
                return
            except Exception as error:
                cause = error.__cause__ or error
                if isinstance(cause, KafkaError) and not cause.retriable:
                    raise NonRetriableSendError(type(cause).__name__) from error
                self.log.error("send to %s failed (%s); retrying in %.1fs", topic, type(cause).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)


class NonRetriableSendError(Exception):
    """Kafka refused a message for a reason that retrying cannot fix (e.g. its size)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
