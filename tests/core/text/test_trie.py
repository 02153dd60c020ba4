"""The vocabulary trie: one regex for many terms, matching exactly like a flat alternation."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from streams.core.text.matching import DEFAULT_VOCABULARY_PATH, TextMatcher
from streams.core.text.normalise import is_word_char, normalise
from streams.core.text.trie import trie_regex
from streams.offline.simulate import simulate


def test_longest_term_wins_and_latin_terms_match_whole_words() -> None:
    regex = re.compile(trie_regex(["二级", "二级市场", "no", "nft"]))
    assert [m.group() for m in regex.finditer("二级市场 now no nfts nft")] == ["二级市场", "no", "nft"]


def test_grouped_trie_matches_like_the_flat_alternation() -> None:
    """The CJK trie is split into groups behind look-aheads (faster in CPython's engine);
    every match must be the one the flat alternation finds."""
    matcher = TextMatcher.from_file(DEFAULT_VOCABULARY_PATH)
    terms = [t for t in matcher._literals if not is_word_char(t[0])]
    grouped, flat = re.compile(trie_regex(terms)), re.compile(trie_regex(terms, group_size=10**6))
    assert grouped.pattern != flat.pattern
    texts = [record["value"].get("text", "") for record in simulate(seed=5, accounts=60, days=2.0).records]
    heldout = Path(__file__).resolve().parents[2] / "data" / "heldout_posts.jsonl"
    texts += [json.loads(line).get("text", "") for line in heldout.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(1)  # runs of vocabulary terms with noise between them: overlaps and prefixes
    texts += ["".join(rng.choice(terms)[: rng.randint(1, 6)] + rng.choice(["", "的", " ", "，", "a"])
                      for _ in range(30)) for _ in range(300)]
    for text in map(normalise, texts):
        assert [(m.span(), m.group()) for m in grouped.finditer(text)] == [
            (m.span(), m.group()) for m in flat.finditer(text)]
