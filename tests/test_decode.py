"""The input gate: every bad message is rejected with a stable reason, cheaply and safely,
and nothing but an input event or a DecodeError ever comes out."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.events import MINI_PROGRAM_EVENT_KINDS, Appeal, MiniProgramEvent, Post, Qualification
from streams.core.rejections import REJECTION_CODES
from streams.core.timefmt import parse_time
from streams.decode import (
    DecodeError,
    DecodeLimits,
    certainly_within_limits,
    decode_document,
    decode_input,
    load_schema,
    nesting_depth,
    schema_dir,
    validate_action,
)
from streams.decode.limits import _MAX_REENCODED_GROWTH
from streams.decode.plain import _MP_TYPES, _plainly_valid_mini_program_event
from streams.decode.schemas import _validator
from streams.topics import CONTROL, INPUT_TOPICS

SECRET_TEXT = "机密正文-do-not-log-7f3a"


def make_post(**overrides: Any) -> dict:
    post = {
        "event_id": "post-1",
        "account_id": "gh_1a2b3c4d5e6f",
        "published_at": "2022-03-28T10:00:00+08:00",
        "text": SECRET_TEXT,
    }
    post.update(overrides)
    return post


def make_mini_program_event(**overrides: Any) -> dict:
    event = {
        "event_id": "mp-1",
        "app_id": "wx0123456789abcdef",
        "owner_account_id": "gh_1a2b3c4d5e6f",
        "occurred_at": "2022-03-30T21:15:42+08:00",
        "type": "sale.secondary",
        "user_id": "u_81f2",
        "counterparty_id": "u_09aa",
        "item_id": "tok-77-0042",
        "price_cents": 129900,
        "issue_price_cents": 9900,
    }
    event.update(overrides)
    return event


def make_qualification(**overrides: Any) -> dict:
    qualification = {
        "account_id": "gh_1a2b3c4d5e6f",
        "status": "verified",
        "updated_at": "2022-03-29T09:00:00+08:00",
        "licences": ["icp", "edi"],
    }
    qualification.update(overrides)
    return qualification


def make_appeal(**overrides: Any) -> dict:
    appeal = {
        "appeal_id": "appeal-1",
        "account_id": "gh_1a2b3c4d5e6f",
        "action_id": "act-1",
        "outcome": "overturned",
        "reviewer": "reviewer-17",
        "decided_at": "2022-04-02T15:30:00+08:00",
    }
    appeal.update(overrides)
    return appeal


def make_action(**overrides: Any) -> dict:
    action = {
        "action_id": "act-1",
        "action": "qualification_reminder",
        "subject": {"kind": "official_account", "id": "gh_1a2b3c4d5e6f"},
        "account_id": "gh_1a2b3c4d5e6f",
        "case_id": "case-1",
        "reasons": [{"code": "resale", "weight": 0.4, "count": 2, "evidence": ["mp-1", "mp-2"]}],
        "trading_score": 0.7,
        "fraud_score": 0.0,
        "deadline": "2022-04-01T00:00:00+08:00",
        "policy_version": "2022.03-1",
        "mode": "enforce",
        "event_time": "2022-03-30T21:15:42+08:00",
        "decided_at": "2022-03-30T13:15:43Z",
    }
    action.update(overrides)
    return action


def make_control(**overrides: Any) -> dict:
    control = {
        "control_id": "allow-1",
        "kind": "allowlist",
        "effective_at": "2022-04-02T15:30:00+08:00",
        "actor": "alice",
        "reason": "licence renewal under review",
        "account_id": "gh_1a2b3c4d5e6f",
        "op": "add",
        "expires_at": "2022-05-02T15:30:00+08:00",
    }
    control.update(overrides)
    return control


VALID_BY_TOPIC = {
    "posts.v1": make_post,
    "miniprogram.events.v1": make_mini_program_event,
    "qualifications.v1": make_qualification,
    "enforcement.appeals.v1": make_appeal,
    "tradewatch.control.v1": make_control,
}


def reason_of(topic: str, raw: bytes | str | dict, limits: DecodeLimits = DecodeLimits()) -> str:
    with pytest.raises(DecodeError) as caught:
        decode_input(topic, raw, limits)
    assert caught.value.reason in REJECTION_CODES
    return caught.value.reason


# --- happy path -----------------------------------------------------------------------


def test_mini_program_event_becomes_the_core_dataclass() -> None:
    event = decode_input("miniprogram.events.v1", orjson.dumps(make_mini_program_event()))
    assert isinstance(event, MiniProgramEvent)
    assert event.subject_account == "gh_1a2b3c4d5e6f"
    assert event.occurred_at == parse_time("2022-03-30T21:15:42+08:00")
    assert event.price_cents == 129900
    assert event.currency == "CNY"
    assert event.acquired_at is None


def test_post_lists_become_tuples_and_missing_optionals_take_defaults() -> None:
    raw = orjson.dumps(make_post(links=["https://a.example"], mini_program_ids=["wx1"]))
    post = decode_input("posts.v1", raw)
    assert isinstance(post, Post)
    assert post.links == ("https://a.example",)
    assert post.mini_program_ids == ("wx1",)
    assert post.title == ""

    bare = decode_input("posts.v1", orjson.dumps(make_post()))
    assert bare.links == () and bare.mini_program_ids == () and bare.account_name == ""


def test_null_optional_fields_mean_absent() -> None:
    raw = orjson.dumps(make_mini_program_event(currency=None, price_cents=None, acquired_at=None))
    event = decode_input("miniprogram.events.v1", raw)
    assert (event.currency, event.price_cents, event.acquired_at) == ("CNY", None, None)


def test_qualification_and_appeal_decode() -> None:
    qualification = decode_input(
        "qualifications.v1", orjson.dumps(make_qualification(valid_until="2025-01-01T00:00:00Z"))
    )
    assert isinstance(qualification, Qualification)
    assert qualification.licences == ("icp", "edi")
    assert qualification.valid_until == parse_time("2025-01-01T00:00:00Z")
    appeal = decode_input("enforcement.appeals.v1", orjson.dumps(make_appeal()))
    assert isinstance(appeal, Appeal) and appeal.outcome == "overturned" and appeal.note == ""


def test_integral_float_price_becomes_int() -> None:
    raw = orjson.dumps(make_mini_program_event(price_cents=0)).replace(
        b'"price_cents":0', b'"price_cents":500.0'
    )
    event = decode_input("miniprogram.events.v1", raw)
    assert event.price_cents == 500 and isinstance(event.price_cents, int)


def test_lower_case_rfc3339_separators_are_accepted() -> None:
    upper = decode_input("posts.v1", orjson.dumps(make_post(published_at="2022-03-28T02:00:00Z")))
    lower = decode_input("posts.v1", orjson.dumps(make_post(published_at="2022-03-28t02:00:00z")))
    assert lower.published_at == upper.published_at


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_extra_unknown_fields_are_accepted_and_ignored(topic: str) -> None:
    plain = VALID_BY_TOPIC[topic]()
    extended = dict(plain, schema_version=3, trace={"id": "abc", "hops": [1, 2]}, flag=None)
    assert decode_input(topic, orjson.dumps(extended)) == decode_input(topic, orjson.dumps(plain))


@pytest.mark.parametrize("topic", INPUT_TOPICS)
def test_dict_str_and_bytes_inputs_decode_the_same(topic: str) -> None:
    document = VALID_BY_TOPIC[topic]()
    as_bytes = decode_input(topic, orjson.dumps(document))
    assert decode_input(topic, document) == as_bytes
    assert decode_input(topic, json.dumps(document, ensure_ascii=False)) == as_bytes
    assert decode_input(topic, bytearray(orjson.dumps(document))) == as_bytes


# --- byte-stage rejections --------------------------------------------------------------


def test_too_large_is_rejected_before_parsing() -> None:
    raw = orjson.dumps(make_post(text="x" * 2_000))
    assert reason_of("posts.v1", raw, DecodeLimits(max_bytes=1_000)) == "too_large"
    # not even JSON: size is checked first
    assert reason_of("posts.v1", b"\xff" * 2_000, DecodeLimits(max_bytes=1_000)) == "too_large"
    assert reason_of("posts.v1", "x" * 2_000, DecodeLimits(max_bytes=1_000)) == "too_large"


def test_default_limit_rejects_a_message_over_one_mebibyte() -> None:
    raw = orjson.dumps(make_post(text="x" * 1_048_576))
    assert reason_of("posts.v1", raw) == "too_large"


def test_hundred_thousand_deep_nesting_is_too_deep_without_recursion() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert reason_of("posts.v1", deep) == "too_deep"
    nested = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    inside_a_post = orjson.dumps(make_post())[:-1] + b',"x":' + nested + b"}"
    assert reason_of("posts.v1", inside_a_post) == "too_deep"


def test_depth_limit_is_inclusive() -> None:
    nested = {"a": {"b": {"c": 1}}}  # the post itself plus three more levels
    raw = orjson.dumps(make_post(extra=nested))
    assert nesting_depth(raw) == 4
    decode_input("posts.v1", raw, DecodeLimits(max_depth=4))
    assert reason_of("posts.v1", raw, DecodeLimits(max_depth=3)) == "too_deep"


def test_brackets_inside_strings_do_not_count_toward_depth() -> None:
    text = '[[[[{{{{ "quoted \\" [[[ " ' * 200 + "]]]}}}"
    raw = orjson.dumps(make_post(text=text, title="[" * 100))
    post = decode_input("posts.v1", raw, DecodeLimits(max_depth=2))
    assert post.text == text


def test_invalid_utf8_is_its_own_reason() -> None:
    raw = orjson.dumps(make_post(text="abc")).replace(b"abc", b"a\xffc")
    assert reason_of("posts.v1", raw) == "invalid_utf8"
    assert reason_of("posts.v1", "\ud800 lone surrogate") == "invalid_utf8"


@pytest.mark.parametrize(
    "raw",
    [
        b"not json at all",
        b"",
        orjson.dumps(make_post())[:40],  # truncated
        b'{"event_id": "e", "price_cents": NaN}',
        b'{"event_id": "e", "price_cents": Infinity}',
        b"{'single': 'quotes'}",
    ],
    ids=["text", "empty", "truncated", "nan", "infinity", "single_quotes"],
)
def test_not_json(raw: bytes) -> None:
    assert reason_of("miniprogram.events.v1", raw) == "not_json"


def test_missing_value_such_as_a_tombstone_is_rejected() -> None:
    assert reason_of("qualifications.v1", None) == "not_json"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", [b"[]", b'[{"event_id": "e"}]', b'"text"', b"42", b"null", b"true"]
)
def test_json_that_is_not_an_object(raw: bytes) -> None:
    assert reason_of("posts.v1", raw) == "not_object"


def test_non_dict_python_values_are_rejected() -> None:
    as_list: Any = [make_post()]
    assert reason_of("posts.v1", as_list) in {"not_object", "not_json"}


# --- schema and time rejections ---------------------------------------------------------


def test_huge_price_is_rejected() -> None:
    raw = orjson.dumps(make_mini_program_event(price_cents=0)).replace(
        b'"price_cents":0', b'"price_cents":' + str(10**40).encode()
    )
    assert reason_of("miniprogram.events.v1", raw) == "schema"
    as_dict = make_mini_program_event(price_cents=10**40)
    assert reason_of("miniprogram.events.v1", as_dict) == "schema"


def test_negative_price_is_rejected() -> None:
    raw = orjson.dumps(make_mini_program_event(price_cents=-1))
    assert reason_of("miniprogram.events.v1", raw) == "schema"


def test_unknown_event_type_is_rejected() -> None:
    raw = orjson.dumps(make_mini_program_event(type="sale.tertiary"))
    assert reason_of("miniprogram.events.v1", raw) == "schema"


def test_missing_required_field_names_the_field() -> None:
    document = make_mini_program_event()
    del document["owner_account_id"]
    with pytest.raises(DecodeError) as caught:
        decode_input("miniprogram.events.v1", orjson.dumps(document))
    assert caught.value.reason == "schema"
    assert "owner_account_id" in caught.value.message


@pytest.mark.parametrize(
    "published_at",
    [
        "2022-02-30T10:00:00+08:00",  # no such day
        "2022-03-28T10:00:00",  # missing offset
        "2022-03-28 10:00:00+08:00",  # space instead of T
        "2022-03-28T10:00:00+0800",  # offset without colon
        "2022-03-28",
        "2022-W13-1T10:00:00Z",  # ISO week date, not RFC 3339
    ],
)
def test_bad_times(published_at: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_input("posts.v1", orjson.dumps(make_post(published_at=published_at)))
    assert caught.value.reason == "bad_time"
    assert "published_at" in caught.value.message


def test_bad_optional_time_is_rejected() -> None:
    raw = orjson.dumps(make_mini_program_event(acquired_at="2021-02-29T00:00:00Z"))
    assert reason_of("miniprogram.events.v1", raw) == "bad_time"


def test_messages_never_echo_the_post_text() -> None:
    bad_documents = [
        make_post(published_at="2022-02-30T10:00:00+08:00"),
        make_post(published_at=SECRET_TEXT),
        make_post(event_id=SECRET_TEXT * 20),
        make_post(text=SECRET_TEXT * 10_000),
        make_post(links=SECRET_TEXT),
    ]
    for document in bad_documents:
        with pytest.raises(DecodeError) as caught:
            decode_input("posts.v1", orjson.dumps(document))
        assert SECRET_TEXT not in caught.value.message
        assert SECRET_TEXT not in str(caught.value)


@pytest.mark.parametrize("topic", ["posts.v2", "enforcement.actions.v1", "", "tradewatch.dlq.v1"])
def test_unknown_topic(topic: str) -> None:
    assert reason_of(topic, orjson.dumps(make_post())) == "unknown_topic"


# --- output actions ----------------------------------------------------------------------


def test_valid_action_passes() -> None:
    validate_action(make_action())
    validate_action(make_action(deadline=None))
    without_deadline = make_action()
    del without_deadline["deadline"]
    validate_action(without_deadline)


@pytest.mark.parametrize(
    "overrides",
    [
        {"action": "ban"},
        {"mode": "dry_run"},
        {"fraud_score": -0.1},
        {"subject": {"kind": "user", "id": "u1"}},
        {"reasons": [{"code": "x", "weight": 1, "count": 21, "evidence": ["e"] * 21}]},
        {"deadline": "2022-02-30T00:00:00Z"},
        {"event_time": "yesterday"},
    ],
)
def test_broken_action_is_a_schema_error(overrides: dict) -> None:
    with pytest.raises(DecodeError) as caught:
        validate_action(make_action(**overrides))
    assert caught.value.reason == "schema"


# --- nothing but InputEvent or DecodeError ------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Edge-of-calendar times that pass the RFC 3339 shape check, plus random ones of that shape.
time_like = st.sampled_from(
    [
        "2022-03-28T10:00:00+08:00",
        "2022-02-30T10:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "2022-03-28T24:00:00Z",
        "2022-03-28T10:00:00.1234567891234z",
    ]
) | st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _decodes_or_rejects(topic: str, raw: Any) -> None:
    try:
        event = decode_input(topic, raw)
    except DecodeError as exc:
        assert exc.reason in REJECTION_CODES
        return
    assert event.subject_account or (topic == CONTROL and event.event_id)  # a control record concerns no account


@PROPERTY_SETTINGS
@given(topic=st.sampled_from(INPUT_TOPICS), raw=st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_decode_error(topic: str, raw: bytes) -> None:
    _decodes_or_rejects(topic, raw)


@PROPERTY_SETTINGS
@given(
    topic=st.sampled_from(INPUT_TOPICS),
    changes=st.dictionaries(
        st.sampled_from(
            ["event_id", "account_id", "published_at", "text", "links", "mini_program_ids",
             "price_cents", "type", "occurred_at", "acquired_at", "currency", "status",
             "licences", "valid_until", "updated_at", "outcome", "decided_at", "note", "extra"]
        ),
        json_values | time_like,
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["event_id", "text", "type", "status", "decided_at"]), max_size=2),
    as_bytes=st.booleans(),
)
def test_mutated_messages_decode_or_raise_decode_error(
    topic: str, changes: dict, drop: set, as_bytes: bool
) -> None:
    document = VALID_BY_TOPIC[topic]()
    document.update(changes)
    for key in drop:
        document.pop(key, None)
    if as_bytes:
        try:
            raw: Any = orjson.dumps(document)
        except (orjson.JSONEncodeError, TypeError):
            raw = json.dumps(document, allow_nan=True).encode()
        _decodes_or_rejects(topic, raw)
    else:
        _decodes_or_rejects(topic, document)


@PROPERTY_SETTINGS
@given(
    topic=st.sampled_from(INPUT_TOPICS),
    document=st.dictionaries(st.text(max_size=20), json_values, max_size=8),
)
def test_arbitrary_dicts_decode_or_raise_decode_error(topic: str, document: dict) -> None:
    _decodes_or_rejects(topic, document)


def _outcome(decode: Any) -> Any:
    try:
        return decode()
    except DecodeError as exc:
        return (exc.reason, exc.message)


@PROPERTY_SETTINGS
@given(
    topic=st.sampled_from(INPUT_TOPICS + ("posts.v2",)),
    changes=st.dictionaries(
        st.sampled_from(["event_id", "text", "price_cents", "type", "occurred_at", "published_at", "status", "extra"]),
        json_values | time_like,
        max_size=4,
    ),
    limits=st.sampled_from([DecodeLimits(), DecodeLimits(max_bytes=200), DecodeLimits(max_depth=2)]),
)
def test_decode_document_is_decode_input_of_its_text(topic: str, changes: dict, limits: DecodeLimits) -> None:
    """Replay's shortcut for an already-parsed message: same event or same error."""
    document = VALID_BY_TOPIC.get(topic, make_post)()
    document.update(changes)
    try:
        encoded = orjson.dumps(document)
    except (orjson.JSONEncodeError, TypeError):
        return  # not JSON: replay never holds such a document
    parsed = orjson.loads(encoded)
    assert _outcome(lambda: decode_document(topic, parsed, encoded, limits)) == _outcome(
        lambda: decode_input(topic, encoded, limits)
    )


