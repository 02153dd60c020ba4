"""Encoding of the internal ``subject-inputs`` topic: validated inputs, re-keyed by account.

Inputs are validated once, at intake; what crosses the re-keying hop is the decoded event as
a compact JSON array (kind, produced-at timestamp, then the dataclass fields in order), so
the deciding agent never parses or validates the original message again.
"""

from __future__ import annotations

from dataclasses import fields

import orjson

from streams.core.events import Appeal, InputEvent, MiniProgramEvent, Post, Qualification, Tick

_KINDS: dict[str, type] = {"p": Post, "m": MiniProgramEvent, "q": Qualification, "a": Appeal, "t": Tick}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}
# dataclasses.astuple deep-copies every field; one getattr per field is several times cheaper
_FIELD_NAMES = {cls: tuple(f.name for f in fields(cls)) for cls in _KINDS.values()}
_TUPLE_FIELDS = {Post: (6, 7), Qualification: (3,)}  # positions of tuple-typed fields


def encode_event(event: InputEvent, produced_at: float | None) -> bytes:
    """Bytes for the internal topic; ``produced_at`` is the source message's Kafka timestamp (s)."""
    cls = type(event)
    return orjson.dumps([_KIND_OF[cls], produced_at, *[getattr(event, name) for name in _FIELD_NAMES[cls]]])


def decode_event(raw: bytes) -> tuple[InputEvent, float | None]:
    kind, produced_at, *values = orjson.loads(raw)
    cls = _KINDS[kind]
    for position in _TUPLE_FIELDS.get(cls, ()):
        values[position] = tuple(values[position])
    return cls(*values), produced_at
