"""Encoding and routing of the internal ``subject-inputs`` topic: validated inputs, re-keyed by account.

Inputs are validated once, at intake; what crosses the re-keying hop is the decoded event as
a compact JSON array (kind, produced-at timestamp, then the dataclass fields in order), so
the deciding agent never parses or validates the original message again.

Intake re-keys a whole batch at once: every event bound for one partition of the internal
topic travels in one **bundle** message (``["B", [account, kind, produced_at, fields…], …]``)
sent to that partition explicitly. One message per partition per batch instead of one per
event is what makes the hop cheap: Faust's per-message cost is paid once per bundle. The
partition is the one Kafka's default partitioner (murmur2, as the Java client and aiokafka)
gives the account, so a bundle and a single keyed message (the deadline tick) for the same
account meet in the same partition, and the table's changelog partition matches the key.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Iterator

import orjson
from aiokafka.partitioner import murmur2

from streams.core.events import Appeal, InputEvent, MiniProgramEvent, Post, Qualification, Tick

_KINDS: dict[str, type] = {"p": Post, "m": MiniProgramEvent, "q": Qualification, "a": Appeal, "t": Tick}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
# dataclasses.astuple deep-copies every field; one getattr per field is several times cheaper
_FIELD_NAMES = {cls: tuple(f.name for f in fields(cls)) for cls in _KINDS.values()}
_TUPLE_FIELDS = {Post: (6, 7), Qualification: (3,)}  # positions of tuple-typed fields
BUNDLE = "B"
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


def join_bundle(entries: list[bytes]) -> bytes:
    return b'["B",' + b",".join(entries) + b"]"


def decode_message(key: bytes | None, raw: bytes) -> Iterator[tuple[bytes, InputEvent, float | None]]:
    """(account, event, produced_at) for each event of a bundle, or of a single keyed event."""
    decoded = orjson.loads(raw)
    if decoded[0] == BUNDLE:
        for account, kind, produced_at, *values in decoded[1:]:
            yield account.encode(), _build(kind, values), produced_at
    else:
        kind, produced_at, *values = decoded
        yield key or b"", _build(kind, values), produced_at


def _build(kind: str, values: list) -> InputEvent:
    cls = _KINDS[kind]
    for position in _TUPLE_FIELDS.get(cls, ()):
        values[position] = tuple(values[position])
    return cls(*values)


def subject_partition(account: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives this key (murmur2, positive, modulo)."""
    return (murmur2(account) & 0x7FFFFFFF) % partitions


class Bundler:
    """Collects one batch's encoded events per internal partition, each bundle under the size cap."""

    def __init__(self, partitions: int, max_bytes: int = MAX_BUNDLE_BYTES) -> None:
        self.partitions = partitions
        self.max_bytes = max_bytes
        self._open: dict[int, tuple[list[bytes], int]] = {}
        self._full: list[tuple[int, bytes]] = []

    def add(self, event: InputEvent, produced_at: float | None) -> None:
        partition = subject_partition(event.subject_account.encode(), self.partitions)  # ~2 µs
        entry = encode_entry(event, produced_at)
        entries, size = self._open.get(partition, ([], 0))
        if entries and size + len(entry) > self.max_bytes:
            self._full.append((partition, join_bundle(entries)))
            entries, size = [], 0
        entries.append(entry)
        self._open[partition] = (entries, size + len(entry) + 1)

    def drain(self) -> list[tuple[int, bytes]]:
        """(partition, bundle) to send, in the order events arrived per partition; resets the batch."""
        out = self._full + [(partition, join_bundle(entries)) for partition, (entries, _) in self._open.items()]
        self._full, self._open = [], {}
        return out
