"""Dead letters stay sendable whatever came in, and never vanish."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError, RequestTimedOutError

from streams import metrics
from streams.core.breaker import Trip
from streams.core.policy import load_policy
from streams.publisher import (
    MAX_ORIGINAL_HEADER_BYTES,
    ActionPublisher,
    DeadLetterLost,
    dead_letter_headers,
)
from streams.signing import SigningKey, SigningKeys


@dataclass
class Message:
    value: bytes
    headers: list = field(default_factory=list)
    key: bytes = b"gh_0123456789ab"
    topic: str = "posts.v1"
    partition: int = 3
    offset: int = 42


class Producer:
    """Accepts a record when its value and headers fit ``limit`` bytes; refuses it for good otherwise."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent: list[tuple] = []

    async def send_and_wait(self, topic, key, value, partition, timestamp, headers):
        size = len(value or b"") + sum(len(k) + len(v) for k, v in headers)
        if size > self.limit:
            raise MessageSizeTooLargeError()
        self.sent.append((topic, key, value, headers))


class App:
    def __init__(self, limit: int) -> None:
        self.producer = Producer(limit)


def publisher(limit: int) -> ActionPublisher:
    return ActionPublisher(App(limit), load_policy(), logging.getLogger("test"))


HUGE_HEADERS = [(f"h{i}", b"x" * 10_000) for i in range(100)]  # ~1 MB of the message's own headers


def test_a_dead_letter_keeps_a_bounded_share_of_the_original_headers_and_says_what_it_left_out():
    headers = dict(dead_letter_headers(Message(b"{}", HUGE_HEADERS), "schema", "bad"))
    own = {name: value for name, value in headers.items() if not name.startswith("tw-")}
    assert sum(len(k) + len(v) for k, v in own.items()) <= MAX_ORIGINAL_HEADER_BYTES
    assert headers["tw-headers-omitted"].startswith(b"99 headers")
    assert headers["tw-error-class"] == b"schema" and headers["tw-source-offset"] == b"42"


def test_a_message_cannot_forge_its_own_rejection_headers():
    forged = Message(b"{}", [("tw-error-class", b"none"), ("trace-id", b"abc")])
    headers = dead_letter_headers(forged, "schema", "bad")
    assert headers.count(("tw-error-class", b"schema")) == 1 and ("tw-error-class", b"none") not in headers
    assert ("trace-id", b"abc") in headers


def test_the_1mib_headers_message_reaches_the_dead_letter_topic():
    sender = publisher(limit=1_048_576)
    message = Message(b"not json" * 100, HUGE_HEADERS)
    asyncio.run(sender.dead_letter(message, dead_letter_headers(message, "not_json", "bad")))
    [(topic, _, value, _)] = sender.app.producer.sent
    assert topic == "tradewatch.dlq.v1" and value == message.value


def test_when_the_full_dead_letter_is_refused_a_minimal_one_keeps_the_evidence():
    sender = publisher(limit=2_000)
    message = Message(b"v" * 5_000, [("trace-id", b"abc")])
    asyncio.run(sender.dead_letter(message, dead_letter_headers(message, "too_large", "5000 bytes")))
    [(_, key, value, headers)] = sender.app.producer.sent
    headers = dict(headers)
    assert value is None and key is None
    assert headers["tw-error-class"] == b"too_large" and headers["tw-source-partition"] == b"3"
    assert b"5000 bytes" in headers["tw-value-omitted"] and len(headers["tw-value-sha256"]) == 64


def test_a_dead_letter_that_cannot_be_written_at_all_is_never_dropped_silently():
    sender = publisher(limit=10)
    message = Message(b"v" * 100)
    with pytest.raises(DeadLetterLost, match=r"posts.v1\[3\]@42"):
        asyncio.run(sender.dead_letter(message, dead_letter_headers(message, "schema", "bad")))


def key_expiry() -> float | None:
    """What Prometheus scrapes for the signing key's expiry."""
    return metrics.REGISTRY.get_sample_value("tradewatch_signing_key_expiry_timestamp_seconds")