_number_tokens = st.sampled_from(
    ["0", "-0", "7", "1e5", "9e15", "-9e15", "1E22", "1e-7", "5e-324", "1.7976931348623157e308", "0.1",
     "123456789012345678901234567890", "-9223372036854775809", "18446744073709551615", "1.0", "2.5e-3"]
)
_source_values = st.recursive(
    _number_tokens
    | st.sampled_from(['"a"', '"\\u4e2d\\u6587"', '"\\/"', '"\\n\\t"', '"\\ud83d\\ude00"', "true", "null", '""', '"{["']),
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + " , ".join(xs) + "]")
    | st.dictionaries(st.sampled_from(['"k"', '"x"', '"\\u0041"']), inner, max_size=3).map(
        lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
    ),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(source=_source_values, max_bytes=st.integers(1, 400), max_depth=st.integers(0, 6))
def test_certainly_within_limits_is_never_wrong(source: str, max_bytes: int, max_depth: int) -> None:
    """Replay skips re-encoding a message when the line is small: that must never let a
    message through that decode_input would reject for size or depth."""
    raw = source.encode()
    encoded = orjson.dumps(orjson.loads(raw))
    assert len(encoded) <= _MAX_REENCODED_GROWTH * len(raw)
    limits = DecodeLimits(max_bytes=max_bytes, max_depth=max_depth)
    if certainly_within_limits(raw, limits):
        assert len(encoded) <= max_bytes
        assert nesting_depth(encoded) <= max_depth
    # with the parsed value (replay passes it): a flat object is depth 1 without counting
    if certainly_within_limits(raw, limits, orjson.loads(raw)):
        assert len(encoded) <= max_bytes
        assert nesting_depth(encoded) <= max_depth


