"""The core's input vocabulary: one frozen dataclass per input topic, plus a tick.

Times are UNIX epoch seconds (float, UTC) so that state stays small and comparisons
are cheap; :mod:`streams.core.timefmt` converts to and from RFC 3339 at the edges.
Nothing here imports Faust or Kafka: the same objects are built by the live decoders
and by ``tradewatch replay``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, Union

# miniprogram.events.v1 "type" values (contract, docs/design.md)
SALE_PRIMARY = "sale.primary"
LISTING_CREATED = "listing.created"
LISTING_CANCELLED = "listing.cancelled"
SALE_SECONDARY = "sale.secondary"
TRANSFER_GIFT = "transfer.gift"
PAYMENT = "payment"
AIRDROP = "airdrop"
WITHDRAWAL_REQUESTED = "withdrawal.requested"
WITHDRAWAL_FAILED = "withdrawal.failed"

MINI_PROGRAM_EVENT_KINDS: tuple[str, ...] = (
    SALE_PRIMARY,
    LISTING_CREATED,
    LISTING_CANCELLED,
    SALE_SECONDARY,
    TRANSFER_GIFT,
    PAYMENT,
    AIRDROP,
    WITHDRAWAL_REQUESTED,
    WITHDRAWAL_FAILED,
)
"""Every mini-program event ``type``, in the schema's order: the schema's enum exactly."""
MINI_PROGRAM_EVENT_TYPES = frozenset(MINI_PROGRAM_EVENT_KINDS)

QUALIFICATION_STATUSES = frozenset({"submitted", "verified", "rejected", "expired", "revoked"})
APPEAL_OUTCOMES = frozenset({"upheld", "overturned"})


@dataclass(frozen=True, slots=True)
class Post:
    """An official-account post (posts.v1)."""

    event_id: str
    account_id: str
    published_at: float
    text: str
    title: str = ""
    account_name: str = ""
    links: tuple[str, ...] = ()
    mini_program_ids: tuple[str, ...] = ()

    @property
    def subject_account(self) -> str:
        return self.account_id

    @property
    def event_time(self) -> float:
        return self.published_at


@dataclass(frozen=True, slots=True)
class MiniProgramEvent:
    """A mini-program event (miniprogram.events.v1); the subject is the owner account."""

    event_id: str
    app_id: str
    owner_account_id: str
    occurred_at: float
    type: str
    user_id: str
    counterparty_id: str | None = None
    item_id: str | None = None
    collection_id: str | None = None
    price_cents: int | None = None
    issue_price_cents: int | None = None
    currency: str = "CNY"
    acquired_at: float | None = None

    @property
    def subject_account(self) -> str:
        return self.owner_account_id

    @property
    def event_time(self) -> float:
        return self.occurred_at


@dataclass(frozen=True, slots=True)
class Qualification:
    """The platform's view of an account's licences (qualifications.v1, compacted)."""

    account_id: str
    status: str
    updated_at: float
    licences: tuple[str, ...] = ()
    valid_until: float | None = None

    @property
    def subject_account(self) -> str:
        return self.account_id

    @property
    def event_time(self) -> float:
        return self.updated_at

    @property
    def event_id(self) -> str:
        return f"qualification:{self.account_id}:{self.updated_at!r}:{self.status}"


@dataclass(frozen=True, slots=True)
class Appeal:
    """A human reviewer's decision on an appeal (enforcement.appeals.v1)."""

    appeal_id: str
    account_id: str
    action_id: str
    outcome: str
    reviewer: str
    decided_at: float
    note: str = ""

    @property
    def subject_account(self) -> str:
        return self.account_id

    @property
    def event_time(self) -> float:
        return self.decided_at

    @property
    def event_id(self) -> str:
        return self.appeal_id


@dataclass(frozen=True, slots=True)
class Tick:
    """Advance a quiet subject's clock to ``at`` (live mode's only wall-clock input)."""

    account_id: str
    at: float

    @property
    def subject_account(self) -> str:
        return self.account_id

    @property
    def event_time(self) -> float:
        return self.at


@dataclass(frozen=True, slots=True)
class ControlRecord:
    """An operator's change (tradewatch.control.v1) as it travels to every deciding side: its id,
    the event time it takes effect at, and its validated document as compact JSON (parsed into
    a change by :func:`streams.core.control.parse_change`). It concerns no single account."""

    control_id: str
    effective_at: float
    document: str

    @property
    def event_id(self) -> str:
        return self.control_id

    @property
    def subject_account(self) -> str:
        return ""

    @property
    def event_time(self) -> float:
        return self.effective_at


InputEvent = Union[Post, MiniProgramEvent, Qualification, Appeal, Tick, ControlRecord]


def _slot_constructor(cls: type) -> Callable[..., Any]:
    """``cls(*values)`` (all fields, in order) for a frozen slots dataclass without
    ``__post_init__``, about 40 % faster: each slot is set through its descriptor, as the
    generated ``__init__`` does through ``object.__setattr__``. The object is the same."""
    names = [f.name for f in fields(cls)]
    assert not hasattr(cls, "__post_init__") and list(getattr(cls, "__slots__", ())) == names
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    scope.update({f"_set_{name}": getattr(cls, name).__set__ for name in names})
    body = "".join(f"    _set_{name}(obj, {name})\n" for name in names)
    exec(f"def new({', '.join(names)}):\n    obj = _new(_cls)\n{body}    return obj\n", scope)
    return scope["new"]


# decode builds one of these per mini-program message (most of the traffic)
new_mini_program_event: Callable[..., MiniProgramEvent] = _slot_constructor(MiniProgramEvent)
