"""Turn raw input messages into core events, or say precisely why not.

This is the one gate between untrusted bytes and the detection core, shared by the live
worker and ``tradewatch replay`` so both accept and reject exactly the same messages.
The checks run cheapest first so a hostile message costs little: size, nesting depth,
JSON (orjson, which also rejects invalid UTF-8, NaN and Infinity), then the topic's JSON
Schema from ``streams/schemas/`` (compiled once per topic with fastjsonschema), then time
parsing. Every failure is a :class:`DecodeError` with a short stable ``reason`` for
metrics and dead-letter headers; nothing else escapes, whatever the input.

Optional input fields may be ``null``; that means the same as leaving them out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import fastjsonschema
import orjson

from streams.core.events import Appeal, InputEvent, MiniProgramEvent, Post, Qualification, new_mini_program_event
from streams.core.timefmt import parse_time
from streams.topics import ACTIONS, APPEALS, INPUT_TOPICS, POSTS, QUALIFICATIONS
from streams.topics import MINI_PROGRAM_EVENTS as MINIPROGRAM_EVENTS

SCHEMA_NAMES = INPUT_TOPICS + (ACTIONS,)

DECODE_REASONS = (
    "too_large",
    "too_deep",
    "invalid_utf8",
    "not_json",
    "not_object",
    "schema",
    "bad_time",
    "unknown_topic",
    "future_time",
    "invalid_internal",
    "unsigned_appeal",
    "bad_signature",
    "unknown_action",
    "internal_error",
)
"""Every value :attr:`DecodeError.reason` can take (a bounded metric label set)."""

_MAX_MESSAGE_CHARS = 300

# RFC 3339 section 5.6, strictly: an offset is required and has a colon. fastjsonschema's
# built-in date-time pattern also accepts "+0800", which RFC 3339 validators reject.
# Whether the date exists (no 30 February) is left to parse_time.
RFC3339_DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)

# A JSON string literal (escapes included): what the precise depth scan ignores.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# Opening brackets step the depth by +1, closing ones by -1 (0xFF as a signed byte).
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class DecodeError(Exception):
    """A message that cannot become an input event; never carries the message's text."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message[:_MAX_MESSAGE_CHARS]


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds checked before parsing, so a hostile message cannot cost much."""

    max_bytes: int = 1_048_576
    max_depth: int = 32


DEFAULT_LIMITS = DecodeLimits()


def schema_dir() -> Path:
    """Where the topic schemas live: ``streams/schemas`` in the package (the wheel, the image
    and a checkout read the same files)."""
    return Path(__file__).resolve().parent / "schemas"


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


def decode_input(
    topic: str, raw: bytes | str | dict, limits: DecodeLimits = DEFAULT_LIMITS
) -> InputEvent:
    """Decode one input message (bytes from Kafka, or a dict already parsed by replay)."""
    return _decode(topic, lambda: raw if isinstance(raw, dict) else _parse(topic, raw, limits))


def decode_document(
    topic: str, document: dict, encoded: bytes | None, limits: DecodeLimits = DEFAULT_LIMITS
) -> InputEvent:
    """:func:`decode_input` for a value that is already parsed, with ``encoded`` its JSON text.

    Same result and same errors as ``decode_input(topic, encoded, limits)`` (the limits are
    checked on ``encoded``), without parsing the text a second time: replay reads the
    message out of a recording line it has just parsed. ``encoded=None`` says the caller
    knows the text is within the limits (see :func:`certainly_within_limits`).
    """

    if encoded is None:  # replay's usual case: no closure to build
        return _decode(topic, None, document)

    def checked() -> dict:
        _check_limits(topic, encoded, limits)
        return document

    return _decode(topic, checked)


def _decode(topic: str, document_of: Callable[[], dict] | None, document: Any = None) -> InputEvent:
    """The topic's builder over the validated document (``document_of()``, else ``document``);
    every failure is a DecodeError."""
    try:
        builder = _BUILDERS.get(topic)
        if builder is None:
            raise DecodeError("unknown_topic", f"{str(topic)[:80]!r} is not an input topic")
        if document_of is not None:
            document = document_of()
        if topic == MINIPROGRAM_EVENTS:  # most of the traffic: one pass checks and builds
            event: InputEvent | None = _plain_mini_program_event(document)
            if event is not None:
                return event
        elif topic == POSTS:
            event = _plain_post(document)
            if event is not None:
                return event
        _validate(topic, document)
        return builder(topic, document)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract is "DecodeError only"
        raise DecodeError("schema", f"{topic}: {type(exc).__name__}") from None


def validate_action(action: dict) -> None:
    """Check an output action against enforcement.actions.v1 before it is sent."""
    try:
        _validate(ACTIONS, action)
    except DecodeError as exc:
        if exc.reason == "bad_time":
            raise DecodeError("schema", exc.message) from None
        raise
    except Exception as exc:  # noqa: BLE001
        raise DecodeError("schema", f"{ACTIONS}: {type(exc).__name__}") from None


# --- byte stage -------------------------------------------------------------------------


def _parse(topic: str, raw: Any, limits: DecodeLimits) -> dict:
    if isinstance(raw, str):
        if len(raw) > limits.max_bytes:
            raise DecodeError("too_large", f"{topic}: more than {limits.max_bytes} bytes")
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError("invalid_utf8", f"{topic}: text is not valid UTF-8") from None
    elif isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    elif not isinstance(raw, bytes):
        raise DecodeError("not_json", f"{topic}: no value ({type(raw).__name__})")
    _check_limits(topic, raw, limits)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Classify only on failure: the happy path pays for one UTF-8 check, orjson's.
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("invalid_utf8", f"{topic}: value is not valid UTF-8") from None
        raise DecodeError("not_json", f"{topic}: value is not JSON") from None
    if not isinstance(document, dict):
        raise DecodeError(
            "not_object", f"{topic}: value is a JSON {_json_kind(document)}, not an object"
        )
    return document


# orjson re-encodes a parsed JSON value in at most this many times the bytes of the text it
# was parsed from: strings and structure never grow (no whitespace, escapes only where JSON
# requires them), and a number token of n >= 1 characters becomes at most ~4.5 n ("9e15" ->
# "9000000000000000.0"; a float never takes more than 24 characters, an integer keeps its
# digits). 8 leaves a margin; tests/test_decode.py checks the bound on generated documents.
_MAX_REENCODED_GROWTH = 8


def certainly_within_limits(source: bytes, limits: DecodeLimits, value: Any = None) -> bool:
    """True if every JSON value parsed out of ``source`` passes the size and depth limits
    once re-encoded with ``orjson.dumps``, so replay need not re-encode it to check.
    ``value``, if given, is the value in question (parsed out of ``source``).

    Depth: every structural bracket of the value appears literally in ``source``; an object
    whose members are all scalars (most messages) has depth 1 without counting brackets.
    False means "not certain": check the re-encoded text.
    """
    if len(source) * _MAX_REENCODED_GROWTH > limits.max_bytes:
        return False
    if type(value) is dict and _SCALAR_TYPES.issuperset(map(type, value.values())):
        return limits.max_depth >= 1
    return source.count(b"{") + source.count(b"[") <= limits.max_depth


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _check_limits(topic: str, raw: bytes, limits: DecodeLimits) -> None:
    if len(raw) > limits.max_bytes:
        raise DecodeError("too_large", f"{topic}: more than {limits.max_bytes} bytes")
    if raw.count(b"{") + raw.count(b"[") > limits.max_depth:
        depth = nesting_depth(raw)
        if depth > limits.max_depth:
            raise DecodeError(
                "too_deep", f"{topic}: nesting deeper than {limits.max_depth} levels"
            )


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting of a JSON text, ignoring brackets inside strings.

    Linear and loop-free in Python (regex, translate, accumulate run in C), so a
    100,000-deep message is rejected in milliseconds without recursion.
    """
    without_strings = _JSON_STRING.sub(b"", raw)
    unterminated = without_strings.find(b'"')
    if unterminated >= 0:  # the rest is inside a string that never closes
        without_strings = without_strings[:unterminated]
    steps = without_strings.translate(None, _NOT_BRACKETS).translate(_DEPTH_STEP)
    if not steps:
        return 0
    signed = memoryview(steps).cast("b")
    return max(0, max(accumulate(signed)))


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


