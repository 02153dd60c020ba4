"""tradewatch evaluate-posts: post by post, false alarms and misses by voice."""

from __future__ import annotations

from streams.core.policy import load_policy
from streams.offline.evaluate_posts import evaluate_posts, format_post_report
from streams.offline.train_stance import LabelledPost
from tests.core.test_stance import EXAMPLES


def post(voice: str, label: str, kind: str, n: int = 0) -> LabelledPost:
    title, text = EXAMPLES[kind][n]
    return LabelledPost(f"{voice}-{n}", voice, label, title, text)


def test_offers_are_found_and_warnings_raise_no_alarm_and_each_voice_has_its_row():
    posts = [post("individual_reseller", "trading", "offer", 1), post("police_warning", "benign", "warning"),
             post("buyback_guarantee", "fraud", "scheme", 0)]
    evaluation = evaluate_posts(posts, load_policy())
    assert evaluation.benign_flagged == (0, 1)
    assert evaluation.offers_found == (2, 2)
    assert evaluation.fraud_found_as_fraud == (1, 1)
    report = format_post_report(evaluation)
    assert "police_warning" in report and "0/1 (0.0%)" in report


def test_a_missed_offer_is_listed_by_id():
    missed = LabelledPost("x-1", "individual_reseller", "trading", "", "今天天气不错。")
    evaluation = evaluate_posts([missed], load_policy())
    assert evaluation.offers_found == (0, 1)
    assert "wrong: x-1" in format_post_report(evaluation)
