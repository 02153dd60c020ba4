"""Encoding and routing of the internal ``subject-inputs`` topic: validated inputs, re-keyed by account.

Inputs are validated once, at intake; what crosses the re-keying hop is the decoded event as
a compact JSON array (kind, produced-at timestamp, then the dataclass fields in order), so
the deciding agent never parses or validates the original message again.

Intake re-keys a whole batch at once: every event bound for one partition of the internal
topic travels in one **bundle** message sent to that partition explicitly:
``["W", {marks}, {partition counts}, [account, kind, produced_at, fields…], …]`` — the
watermark marks of the input partitions that intake owns (:mod:`streams.watermark`), then the
events. Every internal partition gets a record (with no events if none are bound for it), so
every deciding side learns how far each input has been read. One message per partition per batch instead of one per
event is what makes the hop cheap: Faust's per-message cost is paid once per bundle. The
partition is the one Kafka's default partitioner (murmur2, as the Java client and aiokafka)
gives the account, so the table's changelog partition matches the key.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import orjson
from aiokafka.partitioner import murmur2

from streams.core.events import Appeal, ControlRecord, InputEvent, MiniProgramEvent, Post, Qualification, Tick
from streams.core.rejections import INVALID_INTERNAL
from streams.decode import DecodeError
from streams.topics import INPUT_TOPICS

_KINDS: dict[str, type] = {"p": Post, "m": MiniProgramEvent, "q": Qualification, "a": Appeal, "t": Tick,
                           "c": ControlRecord}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
# dataclasses.astuple deep-copies every field; one getattr per field is several times cheaper
_FIELD_NAMES = {cls: tuple(f.name for f in fields(cls)) for cls in _KINDS.values()}
_TUPLE_FIELDS = {Post: (6, 7), Qualification: (3,)}  # positions of tuple-typed fields
BUNDLE = "B"  # events only (written by earlier versions; still read)
MARKED = "W"  # watermark marks, partition counts, then events
MAX_MARKS = 4096  # input partitions one record may report
# a bundle stays well under the broker's default message.max.bytes (1 MiB); a larger event goes alone
MAX_BUNDLE_BYTES = 256 * 1024


def encode_event(event: InputEvent, produced_at: float | None) -> bytes:
    """One event as a message of its own (keyed by its account): the tick and dead letters."""
    cls = type(event)
    return orjson.dumps([_KIND_OF[cls], produced_at, *[getattr(event, name) for name in _FIELD_NAMES[cls]]])


def encode_entry(event: InputEvent, produced_at: float | None) -> bytes:
    """One event as an entry of a bundle: its account first, since a bundle has no key per event."""
    cls = type(event)
    return orjson.dumps(
        [event.subject_account, _KIND_OF[cls], produced_at, *[getattr(event, name) for name in _FIELD_NAMES[cls]]]
    )


def join_bundle(entries: list[bytes], marks: Mapping[str, float] | None = None,
                partitions: Mapping[str, int] | None = None) -> bytes:
    if marks is None:
        return b'["B",' + b",".join(entries) + b"]"
    head = b'["W",' + orjson.dumps(marks) + b"," + orjson.dumps(partitions or {})
    return head + b"".join(b"," + entry for entry in entries) + b"]"


@dataclass
class InternalRecord:
    """One record of the internal topic: its events, and the watermark marks it carries."""

    items: list[tuple[bytes, InputEvent, float | None]]
    marks: dict[str, float] = field(default_factory=dict)
    partitions: dict[str, int] = field(default_factory=dict)


def decode_message(key: bytes | None, raw: bytes, latest: float = math.inf) -> list[tuple[bytes, InputEvent, float | None]]:
    """(account, event, produced_at) for each event of a record; see :func:`decode_record`."""
    return decode_record(key, raw, latest).items


def decode_record(key: bytes | None, raw: bytes, latest: float = math.inf) -> InternalRecord:
    """The events of a bundle (or of a single keyed event), and the marks it carries.

    The internal topic is a trust boundary too: anyone who can write it could otherwise make
    an account immune (a tick far in the future makes every later event stale) or put one
    account's events into another's state. Every record is checked — only intake's record
    kinds, every field of its type, the entry's account the event's own, no time after
    ``latest`` (the wall clock plus the allowed skew; a mark too, or a forged mark could judge
    every deadline at once) — and a record that fails raises :class:`DecodeError` (reason
    ``invalid_internal``) before the core sees any of it.
    """
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise DecodeError(INVALID_INTERNAL, "not JSON") from None
    if not isinstance(decoded, list) or not decoded:
        raise DecodeError(INVALID_INTERNAL, "not a record of the internal topic")
    marks: dict[str, float] = {}
    partitions: dict[str, int] = {}
    if decoded[0] == MARKED:
        if len(decoded) < 3:
            raise DecodeError(INVALID_INTERNAL, "a marked bundle without its marks")
        marks, partitions = _marks(decoded[1], decoded[2], latest)
        decoded = [BUNDLE, *decoded[3:]]
    if decoded[0] == BUNDLE:
        entries = decoded[1:]
        for entry in entries:
            if not isinstance(entry, list) or len(entry) < 3 or not isinstance(entry[0], str):
                raise DecodeError(INVALID_INTERNAL, "malformed bundle entry")
        items = [(account.encode(), _build(kind, values, account, latest), produced_at)
                 for account, kind, produced_at, *values in entries]
    else:
        kind, produced_at, *values = decoded
        account = (key or b"").decode("utf-8", "replace")
        items = [(key or b"", _build(kind, values, account, latest), produced_at)]
    for _, _, produced_at in items:
        if produced_at is not None and not _is_time(produced_at):
            raise DecodeError(INVALID_INTERNAL, "produced-at is not a time")
    return InternalRecord(items, marks, partitions)


def _marks(marks: Any, partitions: Any, latest: float) -> tuple[dict[str, float], dict[str, int]]:
    if (not isinstance(partitions, dict) or not all(topic in INPUT_TOPICS and _count(number) and 0 < number <= MAX_MARKS
                                                    for topic, number in partitions.items())):
        raise DecodeError(INVALID_INTERNAL, "partition counts of unknown topics or out of range")
    if not isinstance(marks, dict) or len(marks) > MAX_MARKS:
        raise DecodeError(INVALID_INTERNAL, "marks are not an object of input partitions")
    for name, mark in marks.items():
        topic, _, partition = name.rpartition(":")
        if topic not in INPUT_TOPICS or not partition.isdigit() or not _is_time(mark):
            raise DecodeError(INVALID_INTERNAL, f"a mark of an unknown input partition {name[:40]!r}")
        if mark > latest:
            raise DecodeError(INVALID_INTERNAL, "a watermark mark timed after the wall clock")
    return marks, partitions


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _opt(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


def _strs(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# per kind, a check per field, in field order (the dataclass's)
_FIELD_CHECKS: dict[type, tuple[Callable[[Any], bool], ...]] = {
    Post: (_str, _str, _is_time, _str, _str, _str, _strs, _strs),
    MiniProgramEvent: (_str, _str, _str, _is_time, _str, _str, _opt(_str), _opt(_str), _opt(_str),
                       _opt(_count), _opt(_count), _str, _opt(_is_time)),
    Qualification: (_str, _str, _is_time, _strs, _opt(_is_time)),
    Appeal: (_str, _str, _str, _str, _str, _is_time, _str),
    Tick: (_str, _is_time),
    ControlRecord: (_str, _is_time, _str),
}
assert all(len(checks) == len(_FIELD_NAMES[cls]) for cls, checks in _FIELD_CHECKS.items())


def _build(kind: Any, values: list, account: str, latest: float) -> InputEvent:
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise DecodeError(INVALID_INTERNAL, f"unknown record kind {str(kind)[:20]!r}")
    checks = _FIELD_CHECKS[cls]
    if len(values) != len(checks) or not all(check(value) for check, value in zip(checks, values)):
        raise DecodeError(INVALID_INTERNAL, f"a {cls.__name__} record with fields of the wrong number or type")
    for position in _TUPLE_FIELDS.get(cls, ()):
        values[position] = tuple(values[position])
    event = cls(*values)
    if event.subject_account != account:
        raise DecodeError(INVALID_INTERNAL, f"a {cls.__name__} record filed under another account")
    if event.event_time > latest:
        raise DecodeError(INVALID_INTERNAL, f"a {cls.__name__} record timed after the wall clock")
    return event


@functools.lru_cache(maxsize=16384)
def subject_partition(account: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives this key (murmur2, positive, modulo).
    Cached: an account's events come again and again, and murmur2 in Python costs several µs."""
    return (murmur2(account) & 0x7FFFFFFF) % partitions