# --- schema stage -----------------------------------------------------------------------


def _validate(topic: str, document: Any) -> None:
    """The topic's schema (mini-program events that are plainly valid never get here)."""
    try:
        _validator(topic)(document)
    except fastjsonschema.JsonSchemaValueException as exc:
        # exc.message names the field path and the rule, never the offending value.
        reason = "bad_time" if exc.rule == "format" else "schema"
        raise DecodeError(reason, f"{topic}: {exc.message}") from None


# Mini-program events are most of the traffic; this check is about twice as fast as the
# generated validator. It mirrors miniprogram.events.v1 (tests/test_decode.py pins the schema
# it was written against) and is stricter in places (an integral float price, a str subclass):
# anything it does not pass goes to the full validator, which decides and names the error.
_MP_MAX_PRICE = 1_000_000_000_000_000
_MP_TYPES = frozenset(_load_schema_cached(MINIPROGRAM_EVENTS)["properties"]["type"]["enum"])
_MP_MEMBERS = frozenset(_load_schema_cached(MINIPROGRAM_EVENTS)["properties"])


def plain_mini_program_event(source: bytes, document: Any, limits: DecodeLimits) -> MiniProgramEvent | None:
    """``decode_document("miniprogram.events.v1", document, None, limits)`` for the usual
    message, else None (then decode it that way): ``document`` was parsed out of ``source``,
    is plainly valid and has no members but the schema's, so every member is a scalar and
    its text, re-encoded, is certainly within the limits (see certainly_within_limits)."""
    if len(source) * _MAX_REENCODED_GROWTH > limits.max_bytes or limits.max_depth < 1:
        return None
    event = _plain_mini_program_event(document)
    if event is None or not document.keys() <= _MP_MEMBERS:
        return None
    return event


