"""Accounts that write like the held-out corpus, not like our simulator.

``tests/data/heldout_posts.jsonl`` was written independently of the vocabulary (by someone who
never saw it): 200 labelled posts with their own phrasing, disguises and traps. Here every
simulated account's posts are replaced by held-out posts of its kind, keeping its mini-program
behaviour, so the detector is judged on wording it was not tuned to.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from streams.core.policy import load_policy
from streams.core.signals import FRAUD_CODES
from streams.core.text.matching import TextMatcher
from streams.offline.evaluate import evaluate
from streams.offline.replay import replay
from streams.offline.simulate import simulate

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout_posts.jsonl"

# simulated archetype -> held-out post kinds it writes like
WRITES_LIKE = {
    "news_regulator": ("news", "regulator"),
    "compliance_notice": ("compliance",),
    "stock_commentary": ("market_commentary",),
    "secondhand_goods": ("physical_secondhand", "everyday"),
    "licensed_primary": ("primary_sale",),
    "unlicensed_primary": ("primary_sale",),
    "allowlisted_leader": ("primary_sale", "compliance"),
}
TRADING_KINDS = ("trading",)
FRAUD_CODES = frozenset(FRAUD_CODES)
NEVER_ACT = ("news_regulator", "compliance_notice", "stock_commentary", "secondhand_goods",
             "licensed_primary", "unlicensed_primary", "allowlisted_leader")


def heldout_by_group() -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        groups[post["kind"]].append(post)
        if post["label"] in ("trading", "fraud"):
            groups[post["label"]].append(post)
    return groups


@pytest.fixture(scope="module")
def rewritten():
    return rewrite_and_replay()


def rewrite_and_replay():
    simulation = simulate(seed=21, accounts=160, days=10, intensity=0.5)
    archetype = {label["account_id"]: label["archetype"] for label in simulation.labels}
    groups = heldout_by_group()
    matcher = TextMatcher.default()
    rng = random.Random(5)
    records = []
    for record in simulation.records:
        if record["topic"] == "posts.v1":
            kinds = WRITES_LIKE.get(archetype[record["key"]])
            if kinds is None:  # a trading or fraud platform: keep the timeline of what it says
                said = {hit.code for hit in matcher.match(record["value"].get("title", ""), record["value"]["text"])}
                kinds = ("fraud",) if said & FRAUD_CODES else TRADING_KINDS if said - {"primary_promotion"} else ("primary_sale",)
            post = rng.choice([p for kind in kinds for p in groups[kind]])
            value = dict(record["value"], title=post["title"], text=post["text"])
            record = dict(record, value=value)
        records.append(record)
    lines = [(str(i), orjson.dumps(r)) for i, r in enumerate(records)]
    result = replay(lines, load_policy(), until="end")
    return result, {label["account_id"]: label for label in simulation.labels}


def test_accounts_that_only_write_about_trading_are_never_touched(rewritten):
    result, labels = rewritten
    acted = {a["account_id"] for a in result.actions if a["action"] in ("qualification_reminder", "suspend")}
    wrongly = sorted(f"{labels[a]['archetype']}:{a}" for a in acted if labels[a]["archetype"] in NEVER_ACT)
    assert wrongly == []


def test_trading_and_fraud_accounts_are_still_found(rewritten):
    result, labels = rewritten
    evaluation = evaluate(result, labels)
    assert evaluation.suspend.recall >= 0.95 and evaluation.suspend.precision >= 0.98
    assert evaluation.reminder_or_stronger.recall >= 0.95 and evaluation.reminder_or_stronger.precision >= 0.98
