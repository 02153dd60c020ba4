"""``tradewatch evaluate-posts``: post by post, which labelled posts carry an effective signal.

An *effective* signal is one that reaches the account's counters: it survived the vocabulary's
context rules and the stance gate (:mod:`streams.core.post_signals`). Whether a post counts can
depend on its account: cues without collectible context in the post count only for an account
known to run a collectibles platform. Each post is judged in the context of the account its
voice writes for — traders, schemes and platforms' own notices as a collectibles platform
(:data:`PLATFORM_VOICES`), everyone else (news, police, lawyers, shops) as an account with no
collectibles business — or, with ``strict``, every post as a collectibles platform's. A benign
post with any effective signal is a false alarm; a trading or fraud post without one is a
miss. Results are printed per voice (the kind of author), so a class
of failure shows as a row, not as a number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from streams.core.policy import Policy
from streams.core.post_signals import effective_hits
from streams.core.signals import FRAUD_CODES
from streams.core.stance import StanceModel
from streams.core.text.matching import TextMatcher
from streams.offline.train_stance import PLATFORM_VOICES, LabelledPost


def platform_context(post: LabelledPost) -> bool:
    return post.label != "benign" or post.voice in PLATFORM_VOICES


@dataclass
class VoiceResult:
    label: str
    posts: int = 0
    flagged: int = 0  # posts with at least one effective signal
    fraud_flagged: int = 0  # posts with an effective fraud-family signal
    stance_right: int = 0  # posts whose stance kind is the voice's
    examples: list[str] = field(default_factory=list)  # ids of posts judged wrongly


@dataclass
class PostEvaluation:
    voices: dict[str, VoiceResult]

    def _sum(self, labels: tuple[str, ...]) -> tuple[int, int]:
        rows = [v for v in self.voices.values() if v.label in labels]
        return sum(v.flagged for v in rows), sum(v.posts for v in rows)

    @property
    def benign_flagged(self) -> tuple[int, int]:
        return self._sum(("benign",))

    @property
    def offers_found(self) -> tuple[int, int]:
        return self._sum(("trading", "fraud"))

    @property
    def fraud_found_as_fraud(self) -> tuple[int, int]:
        rows = [v for v in self.voices.values() if v.label == "fraud"]
        return sum(v.fraud_flagged for v in rows), sum(v.posts for v in rows)


def evaluate_posts(posts: Iterable[LabelledPost], policy: Policy, matcher: TextMatcher | None = None,
                   stance: StanceModel | None = None, max_examples: int = 5, strict: bool = False) -> PostEvaluation:
    matcher = matcher or TextMatcher.from_file(policy.vocabulary_path)
    stance = stance or StanceModel.from_file(policy.stance_model_path)
    fraud_codes = frozenset(FRAUD_CODES)
    voices: dict[str, VoiceResult] = {}
    for post in posts:
        row = voices.get(post.voice)
        if row is None:
            row = voices[post.voice] = VoiceResult(post.label)
        judged = stance.classify(post.title, post.text)
        platform = strict or platform_context(post)
        hits = effective_hits(matcher.analyse(post.title, post.text), judged, policy.stance_min_offer, platform)
        row.posts += 1
        row.flagged += bool(hits)
        row.fraud_flagged += any(hit.code in fraud_codes for hit in hits)
        row.stance_right += judged.kind == post.stance
        wrong = bool(hits) if post.label == "benign" else not hits
        if wrong and len(row.examples) < max_examples:
            row.examples.append(post.id)
    return PostEvaluation(dict(sorted(voices.items(), key=lambda kv: (kv[1].label, kv[0]))))


def format_post_report(evaluation: PostEvaluation, show_examples: bool = True) -> str:
    def share(pair: tuple[int, int]) -> str:
        done, total = pair
        return f"{done}/{total} ({done / total:.1%})" if total else "0/0"

    lines = [
        f"benign posts with an effective signal: {share(evaluation.benign_flagged)}",
        f"trading and fraud posts found:         {share(evaluation.offers_found)}",
        f"fraud posts found as fraud:            {share(evaluation.fraud_found_as_fraud)}",
        "",
        f"{'voice':32}{'label':9}{'posts':>6}{'flagged':>9}{'stance ok':>11}",
    ]
    for voice, row in evaluation.voices.items():
        lines.append(f"{voice:32}{row.label:9}{row.posts:>6}{row.flagged:>9}{row.stance_right:>11}"
                     + (f"   wrong: {', '.join(row.examples)}" if show_examples and row.examples else ""))
    return "\n".join(lines)