def test_mini_program_event_kinds_are_the_schema_enum() -> None:
    """The core's registry of event types is the contract's list, in its order."""
    enum = load_schema("miniprogram.events.v1")["properties"]["type"]["enum"]
    assert MINI_PROGRAM_EVENT_KINDS == tuple(enum)
    assert _MP_TYPES == frozenset(MINI_PROGRAM_EVENT_KINDS)


def test_mini_program_fast_check_was_written_against_this_schema() -> None:
    """_plainly_valid_mini_program_event mirrors these rules: if the schema changes,
    revisit it (it may only ever accept documents the schema accepts)."""
    schema = load_schema("miniprogram.events.v1")
    rules = {name: {k: v for k, v in prop.items() if k != "description"} for name, prop in schema["properties"].items()}
    ident = {"type": "string", "minLength": 1, "maxLength": 128}
    optional_ident = {"type": ["string", "null"], "maxLength": 128}
    price = {"type": ["integer", "null"], "minimum": 0, "maximum": 1000000000000000}
    time_ = {"format": "date-time", "maxLength": 40}
    assert rules == {
        "event_id": ident, "app_id": ident, "owner_account_id": ident, "user_id": ident,
        "occurred_at": {"type": "string", **time_},
        "type": {"type": "string", "enum": sorted(_MP_TYPES, key=schema["properties"]["type"]["enum"].index)},
        "counterparty_id": optional_ident, "item_id": optional_ident, "collection_id": optional_ident,
        "price_cents": price, "issue_price_cents": price,
        "currency": {"type": ["string", "null"], "minLength": 1, "maxLength": 16},
        "acquired_at": {"type": ["string", "null"], **time_},
    }
    assert sorted(schema["required"]) == sorted(["event_id", "app_id", "owner_account_id", "occurred_at", "type", "user_id"])
    assert set(schema) - {"$schema", "$id", "title", "description"} == {"type", "required", "properties", "additionalProperties"}
    assert schema["type"] == "object" and schema["additionalProperties"] is True


