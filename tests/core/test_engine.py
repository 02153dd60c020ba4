"""The policy state machine, transition by transition (docs/design.md "Policy")."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.core.actions import make_action_id
from streams.core.engine import Detector
from streams.core.events import Tick
from streams.core.policy import load_policy
from streams.core.state import SubjectState
from streams.core.timefmt import format_time, parse_time
from tests.fixtures import (
    ACCOUNT,
    APP,
    DAY,
    HOUR,
    T0,
    CodesInTextMatcher,
    CodesInTextStance,
    appeal,
    mp_event,
    post,
    qualification,
    resales,
)


@pytest.fixture
def policy():
    return load_policy()


def make_detector(policy, **changes) -> Detector:
    return Detector(replace(policy, **changes), matcher=CodesInTextMatcher(), stance=CodesInTextStance())


def run(detector: Detector, events, state: SubjectState | None = None):
    actions = []
    for event in events:
        state, outcome = detector.process(state, event)
        actions.extend(outcome.actions)
    return state, actions


def kinds(actions):
    return [(a["action"], a["subject"]["kind"]) for a in actions]


def test_primary_sales_airdrops_and_promotion_alone_never_act(policy):
    detector = make_detector(policy)
    events = [mp_event("sale.primary", user=f"u{i}", at=T0 + i * 60, item_id=f"i{i}", price_cents=100) for i in range(200)]
    events += [mp_event("airdrop", user=f"u{i}", at=T0 + i * 61, item_id=f"a{i}") for i in range(50)]
    events += [post("codes:primary_promotion", at=T0 + i * HOUR) for i in range(30)]
    _, actions = run(detector, sorted(events, key=lambda e: e.event_time))
    assert actions == []


def test_trading_without_licence_gets_one_reminder_with_deadline_and_evidence(policy):
    detector = make_detector(policy)
    events = resales(30)
    state, actions = run(detector, events)
    assert kinds(actions) == [("qualification_reminder", "official_account")]
    reminder = actions[0]
    decided_at = parse_time(reminder["event_time"])
    deadline = parse_time(reminder["deadline"])
    assert policy.grace_s <= deadline - decided_at < policy.grace_s + HOUR
    assert reminder["trading_score"] >= policy.trading_reminder_threshold
    codes = {reason["code"] for reason in reminder["reasons"]}
    assert "secondary_sale" in codes
    known_ids = {e.event_id for e in events}
    for reason in reminder["reasons"]:
        assert 0 < len(reason["evidence"]) <= 20
        assert set(reason["evidence"]) <= known_ids


def test_verified_qualification_before_deadline_closes_case_and_prevents_suspension(policy):
    detector = make_detector(policy)
    state, actions = run(detector, resales(30))
    assert kinds(actions) == [("qualification_reminder", "official_account")]
    state, closing = run(detector, [qualification(at=T0 + DAY)], state)
    assert kinds(closing) == [("case_closed", "official_account")]
    assert closing[0]["case_id"] == actions[0]["case_id"]
    assert closing[0]["reasons"][0]["code"] == "qualification_verified"
    # it keeps trading, licensed: nothing more, even long after the old deadline
    _, later = run(detector, resales(40, start=T0 + 5 * DAY), state)
    assert later == []


def test_deadline_passed_while_still_trading_suspends_account_and_its_trading_mini_programs(policy):
    detector = make_detector(policy)
    other_app = "wxfedcba9876543210"
    events = resales(20) + resales(40, start=T0 + 1 * DAY, every=2 * HOUR, app=other_app)
    events += [mp_event("sale.primary", app="wx1111111111111111", at=T0 + 2 * DAY, item_id="p1", price_cents=100)]
    _, actions = run(detector, sorted(events, key=lambda e: e.event_time))
    assert [a["action"] for a in actions] == ["qualification_reminder", "suspend", "suspend", "suspend"]
    suspended = {(a["subject"]["kind"], a["subject"]["id"]) for a in actions if a["action"] == "suspend"}
    assert suspended == {("official_account", ACCOUNT), ("mini_program", APP), ("mini_program", other_app)}
    deadline = actions[0]["deadline"]
    assert all(a["event_time"] == deadline for a in actions[1:])
    assert len({a["case_id"] for a in actions}) == 1


def test_deadline_jumped_past_is_judged_as_of_the_deadline(policy):
    detector = make_detector(policy)
    state, actions = run(detector, resales(10) + resales(64, start=T0 + 6 * HOUR, every=HOUR))  # trades until just before the deadline
    assert kinds(actions) == [("qualification_reminder", "official_account")]
    deadline = actions[0]["deadline"]
    # silence, then one event ten days later: the window as of *then* would be empty,
    # but the deadline is judged with the score as of the deadline itself
    _, later = run(detector, [mp_event("sale.primary", at=T0 + 10 * DAY, item_id="late")], state)
    assert [a["action"] for a in later] == ["suspend", "suspend"]
    assert all(a["event_time"] == deadline for a in later)


def test_account_that_stops_trading_after_reminder_is_not_suspended(policy):
    detector = make_detector(policy)
    state, actions = None, []
    for sale in resales(30, every=60):  # trades until reminded, then stops
        state, outcome = detector.process(state, sale)
        actions += outcome.actions
        if actions:
            break
    quiet = [mp_event("sale.primary", at=T0 + DAY + i * HOUR, item_id=f"p{i}", user=f"p{i}") for i in range(100)]
    _, later = run(detector, quiet, state)
    assert [a["action"] for a in actions + later] == ["qualification_reminder", "case_closed"]
    assert later[0]["reasons"][0]["code"] == "trading_stopped"
    assert later[0]["event_time"] == actions[0]["deadline"]


def test_one_offer_post_alone_is_not_enough_for_text_to_count(policy):
    detector = make_detector(policy)
    loud = "codes:trading_venue,off_platform_trade,crypto_settlement,price_speculation"
    state, actions = run(detector, [post(loud, at=T0)])
    assert actions == []
    _, actions = run(detector, [post(loud, at=T0 + HOUR)], state)
    assert kinds(actions) == [("qualification_reminder", "official_account")]


def test_an_offer_naming_no_product_counts_once_the_account_shows_it_runs_a_collectibles_platform(policy):
    detector = make_detector(policy)
    offers = [post("uncontextual codes:trading_venue,off_platform_trade", at=T0 + i * HOUR) for i in range(2)]
    state, actions = run(detector, offers)
    assert actions == []  # a market of what? nothing yet says collectibles
    drops = [mp_event("sale.primary", user=f"u{i}", at=T0 + 3 * HOUR + i * 60, item_id=f"p{i}") for i in range(3)]
    _, actions = run(detector, drops, state)
    assert kinds(actions) == [("qualification_reminder", "official_account")]
    stance = next(r for r in actions[0]["reasons"] if r["code"] == "offer_stance")
    assert stance["evidence"] == [offer.event_id for offer in offers]
    assert all(note["explanation"] for note in stance["stance"])


def test_an_offer_that_also_names_another_market_counts_once_the_account_shows_it_runs_collectibles(policy):
    detector = make_detector(policy)
    offers = [post("other market codes:trading_venue,off_platform_trade", at=T0 + i * HOUR) for i in range(2)]
    state, actions = run(detector, offers)
    assert actions == []  # a shop's first-person sale, for all anyone knows yet
    drops = [mp_event("sale.primary", user=f"u{i}", at=T0 + 3 * HOUR + i * 60, item_id=f"p{i}") for i in range(3)]
    _, actions = run(detector, drops, state)
    assert kinds(actions) == [("qualification_reminder", "official_account")]
    stance = next(r for r in actions[0]["reasons"] if r["code"] == "offer_stance")
    assert stance["evidence"] == [offer.event_id for offer in offers]


def test_an_offer_naming_no_product_from_an_account_that_never_shows_one_never_counts(policy):
    detector = make_detector(policy)
    offers = [post("uncontextual codes:trading_venue,off_platform_trade", at=T0 + i * HOUR) for i in range(6)]
    state, actions = run(detector, offers + [Tick(ACCOUNT, T0 + 10 * DAY)])
    assert actions == [] and not state.pending_offers


def _reminded(detector):
    """An account reminded by a burst of resales at T0; returns (state, reminder, deadline)."""
    state, actions = run(detector, resales(10, every=60))
    assert kinds(actions) == [("qualification_reminder", "official_account")]
    return state, actions[0], parse_time(actions[0]["deadline"])


def test_trading_during_the_grace_period_suspends_even_when_quiet_just_before_the_deadline(policy):
    # a platform that trades once a day: nothing in the last day and a half before the
    # deadline, but it kept trading after its reminder
    detector = make_detector(policy)
    state, reminder, deadline = _reminded(detector)
    opened = parse_time(reminder["event_time"])
    daily = resales(2, start=opened + 12 * HOUR, every=HOUR) + resales(2, start=opened + 30 * HOUR, every=HOUR)
    daily = [replace(sale, item_id=f"later-{i}") for i, sale in enumerate(daily)]
    _, later = run(detector, daily + [Tick(ACCOUNT, deadline + 1)], state)
    assert [a["action"] for a in later] == ["suspend", "suspend"]
    assert {e for r in later[0]["reasons"] for e in r["evidence"]} <= {sale.event_id for sale in daily}


def test_trading_in_the_notice_period_right_after_the_reminder_is_the_episode_that_caused_it(policy):
    detector = make_detector(policy)
    state, reminder, deadline = _reminded(detector)
    opened = parse_time(reminder["event_time"])
    tail = [replace(sale, item_id=f"tail-{i}") for i, sale in enumerate(resales(10, start=opened + 60, every=60))]
    assert (tail[-1].occurred_at - opened) < policy.notice_s
    _, later = run(detector, tail + [Tick(ACCOUNT, deadline + 1)], state)
    assert [a["action"] for a in later] == ["case_closed"]
    assert later[0]["reasons"][0]["code"] == "trading_stopped"


def test_trading_again_soon_after_a_trading_stopped_close_is_suspended_at_once(policy):
    detector = make_detector(policy)
    state, reminder, deadline = _reminded(detector)
    state, closed = run(detector, [Tick(ACCOUNT, deadline + 1)], state)
    assert [a["action"] for a in closed] == ["case_closed"]
    again = [replace(sale, item_id=f"again-{i}") for i, sale in enumerate(resales(10, start=deadline + 2 * DAY, every=60))]
    _, later = run(detector, again, state)
    assert [a["action"] for a in later] == ["suspend", "suspend"]
    assert later[0]["case_id"] != reminder["case_id"]
    assert "repeat_after_close" in {r["code"] for r in later[0]["reasons"]}


def test_a_repeat_with_a_repeat_grace_period_gets_a_short_deadline(policy):
    detector = make_detector(policy, repeat_grace_s=12 * HOUR)
    state, reminder, deadline = _reminded(detector)
    state, _ = run(detector, [Tick(ACCOUNT, deadline + 1)], state)
    again = [replace(sale, item_id=f"again-{i}") for i, sale in enumerate(resales(10, start=deadline + 2 * DAY, every=60))]
    _, later = run(detector, again, state)
    assert [a["action"] for a in later] == ["qualification_reminder"]
    short = parse_time(later[0]["deadline"]) - parse_time(later[0]["event_time"])
    assert short == 12 * HOUR


def test_trading_again_after_the_repeat_window_gets_a_fresh_full_grace_period(policy):
    detector = make_detector(policy)
    state, reminder, deadline = _reminded(detector)
    state, _ = run(detector, [Tick(ACCOUNT, deadline + 1)], state)
    start = deadline + policy.repeat_window_s + DAY
    again = [replace(sale, item_id=f"again-{i}") for i, sale in enumerate(resales(10, start=start, every=60))]
    _, later = run(detector, again, state)
    assert [a["action"] for a in later] == ["qualification_reminder"]
    assert parse_time(later[0]["deadline"]) - parse_time(later[0]["event_time"]) >= policy.grace_s


def test_fraud_suspends_at_once_without_reminder(policy):
    detector = make_detector(policy)
    events = [post("codes:fraud_promise", at=T0)]  # one scheme post: its text alone does not count
    events += [mp_event("withdrawal.requested", user=f"u{i}", at=T0 + 4 * HOUR + i * 60) for i in range(12)]
    events += [mp_event("withdrawal.failed", user=f"u{i}", at=T0 + 5 * HOUR + i * 60) for i in range(12)]
    _, actions = run(detector, events)
    assert [a["action"] for a in actions] == ["suspend"]
    assert actions[0]["fraud_score"] >= policy.fraud_threshold
    assert {"withdrawal_failure", "few_offer_posts"} <= {r["code"] for r in actions[0]["reasons"]}


def test_one_scheme_post_is_not_a_fraud_suspension_but_a_scheme_kept_up_is(policy):
    detector = make_detector(policy)
    state, actions = run(detector, [post("codes:fraud_promise", at=T0)])
    assert actions == []
    posts = [post("codes:fraud_promise", at=T0 + i * HOUR) for i in range(1, 6)]
    sent = 1
    for scheme in posts:
        state, actions = run(detector, [scheme], state)
        sent += 1
        if actions:
            break
    assert [a["action"] for a in actions] == ["suspend"]
    stance = next(r for r in actions[0]["reasons"] if r["code"] == "scheme_stance")
    assert stance["count"] == sent and len(stance["evidence"]) == sent
    assert [note["event_id"] for note in stance["stance"]] == stance["evidence"]


def test_allowlisted_platform_gets_one_review_never_a_suspension(policy):
    detector = make_detector(policy, allowlist=frozenset({ACCOUNT}))
    events = resales(60, every=HOUR)
    events += [post("codes:fraud_promise,fraud_aftermath", at=T0 + 70 * HOUR + i) for i in range(5)]
    events += [mp_event("withdrawal.failed", user=f"w{i}", at=T0 + 71 * HOUR + i) for i in range(20)]
    _, actions = run(detector, events)
    assert [a["action"] for a in actions] == ["review"]


def test_qualified_account_is_scored_but_not_reminded(policy):
    detector = make_detector(policy)
    _, actions = run(detector, [qualification(at=T0 - DAY)] + resales(40))
    assert actions == []


def test_expired_or_revoked_qualification_does_not_protect(policy):
    detector = make_detector(policy)
    _, expired = run(detector, [qualification(at=T0 - 2 * DAY, valid_for=DAY)] + resales(40))
    assert [a["action"] for a in expired] == ["qualification_reminder"]
    _, revoked = run(detector, [qualification(status="revoked", at=T0 - DAY)] + resales(40))
    assert [a["action"] for a in revoked] == ["qualification_reminder"]


def test_overturned_appeal_reinstates_every_suspended_subject(policy):
    detector = make_detector(policy)
    events = resales(30) + resales(40, start=T0 + DAY, every=2 * HOUR)
    state, actions = run(detector, events)
    suspensions = [a for a in actions if a["action"] == "suspend"]
    account_suspension = next(a for a in suspensions if a["subject"]["kind"] == "official_account")
    state, upheld = run(detector, [appeal(account_suspension["action_id"], "upheld", at=T0 + 5 * DAY)], state)
    assert upheld == []
    state, reinstated = run(detector, [appeal(account_suspension["action_id"], at=T0 + 6 * DAY)], state)
    assert sorted(kinds(reinstated)) == sorted(("reinstate", a["subject"]["kind"]) for a in suspensions)
    assert reinstated[0]["reasons"][0]["code"] == "appeal_overturned"
    assert {(a["appeal_id"], a["reviewer"]) for a in reinstated} == {(reinstated[0]["reasons"][0]["evidence"][0], "reviewer-7")}
    # the evidence a human reviewed does not reopen a case on the next quiet event
    _, after = run(detector, [mp_event("sale.primary", at=T0 + 6 * DAY + HOUR, item_id="x")], state)
    assert after == []


def test_appeal_for_an_unknown_action_changes_nothing_and_is_rejected(policy):
    detector = make_detector(policy)
    state, _ = run(detector, resales(30) + resales(40, start=T0 + DAY, every=2 * HOUR))
    state, outcome = detector.process(state, appeal("act_not_ours", at=T0 + 6 * DAY))
    assert outcome.actions == [] and outcome.rejected[0] == "unknown_action"
    assert state.case is not None and state.case.state == "suspended"


def test_redelivered_events_never_count_twice_or_emit_again(policy):
    detector = make_detector(policy)
    events = resales(4)  # below the reminder threshold on their own
    state, actions = run(detector, events)
    assert actions == []
    for _ in range(20):
        state, outcome = detector.process(state, events[0])
        assert outcome.duplicate and outcome.actions == []
    assert sum(state.counters.buckets["secondary_sale"].values()) == 4


def test_the_same_input_twice_emits_each_action_once_with_deterministic_ids(policy):
    detector = make_detector(policy)
    events = resales(30) + resales(40, start=T0 + DAY, every=2 * HOUR)
    _, first = run(detector, events)
    _, again = run(detector, events + events)
    assert [a["action_id"] for a in first] == [a["action_id"] for a in again]
    reminder = first[0]
    assert reminder["action_id"] == make_action_id("official_account", ACCOUNT, reminder["case_id"], "qualification_reminder")


def test_state_survives_encoding_mid_stream(policy):
    """What a restarted worker does after restoring the changelog equals an uninterrupted run."""
    detector = make_detector(policy)
    events = resales(30) + resales(40, start=T0 + DAY, every=2 * HOUR)
    _, straight = run(detector, events)
    state, first_half = run(detector, events[:35])
    restored = SubjectState.from_bytes(state.to_bytes())
    _, second_half = run(detector, events[35:], restored)
    assert first_half + second_half == straight


def test_tick_advances_a_quiet_account_so_its_deadline_fires(policy):
    detector = make_detector(policy)
    state, actions = run(detector, resales(10) + resales(64, start=T0 + 6 * HOUR, every=HOUR))  # trades until just before the deadline
    deadline = parse_time(actions[0]["deadline"])
    state, early = detector.process(state, Tick(ACCOUNT, deadline - 60))
    assert early.actions == []
    state, due = detector.process(state, Tick(ACCOUNT, deadline + 60))
    assert [a["action"] for a in due.actions] == ["suspend", "suspend"]


def test_campaign_deadline_is_used_while_it_lies_ahead(policy):
    campaign = parse_time("2022-04-01T00:00:00+08:00")
    detector = make_detector(policy, campaign_deadline=campaign)
    _, actions = run(detector, resales(30))
    assert actions[0]["deadline"] == format_time(campaign)


def test_shadow_mode_marks_actions(policy):
    detector = make_detector(policy.with_mode("shadow"))
    _, actions = run(detector, resales(30))
    assert actions and all(a["mode"] == "shadow" for a in actions)


def test_events_older_than_the_window_do_not_count(policy):
    detector = make_detector(policy)
    state, _ = run(detector, [mp_event("sale.primary", at=T0 + 30 * DAY, item_id="now")])
    _, actions = run(detector, resales(40), state)  # all 30 days before the clock
    assert actions == []


def test_quiet_account_state_is_small(policy):
    detector = make_detector(policy)
    state, _ = run(detector, [post("just a greeting", at=T0), mp_event("sale.primary", at=T0 + 60, item_id="i", price_cents=100)])
    assert len(state.to_bytes()) < 1024


def test_scores_stay_within_0_and_1(policy):
    detector = make_detector(policy)
    events = resales(500, every=30)
    events += [post("codes:" + ",".join(policy.trading_weights), at=T0 + i) for i in range(100)]
    _, actions = run(detector, sorted(events, key=lambda e: e.event_time))
    for action in actions:
        assert 0.0 <= action["trading_score"] <= 1.0
        assert 0.0 <= action["fraud_score"] <= 1.0


def test_news_account_text_never_acts_but_its_behaviour_still_counts(policy):
    detector = make_detector(policy)
    news = [post("reporting", at=T0 + i * HOUR) for i in range(6)]
    news += [post("codes:trading_venue,price_speculation", at=T0 + (6 + i) * HOUR) for i in range(5)]
    _, actions = run(detector, news)
    assert actions == []  # mostly reporting: its trading words are quotes, not offers
    _, with_trading = run(detector, news + resales(30, start=T0 + 12 * HOUR))
    assert [a["action"] for a in with_trading] == ["qualification_reminder"]
    assert "editorial_account" in {r["code"] for r in with_trading[0]["reasons"]}


def test_text_only_trader_posting_through_the_deadline_is_suspended(policy):
    detector = make_detector(policy)
    posts = [post("codes:trading_venue,off_platform_trade", at=T0 + i * 8 * HOUR) for i in range(15)]  # 5 days
    _, actions = run(detector, posts)
    assert [a["action"] for a in actions] == ["qualification_reminder", "suspend"]


def test_a_platform_that_posts_daily_greetings_is_never_acted_on(policy):
    detector = Detector(policy)  # the shipped vocabulary and stance model
    events = [mp_event("sale.primary", user=f"u{i}", at=T0 + i * 60, item_id=f"i{i}", price_cents=990) for i in range(5)]
    greetings = ["早安", "今天天气不错。", "早安，朋友们", "晚安", "周末愉快！", "早上好", "大家晚安"]
    events += [post(text, at=T0 + HOUR + i * DAY) for i, text in enumerate(greetings)]
    _, actions = run(detector, sorted(events, key=lambda e: e.event_time))
    assert actions == []
