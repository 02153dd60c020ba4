"""Turn raw input messages into core events, or say precisely why not.

This is the one gate between untrusted bytes and the detection core, shared by the live
worker and ``tradewatch replay`` so both accept and reject exactly the same messages.
The checks run cheapest first so a hostile message costs little: size, nesting depth,
JSON (orjson, which also rejects invalid UTF-8, NaN and Infinity) in :mod:`.limits`, then
the topic's JSON Schema from ``streams/schemas/`` (:mod:`.schemas`; the usual messages take
the equivalent fast paths of :mod:`.plain`), then time parsing in the builders
(:mod:`.decoder`). Every failure is a :class:`DecodeError` with a short stable ``reason``
from :mod:`streams.core.rejections` for metrics and dead-letter headers; nothing else
escapes, whatever the input.

Optional input fields may be ``null``; that means the same as leaving them out.
"""

from streams.decode.decoder import decode_document, decode_input, validate_action
from streams.decode.errors import DecodeError
from streams.decode.limits import DEFAULT_LIMITS, DecodeLimits, certainly_within_limits, nesting_depth
from streams.decode.plain import plain_mini_program_event
from streams.decode.schemas import RFC3339_DATE_TIME, SCHEMA_NAMES, load_schema, schema_dir

__all__ = [
    "DEFAULT_LIMITS",
    "RFC3339_DATE_TIME",
    "SCHEMA_NAMES",
    "DecodeError",
    "DecodeLimits",
    "certainly_within_limits",
    "decode_document",
    "decode_input",
    "load_schema",
    "nesting_depth",
    "plain_mini_program_event",
    "schema_dir",
    "validate_action",
]
