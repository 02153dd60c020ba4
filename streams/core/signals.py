"""Every signal tradewatch counts, in one list: the code, the score it weighs in, where it
comes from and what it means.

Each derived set (text codes, behaviour codes, trading and fraud codes, the codes the policy
must weigh) is computed from :data:`SIGNALS`, so registering a signal here is the one step
that makes it known everywhere. The policy refuses to load when a registered signal has no
weight in its family's table (an explicit zero is allowed); the vocabulary refuses a term list
for an unregistered code; :data:`streams.core.behaviour.BEHAVIOUR_RULES` must emit every
behaviour signal (``tests/core/test_signals.py`` checks both ways).
"""

from __future__ import annotations

from dataclasses import dataclass

TRADING = "trading"  # weighs in trading_score ([scoring.trading] in the policy)
FRAUD = "fraud"  # weighs in fraud_score ([scoring.fraud])
FAMILIES = (TRADING, FRAUD)

STANCE = "stance"  # a post's speech act (streams/core/stance.py, post_signals.py)
TEXT = "text"  # vocabulary cues inside an offer or scheme post (streams/core/text/matching.py)
BEHAVIOUR = "behaviour"  # mini-program events (streams/core/behaviour.py)
WINDOW = "window"  # computed from the account's counters over the window (core/scoring.py)
SOURCES = (STANCE, TEXT, BEHAVIOUR, WINDOW)


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal code. ``shows_trading`` is False for a signal that is weighed but is
    allowed business on its own (promoting first-hand sales): it never marks the start of an
    account's trading and never makes a mini program one that trades."""

    code: str
    family: str
    sources: tuple[str, ...]
    summary: str
    shows_trading: bool = True


# The order is the order hits are reported in (text hits, behaviour hits) and the order the
# policy's error messages list codes in.
SIGNALS: tuple[Signal, ...] = (
    Signal("offer_stance", TRADING, (STANCE,), "a post that addresses buyers and gives a way to trade"),
    Signal("trading_venue", TRADING, (TEXT,), "names a resale market, consignment or C2C venue in an offer"),
    Signal("price_speculation", TRADING, (TEXT,), "floor prices, premiums or price rises offered to buyers"),
    Signal("off_platform_trade", TRADING, (TEXT,), "a contact handle or group to trade outside the platform"),
    Signal("crypto_settlement", TRADING, (TEXT, BEHAVIOUR), "settlement in crypto currency (USDT, ETH, BTC, wallets)"),
    Signal("split_ownership", TRADING, (TEXT,), "shares of one collectible sold to several buyers"),
    Signal("fraud_promise", FRAUD, (TEXT,), "guaranteed returns, buy-backs or principal"),
    Signal("fraud_aftermath", FRAUD, (TEXT,), "withdrawals refused, a platform gone (跑路)"),
    Signal("primary_promotion", TRADING, (TEXT,), "promotes first-hand sales: low weight, never enough alone",
           shows_trading=False),
    Signal("scheme_stance", FRAUD, (STANCE,), "a post that runs a scheme: returns, jackpots, commissions"),
    Signal("secondary_listing", TRADING, (BEHAVIOUR,), "a user lists a held collectible for resale"),
    Signal("secondary_sale", TRADING, (BEHAVIOUR,), "a collectible resold from one user to another"),
    Signal("paid_transfer", TRADING, (BEHAVIOUR,), "a gift paid for by its receiver: a sale in disguise"),
    Signal("lockup_breach", TRADING, (BEHAVIOUR,), "a collectible given away before its lock-up period ended"),
    Signal("rapid_flip", TRADING, (BEHAVIOUR,), "a collectible resold soon after its seller acquired it"),
    Signal("price_premium", TRADING, (BEHAVIOUR,), "a price at a multiple of the issue price"),
    Signal("multi_level_circulation", TRADING, (BEHAVIOUR,), "one item passed along a chain of holders"),
    Signal("wash_trading", TRADING, (BEHAVIOUR,), "an item returning to a user who held it before"),
    Signal("middleman", TRADING, (BEHAVIOUR,), "one user buying from many and selling to many"),
    Signal("withdrawal_failure", FRAUD, (BEHAVIOUR,), "a user's withdrawal failed"),
    Signal("withdrawal_failure_ratio", FRAUD, (WINDOW,), "most withdrawals in the window failed"),
)

SIGNALS_BY_CODE: dict[str, Signal] = {signal.code: signal for signal in SIGNALS}


def codes(*, family: str | None = None, source: str | None = None) -> tuple[str, ...]:
    """Registered codes in :data:`SIGNALS` order, of one family and/or one source."""
    return tuple(
        s.code for s in SIGNALS
        if (family is None or s.family == family) and (source is None or source in s.sources)
    )


TEXT_SIGNAL_CODES = codes(source=TEXT)
STANCE_SIGNAL_CODES = codes(source=STANCE)
BEHAVIOUR_SIGNAL_CODES = codes(source=BEHAVIOUR)
TRADING_CODES = codes(family=TRADING)
FRAUD_CODES = codes(family=FRAUD)
# what a post can contribute: its stance and the cues of an offer or scheme
POST_CODES = STANCE_SIGNAL_CODES + TEXT_SIGNAL_CODES
# codes that show an account trades or defrauds (not merely promotes first-hand sales)
ACTIVITY_CODES = frozenset(s.code for s in SIGNALS if s.shows_trading)


def signals_table() -> str:
    """The registry as a Markdown table, for the reference documentation."""
    lines = ["| code | score | from | meaning |", "|---|---|---|---|"]
    for s in SIGNALS:
        lines.append(f"| `{s.code}` | {s.family} | {', '.join(s.sources)} | {s.summary} |")
    return "\n".join(lines)