_mp_field_values = (
    json_values | time_like
    | st.sampled_from(["", "x" * 128, "x" * 129, "USDT", "x" * 16, "x" * 17, "payment", "sale.secondary", "Payment",
                       0, -1, 10**15, 10**15 + 1, 5.0, 2.5, True, None, "2022-03-30T21:15:42+08:00",
                       "2022-03-30T21:15:42.5z", "2022-03-30t21:15:42Z", "2022-03-30T21:15:42+0800", "２022-03-30T21:15:42Z"])
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(
        st.sampled_from(["event_id", "app_id", "owner_account_id", "occurred_at", "type", "user_id", "counterparty_id",
                         "item_id", "collection_id", "price_cents", "issue_price_cents", "currency", "acquired_at", "extra"]),
        _mp_field_values,
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["event_id", "app_id", "owner_account_id", "occurred_at", "type", "user_id", "price_cents"]), max_size=2),
)
def test_mini_program_fast_check_only_passes_what_the_schema_accepts(changes: dict, drop: set) -> None:
    document = make_mini_program_event(**changes)
    for key in drop:
        document.pop(key, None)
    if _plainly_valid_mini_program_event(document):
        _validator("miniprogram.events.v1")(document)  # raises if the schema disagrees


def test_mini_program_fast_check_passes_the_plain_examples() -> None:
    assert _plainly_valid_mini_program_event(make_mini_program_event())
    assert _plainly_valid_mini_program_event(make_mini_program_event(currency=None, acquired_at="2022-03-30T20:00:00Z"))
    for path in sorted((schema_dir() / "examples" / "miniprogram.events.v1" / "invalid").glob("*.json")):
        assert not _plainly_valid_mini_program_event(orjson.loads(path.read_bytes())), path.name


