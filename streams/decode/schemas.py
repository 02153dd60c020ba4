"""The topics' JSON Schemas: where they live, and their validators, compiled once per topic.

The schemas in ``streams/schemas/`` are the contract with the producers and consumers of
every topic. fastjsonschema compiles each into Python once per process; the date-time
format is RFC 3339 exactly, which is stricter than fastjsonschema's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from streams.core.rejections import BAD_TIME, SCHEMA
from streams.core.timefmt import parse_time
from streams.decode.errors import DecodeError
from streams.topics import ACTIONS, INPUT_TOPICS

SCHEMA_NAMES = INPUT_TOPICS + (ACTIONS,)

# RFC 3339 section 5.6, strictly: an offset is required and has a colon. fastjsonschema's
# built-in date-time pattern also accepts "+0800", which RFC 3339 validators reject.
# Whether the date exists (no 30 February) is left to parse_time.
RFC3339_DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)


def schema_dir() -> Path:
    """Where the topic schemas live: ``streams/schemas`` in the package (the wheel, the image
    and a checkout read the same files)."""
    return Path(__file__).resolve().parent.parent / "schemas"


@cache
def _load_schema_cached(name: str) -> dict:
    path = schema_dir() / f"{name}.schema.json"
    return orjson.loads(path.read_bytes())


def load_schema(name: str) -> dict:
    """The JSON Schema of a topic, e.g. ``load_schema("posts.v1")`` (a fresh copy)."""
    if name.endswith(".schema.json"):
        name = name[: -len(".schema.json")]
    # orjson round trip: a cheap deep copy, so callers cannot corrupt the cache.
    return orjson.loads(orjson.dumps(_load_schema_cached(name)))


_RFC3339_SHAPE = re.compile(RFC3339_DATE_TIME)


def _is_existing_rfc3339_time(value: str) -> bool:
    """Shape and calendar: for outputs, which have no later time-parsing stage."""
    if not _RFC3339_SHAPE.match(value):
        return False
    try:
        parse_time(value[:-1] + "Z" if value[-1] == "z" else value)
    except (ValueError, OverflowError):
        return False
    return True


@cache
def _validator(name: str) -> Callable[[Any], Any]:
    """fastjsonschema's generated validator for a topic, compiled once per process.

    Inputs check only the time shape here (cheap regex); the builders parse the times
    anyway and report an impossible date as ``bad_time``. Outputs check both.
    """
    date_time: Any = _is_existing_rfc3339_time if name == ACTIONS else RFC3339_DATE_TIME
    return fastjsonschema.compile(_load_schema_cached(name), formats={"date-time": date_time})


def _validate(topic: str, document: Any) -> None:
    """The topic's schema (mini-program events that are plainly valid never get here)."""
    try:
        _validator(topic)(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        # exc.message names the field path and the rule, never the offending value.
        reason = BAD_TIME if exc.rule == "format" else SCHEMA
        raise DecodeError(reason, f"{topic}: {exc.message}") from None
