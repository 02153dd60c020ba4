"""The benchmark's input traffic: the realistic prefill, the latency probe and quiet accounts.

All event times lie in the past (the worker rejects inputs from the future), and every
account id used by the latency and memory phases is fresh, so those phases start from an
empty state regardless of the prefill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from bench.kafkaio import Message
from streams import topics
from streams.core.timefmt import format_time, parse_time
from streams.offline.simulate import simulate

SIM_DAYS = 3.0
MESSAGES_PER_ACCOUNT = 90  # roughly what simulate() yields per account over 3 days at intensity 1
# Secondary sales per latency-probe account: the default policy's reminder threshold is crossed
# at the fourth (secondary_sale + price_premium); the later ones must not trigger anything new.
SALES_PER_PROBE_ACCOUNT = 6
PROBE_SPACING_S = 60


def prefill_records(messages: int, seed: int = 20261128, now: float | None = None) -> list[dict]:
    """``messages`` simulated recording lines (many accounts, realistic topic mix), oldest first."""
    now = time.time() if now is None else now
    accounts = max(20, messages // MESSAGES_PER_ACCOUNT)
    for _ in range(6):  # bounded: grow the population until there are enough messages
        records = simulate(seed=seed, accounts=accounts, days=SIM_DAYS, start=now - (SIM_DAYS + 1) * 86400).records
        if len(records) >= messages:
            return records[:messages]
        accounts = int(accounts * messages / max(1, len(records)) * 1.1) + 1
    raise RuntimeError(f"simulate() did not yield {messages} messages")


def to_messages(records: list[dict]) -> list[Message]:
    return [Message(r["topic"], str(r["key"]).encode(), orjson.dumps(r["value"])) for r in records]


@dataclass(frozen=True)
class ProbeEvent:
    """One offered input: the message plus, for a latency probe, its account and event time
    (whole seconds); background traffic has ``account == ""``."""

    account: str
    event_time: int
    message: Message


def probe_account(index: int) -> str:
    return f"gh_b{index:011x}"


def probe_events(count: int, now: float | None = None, run_tag: str = "", first_account: int = 0) -> list[ProbeEvent]:
    """``count`` secondary sales over fresh accounts, interleaved so many cases are open at once.

    Accounts are taken in waves of up to 64; within a wave the sales go round-robin, so each
    account's reminder is triggered by one message in the middle of the traffic. The
    (account, event time) pair of every message is unique, which is what an action's
    ``account_id`` and ``event_time`` are matched against. ``first_account`` lets each step of a
    ramp use accounts no earlier step touched.
    """
    now = time.time() if now is None else now
    base = int(now) - 3 * 3600
    # a short phase offers few probes: waves small enough that every account gets all its
    # sales (64 accounts x 6 sales needs 384 probes before the first reminder is due)
    wave = max(1, min(64, count // SALES_PER_PROBE_ACCOUNT))
    events: list[ProbeEvent] = []
    account_index = first_account
    while len(events) < count:
        accounts = [probe_account(account_index + i) for i in range(wave)]
        account_index += wave
        for sale in range(SALES_PER_PROBE_ACCOUNT):
            for position, account in enumerate(accounts):
                if len(events) >= count:
                    break
                at = base + sale * PROBE_SPACING_S + position  # unique per account and sale
                app = f"wx{int(account[4:], 16):016x}"
                value = {
                    "event_id": f"bench-probe{run_tag}-{account}-{sale}",
                    "app_id": app,
                    "owner_account_id": account,
                    "occurred_at": format_time(at),
                    "type": "sale.secondary",
                    "user_id": f"buyer-{account}-{sale}",
                    "counterparty_id": f"seller-{account}-{sale}",
                    "item_id": f"item-{account}-{sale}",
                    "collection_id": "bench-collection",
                    "price_cents": 99000,
                    "issue_price_cents": 990,
                }
                events.append(ProbeEvent(account, at, Message(topics.MINI_PROGRAM_EVENTS, app.encode(), orjson.dumps(value))))
    return events


def quiet_posts(count: int, now: float | None = None, first: int = 0) -> list[Message]:
    """One harmless post each for ``count`` fresh accounts (numbered from ``first``): the
    cheapest state a worker keeps."""
    now = time.time() if now is None else now
    published = format_time(int(now) - 3600)
    messages = []
    for index in range(first, first + count):
        account = f"gh_q{index:011x}"
        value = {
            "event_id": f"bench-quiet-{account}",
            "account_id": account,
            "published_at": published,
            "title": "本周活动预告",
            "text": "欢迎关注我们的公众号，本周六下午在门店举办读书分享会，免费参加。",
        }
        messages.append(Message(topics.POSTS, account.encode(), orjson.dumps(value)))
    return messages


WARMUP_SEED = 777  # other simulated accounts than the measured phase's background (seed 4242)
STEP_SEED = 4242  # a capacity ramp's step k draws its background with seed STEP_SEED + k
ACCOUNTS_PER_STEP = 1_000_000  # and its probe accounts from index k * ACCOUNTS_PER_STEP on


def background(count: int, seed: int, now: float | None = None) -> list[ProbeEvent]:
    """``count`` simulated inputs without latency probes."""
    return [ProbeEvent("", 0, m) for m in to_messages(prefill_records(count, seed=seed, now=now))]


def offered_traffic(count: int, probe_share: float, seed: int = 4242, now: float | None = None,
                    first_account: int = 0) -> list[ProbeEvent]:
    """``count`` inputs: realistic simulated background with latency probes spread evenly in it.

    Why a mix: an all-probe stream makes every sixth message an action, far more than real
    traffic (the simulation's mix has under 1 % actions), and then the action publishing
    dominates; ``probe_share`` sets how much of the load is probes (1.0 = probes only).
    """
    probes_wanted = max(1, min(count, round(count * probe_share)))
    probes = probe_events(probes_wanted, now=now, first_account=first_account)
    others = background(count - probes_wanted, seed=seed, now=now) if count > probes_wanted else []
    mixed: list[ProbeEvent] = []
    taken = 0
    for index in range(count):  # Bresenham-style: the probes land evenly among the background
        due = (index + 1) * probes_wanted // count
        if due > taken and taken < len(probes):
            mixed.append(probes[taken])
            taken += 1
        else:
            mixed.append(others[index - taken])
    return mixed


# per topic: the event-time field, then the fields moved with it (they are relative to it)
_TIME_FIELDS = {
    topics.POSTS: ("published_at",),
    topics.MINI_PROGRAM_EVENTS: ("occurred_at", "acquired_at"),
    topics.QUALIFICATIONS: ("updated_at", "valid_until"),
    topics.APPEALS: ("decided_at",),
}


def live(message: Message, at: float) -> Message:
    """``message`` as live traffic: its event time moved to ``at`` (the moment it is sent), and
    its other times with it. Offered traffic is live, as a deployment's is: the pipeline
    watermark follows a caught-up input's wall clock, so events timed hours in the past
    would each wait for an idle input instead of being decided at once."""
    names = _TIME_FIELDS.get(message.topic)
    if not names:
        return message
    value = orjson.loads(message.value)
    original = value.get(names[0])
    if not isinstance(original, str):
        return message
    delta = at - parse_time(original)
    for name in names:
        if isinstance(value.get(name), str):
            value[name] = format_time(parse_time(value[name]) + delta)
    return Message(message.topic, message.key, orjson.dumps(value))