# --- the cached whole-second time parser must be the schema's shape and parse_time exactly ---------------------

_TIME_EDGES = [
    "2022-03-20T08:15:23+08:00", "2022-03-20T08:15:23Z", "2022-03-20t08:15:23Z", "2022-03-20 08:15:23-05:30",
    "2022-02-30T08:15:23Z", "2022-03-20T24:00:00Z", "2022-03-20T23:60:00Z", "2022-03-20T23:59:60Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2022-03-20T08:15:23+24:00",
    "2022-03-20T08:15:2a+08:00", "2022-03-20T08:1\uff15:23+08:00", "2022-03-20T08:15:23.5+08:00",
    "2022-03-20T08:15:23+0800", "1969-12-31T23:59:59Z",
]


def _parse_or_error(value: str) -> Any:
    try:
        return parse_time(value)
    except (ValueError, OverflowError):
        return "error"


@pytest.mark.parametrize("value", _TIME_EDGES)
def test_plain_time_is_parse_time_or_declines(value: str) -> None:
    from streams.decode.plain import _plain_time

    fast = _plain_time(value)
    assert fast is None or (repr(fast) == repr(_parse_or_error(value)))


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 9999), st.integers(0, 13), st.integers(0, 32), st.sampled_from("Tt "),
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
    st.one_of(st.just("Z"), st.tuples(st.sampled_from("+-"), st.integers(0, 24), st.integers(0, 60)).map(
        lambda o: f"{o[0]}{o[1]:02d}:{o[2]:02d}")),
)
def test_plain_time_matches_the_schema_and_parse_time(y, mo, d, sep, h, mi, s, offset) -> None:
    from streams.decode import RFC3339_DATE_TIME
    from streams.decode.plain import _plain_time

    value = f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{offset}"
    for _ in range(2):  # the second call reads the cached hour start
        # only for texts of the schema's shape that parse
        plain = _plain_time(value)
        assert plain is None or (re.match(RFC3339_DATE_TIME, value) and repr(plain) == repr(_parse_or_error(value)))