class Stopped(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def test_a_key_whose_window_ended_under_a_running_worker_stops_it_before_anything_is_sent(monkeypatch, caplog):
    """Signing refuses a time past NOT_AFTER; inside a Faust agent that exception would be caught
    and the agent restarted past the action, so the worker stops instead: nothing is sent, nothing
    acknowledged, and the line says which key and what to do."""
    now_ms = int(time.time() * 1000)
    keys = SigningKeys([SigningKey.hmac("k2026", b"s" * 32, not_after_ms=now_ms - 1000)], "k2026")
    sender = ActionPublisher(App(10**6), load_policy(), logging.getLogger("test"), signing=keys)
    assert key_expiry() == (now_ms - 1000) / 1000

    def exit_now(code: int) -> None:
        raise Stopped(code)

    monkeypatch.setattr(os, "_exit", exit_now)
    monkeypatch.setattr(logging, "shutdown", lambda: None)
    with caplog.at_level(logging.CRITICAL, logger="tradewatch"), pytest.raises(Stopped) as stopped:
        asyncio.run(sender.release(b"gh_0123456789ab", b"{}", "suspend"))
    assert stopped.value.code == 70
    assert sender.app.producer.sent == []
    [line] = [record.getMessage() for record in caplog.records if record.levelno == logging.CRITICAL]
    assert "k2026" in line and "TRADEWATCH_SIGNING_KEY_ID" in line


def test_the_expiry_metric_is_infinite_for_a_key_without_an_end_and_for_unsigned_actions():
    ActionPublisher(App(10**6), load_policy(), logging.getLogger("test"),
                    signing=SigningKeys([SigningKey.hmac("k1", b"s" * 32)], "k1"))
    assert key_expiry() == math.inf
    publisher(10**6)
    assert key_expiry() == math.inf


EXAMPLES = Path(__file__).parents[1] / "streams/schemas/examples/enforcement.actions.v1/valid"


def example(name: str, **changes) -> dict:
    action = orjson.loads((EXAMPLES / f"{name}.json").read_bytes()) | changes
    return {key: value for key, value in action.items() if key not in ("mode", "decided_at")}


def tripped_publisher() -> tuple[ActionPublisher, Trip, dict]:
    sender = publisher(10**6)
    suspension = example("reinstate", action="suspend", action_id="act-susp")
    scope = sender.breaker.scope_of(suspension)
    trip = Trip(f"{scope}@1", scope, 1.0, "w1", 61)
    sender.apply(trip)
    return sender, trip, suspension


def test_a_reinstatement_in_the_batch_of_its_held_suspension_follows_it_to_the_held_topic():
    sender, trip, suspension = tripped_publisher()
    reinstate = example("reinstate")
    held = asyncio.run(sender.publish([(suspension, None), (reinstate, None)]))
    assert held == [trip.trip_id, trip.trip_id]
    [(topic, _, _, first), (again, _, _, second)] = sender.app.producer.sent
    assert topic == again == "tradewatch.held.v1"
    assert dict(first)["tw-breaker-trip"] == trip.trip_id.encode()
    assert dict(second)["tw-breaker-follows"] == trip.trip_id.encode() and "tw-breaker-trip" not in dict(second)


def test_a_later_action_of_a_held_subject_follows_the_trip_its_state_names():
    sender, trip, _ = tripped_publisher()
    other = {"kind": "official_account", "id": "gh_0ther0ther00"}
    reminder = example("qualification_reminder", subject=other, account_id=other["id"])
    held = asyncio.run(sender.publish([(example("reinstate"), None), (reminder, None)],
                                      follows=[trip.trip_id, None]))
    assert held == [trip.trip_id, None]
    assert [topic for topic, *_ in sender.app.producer.sent] == ["tradewatch.held.v1", "enforcement.actions.v1"]


class FirstSendTimesOut:
    """A producer whose first record is refused once (retriable), as when a broker is slow; the
    log keeps what was written, in order."""

    def __init__(self) -> None:
        self.log: list[tuple[str, bytes, str]] = []
        self.refused = False

    async def send(self, topic, key, value, partition, timestamp, headers):
        future = asyncio.get_running_loop().create_future()
        if not self.refused:
            self.refused = True
            future.set_exception(RequestTimedOutError())
        else:
            self.log.append((topic, key, orjson.loads(value)["action"]))
            future.set_result(None)
        return future

    async def send_and_wait(self, topic, key, value, partition, timestamp, headers):
        self.log.append((topic, key, orjson.loads(value)["action"]))


def test_a_retried_suspension_still_lands_before_the_reinstatement_behind_it():
    """Retried on its own, the suspension would land after the reinstatement sent with it, and
    the account would end up suspended downstream."""
    sender, trip, suspension = tripped_publisher()
    sender.app.producer = FirstSendTimesOut()
    other = {"kind": "official_account", "id": "gh_0ther0ther00"}
    reminder = example("qualification_reminder", subject=other, account_id=other["id"])
    asyncio.run(sender.publish([(suspension, None), (reminder, None), (example("reinstate"), None)]))
    mine = [action for _, key, action in sender.app.producer.log if key == b"gh_1a2b3c4d5e6f"]
    assert mine == ["suspend", "reinstate"]
