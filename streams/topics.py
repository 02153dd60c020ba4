"""The one place that knows topic names and how each topic is created."""

from __future__ import annotations

from dataclasses import dataclass

POSTS = "posts.v1"
MINI_PROGRAM_EVENTS = "miniprogram.events.v1"
QUALIFICATIONS = "qualifications.v1"
APPEALS = "enforcement.appeals.v1"
ACTIONS = "enforcement.actions.v1"
SHADOW = "tradewatch.shadow.v1"
DLQ = "tradewatch.dlq.v1"
HELD = "tradewatch.held.v1"  # suspensions the circuit breaker holds until an operator decides
BREAKER = "tradewatch.breaker.v1"  # the breaker's trips and closes, shared by every worker
CONTROL = "tradewatch.control.v1"  # operators' policy changes and allowlist entries (streams/core/control.py)
AUDIT = "tradewatch.audit.v1"  # every control record read, applied or refused, with who and why

INPUT_TOPICS = (POSTS, MINI_PROGRAM_EVENTS, QUALIFICATIONS, APPEALS, CONTROL)
OUTPUT_TOPICS = (ACTIONS, SHADOW, DLQ, HELD, BREAKER, AUDIT)
READ_BACK_TOPICS = (HELD, BREAKER, AUDIT)  # outputs tradewatch also reads (the breaker's own record, the control log)

# Faust-internal names (prefixed with the app id by Faust)
SUBJECT_INPUTS = "subject-inputs"  # every input, re-keyed by subject account
SUBJECT_STATE_TABLE = "subject-state"  # changelog: <app_id>-subject-state-changelog
MINI_PROGRAM_OWNERS = "miniprogram-owners"  # <app_id>-miniprogram-owners: app -> owner, compacted


def owners_topic(app_id: str) -> str:
    """The compacted topic of mini-program owner bindings (streams/owners.py), one partition per
    partition of miniprogram.events.v1."""
    return f"{app_id}-{MINI_PROGRAM_OWNERS}"

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    compacted: bool = False
    retention_ms: int | None = 7 * DAY_MS

    def config(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact"}
        config = {"cleanup.policy": "delete"}
        if self.retention_ms is not None:
            config["retention.ms"] = str(self.retention_ms)
        return config


TOPIC_SPECS = (
    TopicSpec(POSTS),
    TopicSpec(MINI_PROGRAM_EVENTS),
    TopicSpec(QUALIFICATIONS, compacted=True),
    TopicSpec(APPEALS, retention_ms=90 * DAY_MS),
    TopicSpec(ACTIONS, retention_ms=90 * DAY_MS),
    TopicSpec(SHADOW, retention_ms=30 * DAY_MS),
    TopicSpec(DLQ, retention_ms=30 * DAY_MS),
    TopicSpec(HELD, retention_ms=90 * DAY_MS),
    TopicSpec(BREAKER, compacted=True),
    TopicSpec(CONTROL, compacted=True),
    TopicSpec(AUDIT, retention_ms=3650 * DAY_MS),  # the control log: kept, replay and a restart read all of it
)