def _plainly_valid_mini_program_event(d: Any) -> bool:
    """True only for documents that miniprogram.events.v1 accepts (not for all of them)."""
    return _plain_mini_program_event(d) is not None


def _plain_mini_program_event(d: Any) -> MiniProgramEvent | None:
    """The event of a plainly valid mini-program document (see above), as
    :func:`_build_miniprogram_event` builds it; None if not plainly valid (here that
    includes a time with a fraction of a second, a lower-case "z" or a day that does not
    exist: the validator and the builder decide those)."""
    if type(d) is not dict:
        return None
    get = d.get
    event_id, app_id, owner, user = get("event_id"), get("app_id"), get("owner_account_id"), get("user_id")
    # ids: strings of 1-128 characters
    if not (type(event_id) is str and type(app_id) is str and type(owner) is str and type(user) is str):
        return None
    if not (0 < len(event_id) <= 128 and 0 < len(app_id) <= 128 and 0 < len(owner) <= 128 and 0 < len(user) <= 128):
        return None
    kind = get("type")
    if type(kind) is not str or kind not in _MP_TYPES:
        return None
    occurred_at = _plain_time(get("occurred_at"))
    if occurred_at is None:
        return None
    acquired_at = get("acquired_at")
    if acquired_at is not None:
        acquired_at = _plain_time(acquired_at)
        if acquired_at is None:
            return None
    counterparty, item, collection = get("counterparty_id"), get("item_id"), get("collection_id")
    if not (  # optional ids: strings <= 128, or null
        (counterparty is None or (type(counterparty) is str and len(counterparty) <= 128))
        and (item is None or (type(item) is str and len(item) <= 128))
        and (collection is None or (type(collection) is str and len(collection) <= 128))
    ):
        return None
    price, issue_price = get("price_cents"), get("issue_price_cents")
    if not (  # integers 0 - 10**15, or null
        (price is None or (type(price) is int and 0 <= price <= _MP_MAX_PRICE))
        and (issue_price is None or (type(issue_price) is int and 0 <= issue_price <= _MP_MAX_PRICE))
    ):
        return None
    currency = get("currency")
    if not (currency is None or (type(currency) is str and 0 < len(currency) <= 16)):
        return None
    return new_mini_program_event(
        event_id, app_id, owner, occurred_at, kind, user, counterparty, item, collection, price, issue_price,
        currency or "CNY", acquired_at,
    )


def _plain_post(d: Any) -> Post | None:
    """The post of a plainly valid posts.v1 document, as :func:`_build_post` builds it; None
    if not plainly valid (the validator and the builder decide). Like the mini-program check
    it only ever passes documents the schema accepts (tests/test_decode.py pins the schema)."""
    if type(d) is not dict:
        return None
    get = d.get
    event_id, account_id, text = get("event_id"), get("account_id"), get("text")
    if not (type(event_id) is str and type(account_id) is str and type(text) is str):
        return None
    if not (0 < len(event_id) <= 128 and 0 < len(account_id) <= 128 and len(text) <= 100_000):
        return None
    published_at = _plain_time(get("published_at"))
    if published_at is None:
        return None
    account_name, title = get("account_name"), get("title")
    if not (
        (account_name is None or (type(account_name) is str and len(account_name) <= 256))
        and (title is None or (type(title) is str and len(title) <= 1000))
    ):
        return None
    links, mini_program_ids = get("links"), get("mini_program_ids")
    if links is not None:
        if type(links) is not list or len(links) > 100:
            return None
        for link in links:
            if type(link) is not str or len(link) > 2048:
                return None
    if mini_program_ids is not None:
        if type(mini_program_ids) is not list or len(mini_program_ids) > 50:
            return None
        for app_id in mini_program_ids:
            if type(app_id) is not str or not 0 < len(app_id) <= 128:
                return None
    return Post(
        event_id, account_id, published_at, text, title or "", account_name or "", tuple(links or ()),
        tuple(mini_program_ids or ()),
    )


# --- building the core's dataclasses ----------------------------------------------------


def _time(topic: str, document: dict, field: str) -> float:
    return _time_of(topic, field, document[field])