@pytest.mark.parametrize("value", _TIME_EDGES + ["2022-W01-1T08:15:23+08:00", "2022-03-20T08:15:23z", "x" * 25, 5])
def test_plain_time_is_the_schema_and_parse_time_or_declines(value: Any) -> None:
    from streams.decode import RFC3339_DATE_TIME
    from streams.decode.plain import _plain_time

    for _ in range(2):
        plain = _plain_time(value)
        assert plain is None or (re.match(RFC3339_DATE_TIME, value) and repr(plain) == repr(_parse_or_error(value)))


def test_plain_mini_program_event_is_decode_document_or_declines() -> None:
    """Replay's shortcut for the usual mini-program message: the same event as the full
    decoder, or None (then replay takes the full path)."""
    from streams.decode import decode_document, plain_mini_program_event

    topic = "miniprogram.events.v1"
    documents = [
        make_mini_program_event(),
        make_mini_program_event(currency=None, acquired_at="2022-03-30T20:00:00Z"),
        make_mini_program_event(price_cents=100.0),  # integral float: not plain, the schema takes it
        make_mini_program_event(occurred_at="2022-03-30T20:00:00.5+08:00"),  # fraction: full path
        {**make_mini_program_event(), "extra": {"nested": [1, 2]}},  # unknown nested member
        {**make_mini_program_event(), "note": "flat extra"},
    ]
    for document in documents:
        source = orjson.dumps({"topic": topic, "value": document})
        for limits in (DecodeLimits(), DecodeLimits(max_depth=1), DecodeLimits(max_bytes=len(source))):
            fast = plain_mini_program_event(source, document, limits)
            if fast is not None:
                assert fast == decode_document(topic, document, orjson.dumps(document), limits)
    assert plain_mini_program_event(orjson.dumps(documents[0]), documents[0], DecodeLimits()) is not None
    assert plain_mini_program_event(orjson.dumps(documents[4]), documents[4], DecodeLimits()) is None


