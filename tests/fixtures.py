"""Factories for test inputs: small, explicit, and valid per the topic contracts."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from streams.core.events import Appeal, MiniProgramEvent, Post, Qualification
from streams.core.stance import OFFER, PROMOTION, REPORT, SCHEME, Stance
from streams.core.timefmt import parse_time

T0 = parse_time("2022-03-20T10:00:00+08:00")
HOUR = 3600.0
DAY = 24 * HOUR
ACCOUNT = "gh_0123456789ab"
APP = "wx0123456789abcdef"

_ids = itertools.count(1)


def next_id(prefix: str = "ev") -> str:
    return f"{prefix}-{next(_ids):06d}"


def post(text: str, at: float = T0, account: str = ACCOUNT, title: str = "", event_id: str | None = None) -> Post:
    return Post(event_id=event_id or next_id("post"), account_id=account, published_at=at, text=text, title=title)


def mp_event(
    type: str,
    user: str = "u1",
    counterparty: str | None = None,
    at: float = T0,
    account: str = ACCOUNT,
    app: str = APP,
    event_id: str | None = None,
    **fields,
) -> MiniProgramEvent:
    return MiniProgramEvent(
        event_id=event_id or next_id("mp"),
        app_id=app,
        owner_account_id=account,
        occurred_at=at,
        type=type,
        user_id=user,
        counterparty_id=counterparty,
        **fields,
    )


def resales(count: int, start: float = T0, every: float = 600.0, account: str = ACCOUNT, app: str = APP) -> list[MiniProgramEvent]:
    """``count`` secondary sales of distinct items between distinct users, ``every`` seconds apart."""
    return [
        mp_event(
            "sale.secondary",
            user=f"buyer{i}",
            counterparty=f"seller{i}",
            at=start + i * every,
            account=account,
            app=app,
            item_id=f"item{i}",
            price_cents=9900,
            issue_price_cents=9900,
        )
        for i in range(count)
    ]


def qualification(status: str = "verified", at: float = T0, account: str = ACCOUNT, valid_for: float | None = 365 * DAY,
                  licences: Iterable[str] = ("icp", "edi", "network_culture", "blockchain_filing")) -> Qualification:
    return Qualification(
        account_id=account,
        status=status,
        updated_at=at,
        licences=tuple(licences),
        valid_until=at + valid_for if valid_for is not None else None,
    )


def appeal(action_id: str, outcome: str = "overturned", at: float = T0, account: str = ACCOUNT) -> Appeal:
    return Appeal(
        appeal_id=next_id("appeal"), account_id=account, action_id=action_id, outcome=outcome,
        reviewer="reviewer-7", decided_at=at,
    )


@dataclass(frozen=True)
class FakeHit:
    code: str
    count: int = 1
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class FakeAnalysis:
    hits: list[FakeHit]
    reporting: bool
    collectible: bool = True
    other_market: bool = False
    account_context_hits: tuple = ()


class CodesInTextMatcher:
    """A stand-in text matcher for policy tests: ``"codes:fraud_promise,trading_venue"`` hits
    those codes, ``"uncontextual codes:..."`` carries them without collectible context (they
    count only for a known collectibles platform), ``"other market codes:..."`` names another
    market beside collectibles and ``"reporting"`` reads as news. It keeps state-machine tests
    independent of vocabulary tuning.
    """

    def analyse(self, title: str, text: str) -> FakeAnalysis:
        if text == "reporting":
            return FakeAnalysis([], True)
        if text.startswith("uncontextual codes:"):  # an offer that names no product
            codes = text[len("uncontextual codes:"):].split(",")
            return FakeAnalysis([], False, collectible=False, account_context_hits=tuple(FakeHit(c) for c in codes))
        if text.startswith("other market codes:"):  # "... 同城面交" beside the collectible
            codes = text[len("other market codes:"):].split(",")
            return FakeAnalysis([], False, other_market=True, account_context_hits=tuple(FakeHit(c) for c in codes))
        if not text.startswith("codes:"):
            return FakeAnalysis([], False)
        return FakeAnalysis([FakeHit(code) for code in text[len("codes:"):].split(",") if code], False)

    def match(self, title: str, text: str) -> list[FakeHit]:
        return self.analyse(title, text).hits


FRAUD_TEXT_CODES = ("fraud_promise", "fraud_aftermath")


class CodesInTextStance:
    """The stance stand-in that goes with :class:`CodesInTextMatcher`: a ``codes:`` post is an
    offer (a scheme when it names a fraud code; promotion when it names only
    ``primary_promotion``), ``"reporting"`` a report, anything else
    first-hand promotion."""

    def classify(self, title: str, text: str) -> Stance:
        text = text.removeprefix("uncontextual ").removeprefix("other market ")
        if text.startswith("codes:") and text != "codes:primary_promotion":
            kind = SCHEME if any(code in text for code in FRAUD_TEXT_CODES) else OFFER
            return Stance(kind, 1.0, 1.0, 1.0 if kind == SCHEME else 0.0, text, ("codes",))
        return Stance(REPORT if text == "reporting" else PROMOTION, 1.0, 0.0, 0.0, text, ())
