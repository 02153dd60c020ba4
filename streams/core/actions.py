"""The enforcement.actions.v1 vocabulary and the deterministic action id.

Downstream consumers de-duplicate on ``action_id``, so the same decision must always get
the same id: it is a hash of what was decided (subject, case, action), never of when or by
which worker.
"""

from __future__ import annotations

import hashlib
from typing import Any

QUALIFICATION_REMINDER = "qualification_reminder"
SUSPEND = "suspend"
REVIEW = "review"
REINSTATE = "reinstate"
CASE_CLOSED = "case_closed"
ACTIONS = (QUALIFICATION_REMINDER, SUSPEND, REVIEW, REINSTATE, CASE_CLOSED)

OFFICIAL_ACCOUNT = "official_account"
MINI_PROGRAM = "mini_program"

# How strong an action is, for "the strongest action an account ends with" (evaluate).
STRENGTH = {CASE_CLOSED: 0, REINSTATE: 0, REVIEW: 0, QUALIFICATION_REMINDER: 1, SUSPEND: 2}


def make_action_id(subject_kind: str, subject_id: str, case_id: str, action: str) -> str:
    digest = hashlib.sha256(f"{subject_kind}|{subject_id}|{case_id}|{action}".encode()).hexdigest()
    return f"act_{digest[:32]}"


def stamp(action: dict[str, Any], decided_at: str, mode: str | None = None) -> dict[str, Any]:
    """Complete an action for sending: wall-clock ``decided_at`` and, if overridden, ``mode``."""
    stamped = dict(action)
    stamped["decided_at"] = decided_at
    if mode is not None:
        stamped["mode"] = mode
    return stamped
