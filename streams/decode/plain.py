"""The fast paths of the input gate: the usual mini-program event, post and time.

Mini-program events are most of the traffic and posts the largest part of the rest. These
checks pass only documents their schema certainly accepts and build the same event as the
full path, in one pass and about twice as fast as the generated validator; anything they do
not pass goes to the validator and the builders, which decide and name the error.
"""

from __future__ import annotations

from typing import Any

from streams.core.events import MINI_PROGRAM_EVENT_TYPES, MiniProgramEvent, Post, new_mini_program_event
from streams.core.timefmt import parse_time
from streams.decode.limits import _MAX_REENCODED_GROWTH, DecodeLimits
from streams.decode.schemas import _RFC3339_SHAPE, _load_schema_cached
from streams.topics import MINI_PROGRAM_EVENTS as MINIPROGRAM_EVENTS

# The mini-program check mirrors miniprogram.events.v1 (tests/test_decode.py pins the schema
# it was written against) and is stricter in places (an integral float price, a str subclass).
_MP_MAX_PRICE = 1_000_000_000_000_000
_MP_TYPES = MINI_PROGRAM_EVENT_TYPES
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
    :func:`~streams.decode.decoder._build_miniprogram_event` builds it; None if not plainly
    valid (here that includes a time with a fraction of a second, a lower-case "z" or a day
    that does not exist: the validator and the builder decide those)."""
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
    """The post of a plainly valid posts.v1 document, as
    :func:`~streams.decode.decoder._build_post` builds it; None if not plainly valid (the
    validator and the builder decide). Like the mini-program check it only ever passes
    documents the schema accepts (tests/test_decode.py pins the schema)."""
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
