"""``tradewatch policy publish`` and ``tradewatch allowlist``: control records, written and read back.

A change is validated here exactly as the workers will validate it (so a bad policy fails on
the operator's terminal, not in the audit log), then written to ``tradewatch.control.v1``
keyed ``policy`` or ``allowlist:<account>``. What the workers made of it is in the audit
topic, which ``allowlist list`` reads.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from streams import topics
from streams.config import Config, ConfigError
from streams.controllog import ControlLog
from streams.core.control import (
    ADD,
    ALLOWLIST,
    POLICY,
    AllowlistChange,
    Change,
    ControlError,
    RuntimeAllowlist,
    applied_records,
    parse_change,
)
from streams.core.events import ControlRecord
from streams.core.timefmt import format_time, parse_time
from streams.readers import manual_reader

LEAD_SECONDS = 10.0
"""A change without ``--at`` applies this long after it is made: a record read a moment late
(a busy intake, a slow broker) is still ahead of its partition's watermark, not refused."""


def control_document(kind: str, actor: str, reason: str, at: float | None, **fields: Any) -> dict[str, Any]:
    effective_at = time.time() + LEAD_SECONDS if at is None else at
    control_id = f"{kind}-{format_time(effective_at)}-{uuid.uuid4().hex[:12]}"
    return {"control_id": control_id, "kind": kind, "effective_at": format_time(effective_at),
            "actor": actor, "reason": reason, **fields}


def checked(document: dict[str, Any], mode: str) -> Change:
    """The change as a worker reads it, validated as a worker validates it (ConfigError if not)."""
    record = ControlRecord(document["control_id"], parse_time(document["effective_at"]), orjson.dumps(document).decode())
    try:
        return parse_change(record, mode)
    except ControlError as error:
        raise ConfigError(f"{document['kind']}: {error}") from None


def policy_document(path: str, actor: str, reason: str, at: float | None, rollout_percent: int) -> dict[str, Any]:
    """Its data files are named as the workers resolve them: relative to the shipped ones."""
    toml = Path(path).read_text(encoding="utf-8")
    return control_document(POLICY, actor, reason, at, policy_toml=toml, rollout_percent=rollout_percent)


def allowlist_document(account_id: str, op: str, actor: str, reason: str, at: float | None,
                       expires_at: float | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"account_id": account_id, "op": op}
    if op == ADD:
        if expires_at is None:
            raise ConfigError("allowlist add: --expires is required (an allowlisting always lapses)")
        fields["expires_at"] = format_time(expires_at)
    return control_document(ALLOWLIST, actor, reason, at, **fields)


def key_of(document: dict[str, Any]) -> bytes:
    """Compaction keeps each key's latest record: one policy, one entry per account."""
    if document["kind"] == POLICY:
        return b"policy"
    return f"allowlist:{document['account_id']}".encode()


async def publish(config: Config, document: dict[str, Any], wait_s: float = 0.0) -> dict[str, Any] | None:
    """Publish the change; with ``wait_s``, also wait that long for a worker's verdict on it in
    the audit topic and return that entry (None: no verdict in time, e.g. no worker runs)."""
    verdicts = _audit_log(config, "control-wait", from_end=True) if wait_s > 0 else None
    producer = AIOKafkaProducer(bootstrap_servers=config.bootstrap_servers, acks="all",
                                max_request_size=1024 * 1024, **config.security.aiokafka_kwargs())
    try:
        if verdicts is not None:
            await verdicts.entries()  # positioned at the log's end: the verdict comes after it
        await producer.start()
        try:
            await producer.send_and_wait(topics.CONTROL, orjson.dumps(document), key=key_of(document))
        finally:
            await producer.stop()
        if verdicts is None:
            return None
        deadline = time.monotonic() + wait_s
        while True:
            for entry in await verdicts.entries():
                if entry.get("control_id") == document["control_id"]:
                    return entry
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.2)
    finally:
        if verdicts is not None:
            await verdicts.close()


def _audit_log(config: Config, role: str, from_end: bool = False) -> ControlLog:
    from streams.admin import partition_count

    return ControlLog(lambda: manual_reader(config, role), lambda: partition_count(config, topics.AUDIT),
                      from_end=from_end)


async def audit_entries(config: Config) -> list[dict[str, Any]]:
    """Every entry of the audit topic, in partition order (for ``allowlist list``)."""
    log = _audit_log(config, "allowlist-list")
    try:
        return await log.entries()
    finally:
        await log.close()


def current_allowlist(entries: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """The run-time allowlist in force at ``now`` per the applied audit entries, as the workers
    apply them: account, expiry, who, why."""
    allowlist = RuntimeAllowlist()
    for record in applied_records(entries):
        try:
            change = parse_change(record, "enforce")
        except ControlError:  # applied by a worker with other data files: not an entry anyway
            continue
        if isinstance(change, AllowlistChange):
            allowlist.add(change)
    return [{"account_id": entry.account_id, "expires_at": format_time(entry.expires_at or now), "actor": entry.actor,
             "reason": entry.reason, "control_id": entry.control_id} for entry in allowlist.in_force(now)]