class Bundler:
    """Collects one batch's encoded events per internal partition, each bundle under the size cap."""

    def __init__(self, partitions: int, max_bytes: int = MAX_BUNDLE_BYTES) -> None:
        self.partitions = partitions
        self.max_bytes = max_bytes
        self._open: dict[int, tuple[list[bytes], int]] = {}
        self._full: list[tuple[int, list[bytes]]] = []

    def add(self, event: InputEvent, produced_at: float | None) -> None:
        partition = subject_partition(event.subject_account.encode(), self.partitions)
        self._place(partition, encode_entry(event, produced_at))

    def broadcast(self, event: InputEvent, produced_at: float | None) -> None:
        """An event for every deciding side (a control record): one entry in every partition."""
        entry = encode_entry(event, produced_at)
        for partition in range(self.partitions):
            self._place(partition, entry)

    def _place(self, partition: int, entry: bytes) -> None:
        entries, size = self._open.get(partition, ([], 0))
        if entries and size + len(entry) > self.max_bytes:
            self._full.append((partition, entries))
            entries, size = [], 0
        entries.append(entry)
        self._open[partition] = (entries, size + len(entry) + 1)

    def drain(self, marks: Mapping[str, float], partitions: Mapping[str, int]) -> list[tuple[int, bytes]]:
        """(partition, record) to send, in the order events arrived per partition; resets the batch.

        Every internal partition gets a record carrying the marks, after its events."""
        out = [(partition, join_bundle(entries)) for partition, entries in self._full]
        for partition in range(self.partitions):
            entries, _ = self._open.get(partition, ([], 0))
            out.append((partition, join_bundle(entries, marks, partitions)))
        self._full, self._open = [], {}
        return out
