"""The input gate's entry points, and the builders of the core's dataclasses.

:func:`decode_input` and :func:`decode_document` run a message through the stages (the byte
stage, then the fast path or the schema, then the builder, which parses the times) and
return an input event; every failure is a :class:`DecodeError`. :func:`validate_action`
checks an output action against its schema before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from streams.core.events import Appeal, ControlRecord, InputEvent, MiniProgramEvent, Post, Qualification
from streams.core.rejections import BAD_TIME, SCHEMA, UNKNOWN_TOPIC
from streams.core.timefmt import parse_time
from streams.decode.errors import DecodeError
from streams.decode.limits import DEFAULT_LIMITS, DecodeLimits, _check_limits, _parse
from streams.decode.plain import _plain_mini_program_event, _plain_post, _plain_time
from streams.decode.schemas import _validate
from streams.topics import ACTIONS, APPEALS, CONTROL, POSTS, QUALIFICATIONS
from streams.topics import MINI_PROGRAM_EVENTS as MINIPROGRAM_EVENTS


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
            raise DecodeError(UNKNOWN_TOPIC, f"{str(topic)[:80]!r} is not an input topic")
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
        raise DecodeError(SCHEMA, f"{topic}: {type(exc).__name__}") from None


def validate_action(action: dict) -> None:
    """Check an output action against enforcement.actions.v1 before it is sent."""
    try:
        _validate(ACTIONS, action)
    except DecodeError as exc:
        if exc.reason == BAD_TIME:
            raise DecodeError(SCHEMA, exc.message) from None
        raise
    except Exception as exc:  # noqa: BLE001
        raise DecodeError(SCHEMA, f"{ACTIONS}: {type(exc).__name__}") from None


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
        raise DecodeError(BAD_TIME, f"{topic}: data.{field} is not a valid time") from None


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


_CONTROL_FIELDS = ("control_id", "kind", "effective_at", "actor", "reason", "policy_toml", "rollout_percent",
                   "account_id", "op", "expires_at")  # the schema's: unknown extra fields are ignored


def _build_control(topic: str, d: dict) -> ControlRecord:
    # the document travels whole: what a change means is the core's (streams/core/control.py)
    known = {name: d[name] for name in _CONTROL_FIELDS if name in d}
    return ControlRecord(d["control_id"], _time(topic, d, "effective_at"), orjson.dumps(known).decode())


_BUILDERS: dict[str, Callable[[str, dict], InputEvent]] = {
    POSTS: _build_post,
    MINIPROGRAM_EVENTS: _build_miniprogram_event,
    QUALIFICATIONS: _build_qualification,
    APPEALS: _build_appeal,
    CONTROL: _build_control,
}