# --- the plain post check: only what posts.v1 accepts, built as the builder builds it --------------


def test_post_fast_check_was_written_against_this_schema() -> None:
    """_plain_post mirrors these rules: if the schema changes, revisit it."""
    schema = load_schema("posts.v1")
    rules = {name: {k: v for k, v in prop.items() if k != "description"} for name, prop in schema["properties"].items()}
    assert rules == {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "account_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "account_name": {"type": ["string", "null"], "maxLength": 256},
        "published_at": {"type": "string", "format": "date-time", "maxLength": 40},
        "title": {"type": ["string", "null"], "maxLength": 1000},
        "text": {"type": "string", "maxLength": 100000},
        "links": {"type": ["array", "null"], "maxItems": 100, "items": {"type": "string", "maxLength": 2048}},
        "mini_program_ids": {"type": ["array", "null"], "maxItems": 50,
                             "items": {"type": "string", "minLength": 1, "maxLength": 128}},
    }
    assert sorted(schema["required"]) == sorted(["event_id", "account_id", "published_at", "text"])
    assert set(schema) - {"$schema", "$id", "title", "description"} == {"type", "required", "properties", "additionalProperties"}
    assert schema["type"] == "object" and schema["additionalProperties"] is True


_post_field_values = (
    json_values | time_like
    | st.sampled_from(["", "x" * 128, "x" * 129, "x" * 256, "x" * 257, "x" * 1000, "x" * 1001, None, 5, True,
                       [], ["https://a.example"], [""], ["x" * 2048], ["x" * 2049], [5], ["wx01"] * 50, ["wx01"] * 51,
                       ["l"] * 100, ["l"] * 101, ("t",), "2022-03-30T21:15:42+08:00", "2022-03-30T21:15:42.5Z"])
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(
        st.sampled_from(["event_id", "account_id", "account_name", "published_at", "title", "text", "links",
                         "mini_program_ids", "extra"]),
        _post_field_values,
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["event_id", "account_id", "published_at", "text", "title", "links"]), max_size=2),
)
def test_post_fast_check_only_passes_what_the_schema_accepts_and_builds_the_same(changes: dict, drop: set) -> None:
    from streams.decode.decoder import _build_post
    from streams.decode.plain import _plain_post

    document = make_post(**changes)
    for key in drop:
        document.pop(key, None)
    fast = _plain_post(document)
    if fast is not None:
        _validator("posts.v1")(document)  # raises if the schema disagrees
        assert fast == _build_post("posts.v1", document)
        assert [type(getattr(fast, f)) for f in ("links", "mini_program_ids")] == [tuple, tuple]


def test_post_fast_check_passes_the_plain_examples() -> None:
    from streams.decode.plain import _plain_post

    assert _plain_post(make_post()) is not None
    assert _plain_post(make_post(title=None, links=None, account_name=None)) is not None
    for path in sorted((schema_dir() / "examples" / "posts.v1" / "invalid").glob("*.json")):
        assert _plain_post(orjson.loads(path.read_bytes())) is None, path.name
