"""The case state machine: which decision moves a case from which state, as one table.

A case is one episode of suspicion about an account. The engine decides *whether* to act
(scores, deadlines, qualifications, appeals); this table decides what an action does to the
case, and :func:`advance` refuses any move the table does not list, so an engine change
cannot invent a transition::

    (none) ──qualification_reminder──► reminded ──case_closed──► (none)
       │                                  │ qualified before the deadline, or trading stopped
       │                                  ├──suspend──► suspended ──reinstate──► (none)
       │                                  │             (deadline passed still trading; fraud)
       ├──suspend──► suspended            └──review──► review   (allowlisted)
       └──review───► review

``review`` is final: a human decides an allowlisted account. A suspension ends only by an
overturned appeal. Ending a case (``(none)``) keeps the account's case count, so the next
case has a new id.
"""

from __future__ import annotations

import hashlib

from streams.core.actions import CASE_CLOSED, QUALIFICATION_REMINDER, REINSTATE, REVIEW, SUSPEND

NO_CASE = "none"  # no open case (a case being opened, or one that has just ended)
REMINDED = "reminded"
SUSPENDED = "suspended"
UNDER_REVIEW = REVIEW  # the state and the action share the name "review"
CASE_STATES = (REMINDED, SUSPENDED, UNDER_REVIEW)  # the states an open case is stored in

TRANSITIONS: dict[tuple[str, str], str] = {
    (NO_CASE, QUALIFICATION_REMINDER): REMINDED,  # trading without a qualification
    (NO_CASE, SUSPEND): SUSPENDED,  # fraud; trading again right after a "trading stopped" close
    (NO_CASE, REVIEW): UNDER_REVIEW,  # an allowlisted account over a suspension threshold
    (REMINDED, CASE_CLOSED): NO_CASE,  # qualified, or trading stopped by the deadline
    (REMINDED, SUSPEND): SUSPENDED,  # deadline passed and it kept trading; or fraud
    (REMINDED, REVIEW): UNDER_REVIEW,  # the same, for an allowlisted account
    (SUSPENDED, REINSTATE): NO_CASE,  # an overturned appeal
}


class IllegalTransition(AssertionError):
    """The engine tried a move the table does not list: a bug, never an input's fault."""


def advance(state: str, action: str) -> str:
    """The state a case in ``state`` moves to when ``action`` is decided."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(f"no transition from {state!r} by {action!r}") from None


def case_id_for(account_id: str, seq: int) -> str:
    """The id of an account's ``seq``-th case: the same in replay and live, never reused."""
    digest = hashlib.blake2b(f"{account_id}|{seq}".encode(), digest_size=10).hexdigest()
    return f"case_{digest}"
