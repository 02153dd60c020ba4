"""Every reason tradewatch gives for rejecting a message, each named once with its meaning.

A reason is the ``reason`` of a :class:`streams.decode.DecodeError`, the value of the
``tw-error-class`` header of a dead letter and the ``reason`` label of
``tradewatch_invalid_events_total``: a small, stable vocabulary that dashboards, alerts and
people reading the dead-letter topic rely on. It lives in the core so that the core (an
appeal naming no suspension) and the shell name reasons from the same list.
"""

from __future__ import annotations

from dataclasses import dataclass

TOO_LARGE = "too_large"
TOO_DEEP = "too_deep"
INVALID_UTF8 = "invalid_utf8"
NOT_JSON = "not_json"
NOT_OBJECT = "not_object"
SCHEMA = "schema"
BAD_TIME = "bad_time"
UNKNOWN_TOPIC = "unknown_topic"
FUTURE_TIME = "future_time"
INVALID_INTERNAL = "invalid_internal"
UNSIGNED_APPEAL = "unsigned_appeal"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_ACTION = "unknown_action"
MISROUTED = "misrouted"
OWNER_MISMATCH = "owner_mismatch"
INVALID_CONTROL = "invalid_control"
LATE_CONTROL = "late_control"
INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True, slots=True)
class RejectionReason:
    """One rejection reason: its stable code and what it means, in one line."""

    code: str
    meaning: str


REJECTION_REASONS: tuple[RejectionReason, ...] = (
    RejectionReason(TOO_LARGE, "The message is larger than the size limit (`TRADEWATCH_MAX_MESSAGE_BYTES`)."),
    RejectionReason(TOO_DEEP, "The JSON nests deeper than the depth limit (`TRADEWATCH_MAX_JSON_DEPTH`)."),
    RejectionReason(INVALID_UTF8, "The value is not valid UTF-8."),
    RejectionReason(NOT_JSON, "The value is missing or not JSON (NaN and Infinity included)."),
    RejectionReason(NOT_OBJECT, "The JSON value is not an object (in replay: a recording line of the wrong shape)."),
    RejectionReason(SCHEMA, "The document does not match its topic's JSON Schema."),
    RejectionReason(BAD_TIME, "A time is not RFC 3339 with an offset, or names a day that does not exist."),
    RejectionReason(UNKNOWN_TOPIC, "The message comes from a topic that is not an input topic."),
    RejectionReason(
        FUTURE_TIME,
        "The event time is further ahead of the wall clock than allowed (`TRADEWATCH_MAX_FUTURE_SKEW_SECONDS`).",
    ),
    RejectionReason(INVALID_INTERNAL, "A record on the internal topic that intake did not write (forged or corrupt)."),
    RejectionReason(UNSIGNED_APPEAL, "An appeal without a reviewer's signature, or no reviewer keys are configured."),
    RejectionReason(BAD_SIGNATURE, "An appeal whose signature does not verify with any configured reviewer key."),
    RejectionReason(UNKNOWN_ACTION, "An overturned appeal that names no suspension of the account's open case."),
    RejectionReason(
        MISROUTED,
        "A mini-program event not keyed by its `app_id`, or on another partition than Kafka's default "
        "partitioner gives that key (its app's owner binding lives with that partition).",
    ),
    RejectionReason(
        OWNER_MISMATCH,
        "A mini-program event whose claimed owner is not the account the mini program is bound to.",
    ),
    RejectionReason(
        INVALID_CONTROL,
        "A control record whose change cannot be applied (a policy that does not validate, an allowlist "
        "entry without expiry); the policy in force stays.",
    ),
    RejectionReason(
        LATE_CONTROL,
        "A control record effective at an event time the watermark had already passed when it was read: "
        "applied it would change decisions already made. Publish it again with a later `effective_at`.",
    ),
    RejectionReason(INTERNAL_ERROR, "Processing the message failed unexpectedly (a bug); it is dead-lettered, not lost."),
)
"""Every rejection reason, in the order the gate checks them (shell-only reasons last)."""

REJECTION_CODES: frozenset[str] = frozenset(reason.code for reason in REJECTION_REASONS)
"""The codes of :data:`REJECTION_REASONS`: every value a rejection's ``reason`` can take."""


def rejection_reasons_table() -> str:
    """The Markdown table of :data:`REJECTION_REASONS` (reason | meaning) for the reference docs."""
    rows = ["| reason | meaning |", "|---|---|"]
    rows.extend(f"| `{reason.code}` | {reason.meaning} |" for reason in REJECTION_REASONS)
    return "\n".join(rows)
