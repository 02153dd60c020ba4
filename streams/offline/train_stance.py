"""``tradewatch train-stance``: fit the stance model on the labelled corpus's development part.

Multinomial logistic regression over :func:`streams.core.stance.post_features`, trained by
stochastic gradient descent with classes weighted to equal total weight, in plain Python and
with a fixed seed, so the same corpus always gives the same model. Features seen in fewer
than ``min_df`` posts are dropped before training, weights near zero after it: the shipped
model stays small and every weight it keeps was learnt from several posts.

The sealed part of the corpus is never read here: ``corpus/posts.sealed.jsonl`` exists to
measure, not to fit.
"""

from __future__ import annotations

import gzip
import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.core.stance import GATE_CLASSES, OFFER_KINDS, STANCE_KINDS, Linear, StanceModel, post_features

# The corpus labels each post by its voice (who writes it); the voice says the speech act.
VOICE_STANCE: dict[str, str] = {
    # offers: the account trades
    "consignment_operator": "offer", "individual_reseller": "offer",
    "offsite_market_disguised": "offer", "crypto_otc": "offer", "snapup_bot": "offer",
    "english_trader": "offer", "mixed_trader": "offer",
    # schemes: the account runs a fraud
    "buyback_guarantee": "scheme", "jackpot_pool": "scheme", "dividend_referral": "scheme",
    "principal_fixed_return": "scheme", "unfreeze_fee": "scheme", "withdrawal_stall": "scheme",
    "english_fraud": "scheme",
    # discussion
    "news_domestic": "report", "news_overseas_market": "report", "court_news": "report",
    "research_report": "report",
    "police_warning": "warning", "bank_warning": "warning", "consumer_guide": "warning",
    "lawyer_explainer": "explanation", "tech_blockchain": "explanation",
    "editorial_opinion": "opinion",
    "platform_rules_notice": "rules_notice",
    "primary_platform_announcement": "promotion", "everyday_brand": "promotion",
    "victim_rights_group": "report", "platform_service_notice": "rules_notice",
    "recruitment_business": "promotion", "giveaway_event": "promotion",
    "market_operations_notice": "offer",
    "stock_commentary": "other_market", "secondhand_goods": "other_market",
    "physical_collectibles": "other_market", "game_and_tickets": "other_market",
}


@dataclass(frozen=True)
class LabelledPost:
    id: str
    voice: str
    label: str  # benign | trading | fraud
    title: str
    text: str

    @property
    def stance(self) -> str:
        return VOICE_STANCE[self.voice]


# Benign voices whose authors run a collectibles platform (all trading and fraud voices do).
PLATFORM_VOICES = frozenset({
    "platform_rules_notice", "primary_platform_announcement", "platform_service_notice",
    "giveaway_event", "everyday_brand", "recruitment_business",
})


# The simulator's post kinds (streams/offline/sim_phrases.py) and the voices they write like:
# its posts train the model alongside the corpus so that `tradewatch simulate` traffic, our
# regression data, is judged as its labels mean. They never stand in for the sealed corpus.
SIMULATED_VOICES: dict[str, tuple[str, str]] = {
    "open_market": ("consignment_operator", "trading"), "consignment": ("consignment_operator", "trading"),
    "disguised": ("offsite_market_disguised", "trading"), "crypto": ("crypto_otc", "trading"),
    "fraud_promise": ("buyback_guarantee", "fraud"), "fraud_excuse": ("withdrawal_stall", "fraud"),
    "primary": ("primary_platform_announcement", "benign"), "licensed": ("primary_platform_announcement", "benign"),
    "leader": ("primary_platform_announcement", "benign"), "stop_trading": ("platform_rules_notice", "benign"),
    "compliance": ("platform_rules_notice", "benign"), "news": ("news_domestic", "benign"),
    "stock": ("stock_commentary", "benign"), "secondhand": ("secondhand_goods", "benign"),
}


# How many of each simulated kind train the model: enough that the simulator's first-hand
# drops ("已售罄,感谢藏友支持!") are not read as offers among the corpus's many first-person offers.
SIMULATED_PER_KIND = 40


