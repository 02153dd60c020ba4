"""The byte stage of the input gate: size and nesting limits, then JSON.

These checks run before anything else, cheapest first, so that a hostile message costs
little: its size, its nesting depth (counted without recursion), then orjson, which also
rejects invalid UTF-8, NaN and Infinity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import orjson

from streams.core.rejections import INVALID_UTF8, NOT_JSON, NOT_OBJECT, TOO_DEEP, TOO_LARGE
from streams.decode.errors import DecodeError

# A JSON string literal (escapes included): what the precise depth scan ignores.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
# Opening brackets step the depth by +1, closing ones by -1 (0xFF as a signed byte).
_DEPTH_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds checked before parsing, so a hostile message cannot cost much."""

    max_bytes: int = 1_048_576
    max_depth: int = 32


DEFAULT_LIMITS = DecodeLimits()


def _parse(topic: str, raw: Any, limits: DecodeLimits) -> dict:
    if isinstance(raw, str):
        if len(raw) > limits.max_bytes:
            raise DecodeError(TOO_LARGE, f"{topic}: more than {limits.max_bytes} bytes")
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError(INVALID_UTF8, f"{topic}: text is not valid UTF-8") from None
    elif isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    elif not isinstance(raw, bytes):
        raise DecodeError(NOT_JSON, f"{topic}: no value ({type(raw).__name__})")
    _check_limits(topic, raw, limits)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Classify only on failure: the happy path pays for one UTF-8 check, orjson's.
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError(INVALID_UTF8, f"{topic}: value is not valid UTF-8") from None
        raise DecodeError(NOT_JSON, f"{topic}: value is not JSON") from None
    if not isinstance(document, dict):
        raise DecodeError(
            NOT_OBJECT, f"{topic}: value is a JSON {_json_kind(document)}, not an object"
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
        raise DecodeError(TOO_LARGE, f"{topic}: more than {limits.max_bytes} bytes")
    if raw.count(b"{") + raw.count(b"[") > limits.max_depth:
        depth = nesting_depth(raw)
        if depth > limits.max_depth:
            raise DecodeError(
                TOO_DEEP, f"{topic}: nesting deeper than {limits.max_depth} levels"
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
