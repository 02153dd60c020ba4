"""``tradewatch verify``: check the signatures of enforcement actions on a Kafka topic or in a JSONL file."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from streams.signing.core import SignatureError, SigningConfigError, SigningKeys, verify
from streams.signing.keys import ENV_KEYS, ENV_KEYS_DIR, load_signing_keys


def verify_main(argv: Sequence[str] | None = None) -> int:
    """``tradewatch verify``: check the signature of every action on a topic or in a JSONL file.

    Prints ``ok <kid> <action_id>`` or ``FAIL <reason> offset=<n>`` per message; exit status 1
    if any failed, 2 on a configuration error. Signatures in the older format tw1 (no
    ``tw-signature-version`` header) fail with ``v1_not_accepted`` unless ``--accept-v1``.
    """
    args = _verify_parser().parse_args(argv)
    try:
        keys = load_signing_keys(require_active=False)
    except SigningConfigError as error:
        print(f"tradewatch verify: configuration error: {error}", file=sys.stderr)
        return 2
    if keys is None:
        print(f"tradewatch verify: configuration error: no verification keys: set {ENV_KEYS} or {ENV_KEYS_DIR}", file=sys.stderr)
        return 2
    checker = _Checker(keys, args.max_age, accept_v1=args.accept_v1)
    if args.file:
        try:
            for where, record in _read_jsonl(args.file):
                checker.check(record, where)
        except (OSError, ValueError) as error:
            print(f"tradewatch verify: cannot read {args.file}: {error}", file=sys.stderr)
            return 2
    else:
        try:
            asyncio.run(_verify_topic(args, checker))
        except Exception as error:  # noqa: BLE001 - a clear one-line error, not a traceback
            print(f"tradewatch verify: {type(error).__name__}: {error}", file=sys.stderr)
            return 2
    print(f"verified {checker.ok}, failed {checker.failed}", file=sys.stderr)
    return 1 if checker.failed else 0


def _verify_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradewatch verify",
        description="Verify the signatures of enforcement actions (keys: TRADEWATCH_SIGNING_KEYS / _DIR).",
    )
    parser.add_argument("--topic", default="enforcement.actions.v1")
    parser.add_argument("--broker", help="bootstrap servers (default: TRADEWATCH_BROKER or 127.0.0.1:9092)")
    parser.add_argument("--from-beginning", action="store_true", help="read from the oldest message, not only new ones")
    parser.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
    parser.add_argument("--timeout", type=float, default=5.0, help="stop after this many seconds without a message")
    parser.add_argument("--max-age", type=float, default=None, help="reject signatures older than this many seconds")
    parser.add_argument("--file", help="verify a JSONL file of {topic, key, value, headers} instead of a topic")
    parser.add_argument("--accept-v1", action="store_true",
                        help="also accept signatures in the older format tw1, which signs no tw- headers (old data)")
    return parser


class _Checker:
    def __init__(self, keys: SigningKeys, max_age_s: float | None, *, accept_v1: bool = False) -> None:
        self.keys = keys
        self.max_age_s = max_age_s
        self.accept_v1 = accept_v1
        self.ok = 0
        self.failed = 0

    def check_message(self, topic: str, key: bytes | None, value: bytes | None, headers: Any, where: str) -> None:
        try:
            key_id = verify(self.keys, topic, key, value, headers, max_age_s=self.max_age_s, accept_v1=self.accept_v1)
        except SignatureError as error:
            self.failed += 1
            print(f"FAIL {error.reason} {where} {_action_id(value)}", flush=True)
            return
        self.ok += 1
        print(f"ok {key_id} {_action_id(value)}", flush=True)

    def check(self, record: dict[str, Any], where: str) -> None:
        try:
            topic, key, value, headers = _record_parts(record)
        except (KeyError, TypeError, ValueError, binascii.Error):
            self.failed += 1
            print(f"FAIL malformed {where} -", flush=True)
            return
        self.check_message(topic, key, value, headers, where)


def _action_id(value: bytes | None) -> str:
    try:
        return str(orjson.loads(value or b"").get("action_id", "-"))
    except (orjson.JSONDecodeError, AttributeError):
        return "-"


def _read_jsonl(path: str) -> Iterable[tuple[str, dict[str, Any]]]:
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    yield f"line={number}", orjson.loads(line)
                except orjson.JSONDecodeError:
                    yield f"line={number}", {}


def _record_parts(record: dict[str, Any]) -> tuple[str, bytes | None, bytes | None, list[tuple[str, bytes | None]]]:
    """A JSONL record's exact bytes.

    ``key``/``value`` are UTF-8 strings (or ``key_b64``/``value_b64`` for binary); a ``value``
    that is a JSON object is re-encoded with orjson, which reproduces the bytes tradewatch
    published (it publishes orjson output). ``headers`` is ``[[name, value], ...]`` or
    ``{name: value}``, values UTF-8 strings (or null).
    """
    topic = record["topic"]
    if not isinstance(topic, str):
        raise TypeError("topic")
    key = _bytes_field(record, "key")
    value = _bytes_field(record, "value")
    raw_headers = record.get("headers") or []
    pairs = raw_headers.items() if isinstance(raw_headers, dict) else raw_headers
    headers = [(str(name), _header_value(header)) for name, header in pairs]
    return topic, key, value, headers


def _header_value(header: Any) -> bytes | None:
    """A header value as recorded: text as UTF-8, null as a null header value (which tw2 signs as such)."""
    if header is None:
        return None
    return header.encode() if isinstance(header, str) else bytes(header)


def _bytes_field(record: dict[str, Any], name: str) -> bytes | None:
    if f"{name}_b64" in record:
        return base64.b64decode(record[f"{name}_b64"], validate=True)
    raw = record.get(name)
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw.encode()
    return orjson.dumps(raw)


async def _verify_topic(args: argparse.Namespace, checker: _Checker) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.security import KafkaSecurity, start_checked

    bootstrap = args.broker or os.environ.get("TRADEWATCH_BROKER") or "127.0.0.1:9092"
    bootstrap = ",".join(server.strip().split("://", 1)[-1] for server in bootstrap.split(",") if server.strip())
    security = KafkaSecurity.from_env()
    # No group: a read-only check must not move anybody's committed offsets.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **security.aiokafka_kwargs())
    await start_checked(consumer, security, bootstrap)
    try:
        partitions = consumer.partitions_for_topic(args.topic)
        if partitions is None:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no public metadata refresh
            partitions = consumer.partitions_for_topic(args.topic)
        if not partitions:
            raise LookupError(f"topic {args.topic} does not exist on {bootstrap}")
        assignment = [TopicPartition(args.topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        if args.from_beginning:
            await consumer.seek_to_beginning(*assignment)
        else:
            await consumer.seek_to_end(*assignment)
        seen = 0
        idle_deadline = time.monotonic() + args.timeout
        while time.monotonic() < idle_deadline and (args.max_messages is None or seen < args.max_messages):
            batch = await consumer.getmany(*assignment, timeout_ms=200, max_records=100)
            for records in batch.values():
                for message in records:
                    if args.max_messages is not None and seen >= args.max_messages:
                        break
                    seen += 1
                    where = f"offset={message.offset} partition={message.partition}"
                    checker.check_message(message.topic, message.key, message.value, message.headers, where)
            if batch:
                idle_deadline = time.monotonic() + args.timeout
    finally:
        await consumer.stop()
