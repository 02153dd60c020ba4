"""``tradewatch simulate``: seeded, labelled synthetic traffic for the input topics.

Why: the detector needs an evaluation set with known answers, and the demo needs traffic.
The generator is written independently of the detector, from the domain description (docs/domain.md) alone: each account
follows one archetype (open resale market, consignment, disguised trading, crypto
settlement, fraud, licence-prover, a trader that stops, first-hand platforms, compliance
notices, news, stock commentary, second-hand shops, an allowlisted leading platform) and
gets the label the policy should end with.

Output: a :class:`Simulation` whose ``records`` are Recording lines (docs/design.md) sorted by
event time (stable), and whose ``labels`` are Labels lines plus the archetype name.

Allowlist: the licensed leading platforms have fixed ids, ``ALLOWLISTED_ACCOUNT_IDS``
(the same for every seed), so the default policy file can allowlist them.

Field conventions beyond the contract: ``price_cents`` is always the price in fen, also
for crypto-settled sales (``currency`` then names the coin the buyer paid in); withdrawal
events carry extra fields ``withdrawal_id``, ``amount_cents`` and ``failure_reason``, which
consumers may ignore. Times are RFC 3339 with ``+08:00`` at whole seconds.

Labels assume the recording is long enough for the 72-hour grace period to play out: with
``days`` under about 5, traders that would be suspended are labelled ``reminder`` (their
deadline falls after the recording ends), and the "stopped trading" archetype needs
``days >= 8.75`` (it must be quiet for the last 7 days) and is left out otherwise.

Live traffic for the demo: :func:`live_traffic` replays a simulation against the wall clock
(event times start at ``now``; a ``speedup`` of 3600 plays one simulated hour per second).
Alternatively call ``simulate(start=now - X, days=...)`` and publish the records directly.
"""

from __future__ import annotations

import io
import math
import os
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, cast

import orjson

from streams.core.timefmt import parse_time
from streams.offline.sim_accounts import (
    ALLOWLISTED_ACCOUNT_IDS,
    ARCHETYPES,
    LEADING_PLATFORMS,
    POSTS_TOPIC,
    QUALIFICATIONS_TOPIC,
    Account,
    Archetype,
    display_name,
)
from streams.offline.sim_market import DAY, IdSource

__all__ = ["Simulation", "simulate", "write_jsonl", "live_traffic", "ALLOWLISTED_ACCOUNT_IDS"]

DEFAULT_START = datetime(2022, 3, 20, tzinfo=timezone(timedelta(hours=8))).timestamp()
MIN_DAYS_FOR_STOPPED = 8.75


@dataclass
class Simulation:
    records: list[dict]  # recording lines {"topic", "key", "value"}, sorted by event time (stable)
    labels: list[dict]  # {"account_id", "expected": "suspend"|"reminder"|"none", "archetype"}


def _allocate(accounts: int, days: float) -> list[Archetype]:
    """How many accounts of each archetype: every archetype at least once (when there is
    room), one allowlisted leader per 200 accounts, the rest by weight."""
    eligible = [a for a in ARCHETYPES if a.name != "stopped_trading" or days >= MIN_DAYS_FOR_STOPPED]
    leaders = [a for a in eligible if a.name == "allowlisted_leader"]
    weighted = [a for a in eligible if a.weight > 0]
    plan: list[Archetype] = []
    leader_count = min(len(LEADING_PLATFORMS), max(1, accounts // 200)) if accounts >= len(eligible) else 0
    plan += leaders * leader_count
    rest = accounts - leader_count
    if rest >= len(weighted):
        plan += weighted
        rest -= len(weighted)
    total = sum(a.weight for a in weighted)
    shares = [(rest * a.weight / total, a) for a in weighted]
    counts = [int(share) for share, _ in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: -(shares[i][0] - counts[i]))
    for i in by_remainder[: rest - sum(counts)]:
        counts[i] += 1
    for count, (_, archetype) in zip(counts, shares):
        plan += [archetype] * count
    return plan


def simulate(*, seed: int = 7, accounts: int = 240, days: float = 10.0, start: float | None = None,
             intensity: float = 1.0) -> Simulation:
    """Generate ``days`` of traffic for ``accounts`` accounts; deterministic for ``seed``.

    ``start`` is the epoch time the traffic begins (default 2022-03-20T00:00:00+08:00);
    ``intensity`` scales the number of posts and mini-program events.
    """
    if accounts < 0 or days <= 0 or intensity < 0:
        raise ValueError("accounts must be >= 0, days > 0 and intensity >= 0")
    begin = math.ceil(DEFAULT_START if start is None else start)
    end = begin + int(days * DAY)
    master = random.Random(seed)
    ids = IdSource(random.Random(master.getrandbits(64)))
    ids.used.update(ALLOWLISTED_ACCOUNT_IDS)
    plan = _allocate(accounts, days)
    master.shuffle(plan)

    out: list = []
    labels: list[dict] = []
    leaders_used = 0
    for archetype in plan:
        rng = random.Random(master.getrandbits(64))
        if archetype.name == "allowlisted_leader":
            name, name_en = LEADING_PLATFORMS[leaders_used]
            account_id = ALLOWLISTED_ACCOUNT_IDS[leaders_used]
            leaders_used += 1
        else:
            name, name_en = display_name(rng, archetype.names)
            account_id = ids.account_id()
        app_ids = [ids.app_id() for _ in range(rng.randint(*archetype.apps))]
        account = Account(archetype.name, account_id, name, name_en, app_ids, rng, ids, out,
                          begin, end, intensity)
        archetype.script(account)
        labels.append({"account_id": account_id, "expected": account.expected, "archetype": archetype.name})

    out.sort(key=lambda row: row[0])  # stable: ties keep generation order
    records = [{"topic": topic, "key": key, "value": value} for _, topic, key, value in out]
    return Simulation(records=records, labels=labels)


def write_jsonl(path_or_file: str | os.PathLike | IO[bytes] | IO[str], rows: Iterable[dict]) -> None:
    """Write one JSON object per line (orjson); accepts a path or an open file."""
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, "wb") as handle:
            for row in rows:
                handle.write(orjson.dumps(row) + b"\n")
        return
    if isinstance(path_or_file, io.TextIOBase):
        for row in rows:
            path_or_file.write((orjson.dumps(row) + b"\n").decode())
        return
    # not an io.TextIOBase: taken for a binary file and written bytes, as it always was
    binary_file = cast(IO[bytes], path_or_file)
    for row in rows:
        binary_file.write(orjson.dumps(row) + b"\n")


def live_traffic(seed: int, accounts: int, now: float | None = None, speedup: float = 3600.0,
                 days: float = 10.0, intensity: float = 1.0) -> Iterator[tuple[float, dict]]:
    """Yield ``(wall_clock_send_time, record)`` for a demo producer.

    Event times start at ``now`` and advance ``speedup`` times faster than the wall clock,
    so deadlines (event time) pass within minutes. The caller sleeps until each send time
    and publishes the record; this generator never sleeps itself.
    """
    now = time.time() if now is None else now
    simulation = simulate(seed=seed, accounts=accounts, days=days, start=now, intensity=intensity)
    time_field = {POSTS_TOPIC: "published_at", QUALIFICATIONS_TOPIC: "updated_at"}
    for record in simulation.records:
        event_time = parse_time(record["value"][time_field.get(record["topic"], "occurred_at")])
        yield now + (event_time - now) / speedup, record