def simulated_posts(per_kind: int = SIMULATED_PER_KIND, seed: int = 7) -> list[LabelledPost]:
    """Labelled posts as the simulator writes them, ``per_kind`` of each kind (distinct texts)."""
    from streams.offline import sim_phrases

    rng = random.Random(seed)
    posts = []
    for kind, (voice, label) in sorted(SIMULATED_VOICES.items()):
        seen: set[str] = set()
        for _attempt in range(per_kind * 10):
            if len(seen) >= per_kind:
                break
            ctx = {"platform": sim_phrases.platform_name(rng), "platform_en": rng.choice(sim_phrases.PLATFORM_EN)}
            title, text = sim_phrases.compose_post(rng, kind, ctx)
            if text in seen:
                continue
            seen.add(text)
            posts.append(LabelledPost(f"sim-{kind}-{len(seen):03d}", voice, label, title, text))
    return posts


def read_posts(path: str | Path) -> list[LabelledPost]:
    posts = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = orjson.loads(line)
            if row.get("voice") not in VOICE_STANCE or row.get("label") not in ("benign", "trading", "fraud"):
                raise ValueError(f"{path}:{number}: a post needs a known voice and a label")
            posts.append(LabelledPost(row["id"], row["voice"], row["label"], row.get("title") or "", row["text"]))
    return posts


def fit(examples: list[tuple[list[str], int]], classes: tuple[str, ...], epochs: int, learning_rate: float,
        l2: float, seed: int) -> Linear:
    """Multinomial logistic regression by SGD, classes weighted to equal total weight."""
    k = len(classes)
    seen = Counter(y for _, y in examples)
    class_weight = [len(examples) / (len(seen) * seen[i]) if seen[i] else 0.0 for i in range(k)]
    weights: list[dict[str, float]] = [dict() for _ in range(k)]
    bias = [0.0] * k
    rng = random.Random(seed)
    order = list(range(len(examples)))
    for epoch in range(epochs):
        rng.shuffle(order)
        rate = learning_rate / (1.0 + epoch)
        for index in order:
            feats, y = examples[index]
            scale = 1.0 / math.sqrt(len(feats)) if feats else 0.0
            scores = [bias[i] + scale * sum(weights[i].get(f, 0.0) for f in feats) for i in range(k)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            cw = class_weight[y]
            for i in range(k):
                grad = cw * (exps[i] / total - (1.0 if i == y else 0.0))
                if abs(grad) < 1e-6:
                    continue
                bias[i] -= rate * grad * 0.1
                w = weights[i]
                delta = rate * grad * scale
                for f in feats:
                    old = w.get(f, 0.0)
                    w[f] = old - delta - rate * l2 * old
    pruned = {c: {f: v for f, v in w.items() if abs(v) >= 1e-3} for c, w in zip(classes, weights)}
    return Linear(classes, dict(zip(classes, bias)), pruned)


def train(posts: Iterable[LabelledPost], epochs: int = 14, learning_rate: float = 1.0,
          l2: float = 2e-5, min_df: int = 3, seed: int = 7, version: str = "dev",
          gate_epochs: int | None = None, gate_learning_rate: float | None = None) -> StanceModel:
    """Fit the kind model and the gate; deterministic for the same posts and arguments."""
    rows = []
    df: Counter[str] = Counter()
    for post in posts:
        feats = post_features(post.title, post.text)
        df.update(feats)
        rows.append((feats, post.stance))
    kept = {f for f, n in df.items() if n >= min_df}
    data = [(sorted(f for f in feats if f in kept), stance) for feats, stance in rows]
    kinds = [(feats, STANCE_KINDS.index(stance)) for feats, stance in data]
    gate = [(feats, 0 if stance in OFFER_KINDS else 1) for feats, stance in data]
    return StanceModel(
        fit(kinds, STANCE_KINDS, epochs, learning_rate, l2, seed),
        fit(gate, GATE_CLASSES, gate_epochs or epochs, gate_learning_rate or learning_rate, l2, seed),
        version,
    )


def write_model(model: StanceModel, path: str | Path) -> None:
    """Write the model as JSON (gzip-compressed when the name ends in ``.gz``, reproducibly:
    no file name or time in the gzip header)."""
    data = orjson.dumps(model.to_mapping(), option=orjson.OPT_SORT_KEYS) + b"\n"
    if str(path).endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    Path(path).write_bytes(data)