def _time_of(topic: str, field: str, value: str) -> float:
    seconds = _plain_time(value)  # the usual time: exact, from a cache of hour starts
    if seconds is not None:
        return seconds
    if value[-1] == "z":  # RFC 3339 allows a lower-case "z"; fromisoformat does not
        value = value[:-1] + "Z"
    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        raise DecodeError("bad_time", f"{topic}: data.{field} is not a valid time") from None


# "00:00".."59:59" -> its seconds: minutes and seconds of a time, exactly as RFC 3339 writes them
_MINUTES_SECONDS = {f"{m:02d}:{s:02d}": 60 * m + s for m in range(60) for s in range(60)}
# date, hour and offset (e.g. "2022-03-20T08+08:00") -> epoch seconds of that hour's start,
# only for keys of texts that matched the RFC 3339 shape (see _plain_time)
_HOUR_STARTS: dict[str, float] = {}
_MAX_HOUR_STARTS = 100_000


def _plain_time(value: Any) -> float | None:
    """A whole-second time ("...T08:15:23+08:00" or "...T08:15:23Z") that certainly has the
    RFC 3339 shape and exists, as :func:`parse_time` gives it; None when not certain (any
    other text: the caller checks and parses it in full).

    The first text of each date, hour and offset is matched against the shape and its hour
    is parsed; a later text with the same date, hour and offset, a colon and valid minutes
    and seconds has the shape as well (every other character of the shape is in those
    parts). The time is exactly parse_time's float: that is ``datetime.timestamp()``, a whole
    number of seconds here, and the hour's start plus minutes and seconds is that number.
    """
    if type(value) is not str:
        return None
    within_hour = _MINUTES_SECONDS.get(value[14:19])
    if within_hour is None or value[13] != ":":
        return None
    # a cached key came from a text of the shape, so it fixes every other character (and the
    # length) of this one: the usual case ends here
    key = value[:13] + value[19:]
    start = _HOUR_STARTS.get(key)
    if start is not None:
        return start + within_hour  # a float plus an int: the exact whole number
    length = len(value)
    if length == 25:
        if value[19] not in "+-" or value[22] != ":":
            return None
    elif length != 20 or value[19] != "Z":
        return None
    if not _RFC3339_SHAPE.match(value):
        return None
    try:
        hour_start = parse_time(value[:13] + ":00:00" + value[19:])
    except (ValueError, OverflowError):
        return None
    if hour_start != int(hour_start):
        return None
    if len(_HOUR_STARTS) >= _MAX_HOUR_STARTS:
        _HOUR_STARTS.clear()
    _HOUR_STARTS[key] = hour_start
    return hour_start + within_hour


def _optional_time(topic: str, document: dict, field: str) -> float | None:
    if document.get(field) is None:
        return None
    return _time(topic, document, field)


def _optional_int(value: Any) -> int | None:
    # The schema admits integral floats such as 100.0 (JSON has one number type).
    return None if value is None else int(value)


def _build_post(topic: str, d: dict) -> Post:
    return Post(
        event_id=d["event_id"],
        account_id=d["account_id"],
        published_at=_time(topic, d, "published_at"),
        text=d["text"],
        title=d.get("title") or "",
        account_name=d.get("account_name") or "",
        links=tuple(d.get("links") or ()),
        mini_program_ids=tuple(d.get("mini_program_ids") or ()),
    )


def _build_miniprogram_event(topic: str, d: dict) -> MiniProgramEvent:
    get = d.get
    price = get("price_cents")
    issue_price = get("issue_price_cents")
    return MiniProgramEvent(  # positional (most of the traffic): in the field order of the class
        d["event_id"],
        d["app_id"],
        d["owner_account_id"],
        _time(topic, d, "occurred_at"),
        d["type"],
        d["user_id"],
        get("counterparty_id"),
        get("item_id"),
        get("collection_id"),
        None if price is None else int(price),
        None if issue_price is None else int(issue_price),
        get("currency") or "CNY",
        None if get("acquired_at") is None else _time(topic, d, "acquired_at"),
    )


def _build_qualification(topic: str, d: dict) -> Qualification:
    return Qualification(
        account_id=d["account_id"],
        status=d["status"],
        updated_at=_time(topic, d, "updated_at"),
        licences=tuple(d.get("licences") or ()),
        valid_until=_optional_time(topic, d, "valid_until"),
    )


def _build_appeal(topic: str, d: dict) -> Appeal:
    return Appeal(
        appeal_id=d["appeal_id"],
        account_id=d["account_id"],
        action_id=d["action_id"],
        outcome=d["outcome"],
        reviewer=d["reviewer"],
        decided_at=_time(topic, d, "decided_at"),
        note=d.get("note") or "",
    )


_BUILDERS: dict[str, Callable[[str, dict], InputEvent]] = {
    POSTS: _build_post,
    MINIPROGRAM_EVENTS: _build_miniprogram_event,
    QUALIFICATIONS: _build_qualification,
    APPEALS: _build_appeal,
}
