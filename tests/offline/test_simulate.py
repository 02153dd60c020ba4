"""tradewatch simulate: labelled traffic that honours the topic contracts in docs/design.md."""

from __future__ import annotations

import io
import re
from collections import defaultdict

import orjson
import pytest

from streams.core.timefmt import parse_time
from streams.offline.sim_accounts import ALLOWLISTED_ACCOUNT_IDS, ARCHETYPES
from streams.offline.simulate import DEFAULT_START, live_traffic, simulate, write_jsonl

ACCOUNT_ID = re.compile(r"^gh_[0-9a-f]{12}$")
APP_ID = re.compile(r"^wx[0-9a-f]{16}$")
RFC3339_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
EVENT_TYPES = {
    "sale.primary", "listing.created", "listing.cancelled", "sale.secondary", "transfer.gift",
    "payment", "airdrop", "withdrawal.requested", "withdrawal.failed",
}
QUALIFICATION_STATUSES = {"submitted", "verified", "rejected", "expired", "revoked"}
TRADING_TYPES = {"listing.created", "listing.cancelled", "sale.secondary", "transfer.gift", "payment"}
DAY = 86_400

# docs/design.md "Topics (contract)": field -> (kind, required). Kinds: str, time, int>=0, [str].
CONTRACT = {
    "posts.v1": {
        "event_id": ("str", True), "account_id": ("str", True), "account_name": ("str", False),
        "published_at": ("time", True), "title": ("str", False), "text": ("str", True),
        "links": ("[str]", False), "mini_program_ids": ("[str]", False),
    },
    "miniprogram.events.v1": {
        "event_id": ("str", True), "app_id": ("str", True), "owner_account_id": ("str", True),
        "occurred_at": ("time", True), "type": ("str", True), "user_id": ("str", True),
        "counterparty_id": ("str", False), "item_id": ("str", False), "collection_id": ("str", False),
        "price_cents": ("int>=0", False), "issue_price_cents": ("int>=0", False),
        "currency": ("str", False), "acquired_at": ("time", False),
    },
    "qualifications.v1": {
        "account_id": ("str", True), "status": ("str", True), "licences": ("[str]", False),
        "valid_until": ("time", False), "updated_at": ("time", True),
    },
}
TIME_FIELD = {"posts.v1": "published_at", "miniprogram.events.v1": "occurred_at", "qualifications.v1": "updated_at"}
KEY_FIELD = {"posts.v1": "account_id", "miniprogram.events.v1": "app_id", "qualifications.v1": "account_id"}


def contract_errors(record: dict) -> list[str]:
    """Every way ``record`` breaks its topic's contract (empty when it is valid)."""
    topic, value = record["topic"], record["value"]
    if topic not in CONTRACT:
        return [f"unknown topic {topic}"]
    errors = []
    for name, (kind, required) in CONTRACT[topic].items():
        if name not in value:
            if required:
                errors.append(f"{topic}: missing {name}")
            continue
        field = value[name]
        ok = {
            "str": isinstance(field, str) and field != "",
            "time": isinstance(field, str) and bool(RFC3339_WITH_OFFSET.match(field)),
            "int>=0": isinstance(field, int) and not isinstance(field, bool) and field >= 0,
            "[str]": isinstance(field, list) and all(isinstance(x, str) for x in field),
        }[kind]
        if kind == "time" and ok:
            parse_time(field)
        if not ok:
            errors.append(f"{topic}: {name}={field!r} is not {kind}")
    if record["key"] != value.get(KEY_FIELD[topic]):
        errors.append(f"{topic}: key {record['key']!r} is not {KEY_FIELD[topic]}")
    if topic == "miniprogram.events.v1":
        if value["type"] not in EVENT_TYPES:
            errors.append(f"unknown type {value['type']}")
        if not APP_ID.match(value["app_id"]) or not ACCOUNT_ID.match(value["owner_account_id"]):
            errors.append("bad app or owner id")
    else:
        if not ACCOUNT_ID.match(value["account_id"]):
            errors.append(f"bad account id {value['account_id']}")
    if topic == "posts.v1" and not all(APP_ID.match(a) for a in value.get("mini_program_ids", [])):
        errors.append("bad mini program id")
    if topic == "qualifications.v1" and value["status"] not in QUALIFICATION_STATUSES:
        errors.append(f"bad status {value['status']}")
    return errors


def event_time(record: dict) -> float:
    return parse_time(record["value"][TIME_FIELD[record["topic"]]])


def subject(record: dict) -> str:
    value = record["value"]
    return value.get("owner_account_id") or value["account_id"]


@pytest.fixture(scope="module")
def default_run():
    return simulate()


@pytest.fixture(scope="module")
def by_account(default_run):
    grouped = defaultdict(list)
    for record in default_run.records:
        grouped[subject(record)].append(record)
    return grouped


def test_same_seed_same_traffic_other_seed_other_traffic():
    first = simulate(seed=3, accounts=40, days=4)
    again = simulate(seed=3, accounts=40, days=4)
    other = simulate(seed=4, accounts=40, days=4)
    assert orjson.dumps(first.records) == orjson.dumps(again.records)
    assert first.labels == again.labels
    assert orjson.dumps(first.records) != orjson.dumps(other.records)


def test_defaults_are_big_enough_for_an_evaluation(default_run):
    assert len(default_run.labels) >= 200
    assert len(default_run.records) >= 20_000


def test_every_record_honours_its_topic_contract(default_run):
    problems = [(r, e) for r in default_run.records for e in contract_errors(r)]
    assert problems[:5] == []


def test_records_are_sorted_by_event_time_within_the_requested_span(default_run):
    times = [event_time(r) for r in default_run.records]
    assert times == sorted(times)
    assert times[0] >= DEFAULT_START
    assert times[-1] < DEFAULT_START + 10 * DAY


def test_event_ids_are_unique(default_run):
    ids = [r["value"]["event_id"] for r in default_run.records if "event_id" in r["value"]]
    assert len(ids) == len(set(ids))


def test_labels_cover_every_archetype_and_every_account(default_run, by_account):
    assert {label["archetype"] for label in default_run.labels} == {a.name for a in ARCHETYPES}
    labelled = {label["account_id"] for label in default_run.labels}
    assert len(labelled) == len(default_run.labels)
    assert set(by_account) <= labelled
    assert {label["expected"] for label in default_run.labels} == {"suspend", "reminder", "none"}


def test_label_lines_have_the_labels_format(default_run):
    for label in default_run.labels:
        assert ACCOUNT_ID.match(label["account_id"])
        assert label["expected"] in {"suspend", "reminder", "none"}


def test_suspended_traders_keep_trading_past_the_grace_period(default_run, by_account):
    for label in default_run.labels:
        if label["expected"] != "suspend" or label["archetype"] == "fraud_platform":
            continue
        trades = [event_time(r) for r in by_account[label["account_id"]]
                  if r["value"].get("type") in TRADING_TYPES]
        assert trades and trades[-1] - trades[0] > 72 * 3600 + DAY, label


def test_fraud_platforms_promise_buy_backs_and_fail_withdrawals(default_run, by_account):
    for label in default_run.labels:
        if label["archetype"] != "fraud_platform":
            continue
        records = by_account[label["account_id"]]
        assert sum(r["value"].get("type") == "withdrawal.failed" for r in records) >= 10
        assert any("回购" in r["value"].get("text", "") or "buy-back" in r["value"].get("text", "")
                   for r in records)


def test_stopped_traders_are_quiet_for_the_last_week(default_run, by_account):
    end = DEFAULT_START + 10 * DAY
    for label in default_run.labels:
        if label["archetype"] != "stopped_trading":
            continue
        trades = [event_time(r) for r in by_account[label["account_id"]]
                  if r["value"].get("type") in TRADING_TYPES]
        assert trades and max(trades) <= end - 7 * DAY
        assert label["expected"] == "reminder"


def test_licence_provers_are_verified_within_two_days_of_trading(default_run, by_account):
    for label in default_run.labels:
        if label["archetype"] != "licensed_in_time":
            continue
        records = by_account[label["account_id"]]
        first_trade = min(event_time(r) for r in records if r["value"].get("type") in TRADING_TYPES)
        verified = [r["value"] for r in records
                    if r["topic"] == "qualifications.v1" and r["value"]["status"] == "verified"]
        assert verified, label
        assert parse_time(verified[0]["updated_at"]) - first_trade <= 48 * 3600
        assert parse_time(verified[0]["valid_until"]) > DEFAULT_START + 10 * DAY


def test_writers_about_trading_own_no_mini_programs(default_run, by_account):
    for label in default_run.labels:
        if label["archetype"] in {"news_regulator", "stock_commentary", "secondhand_goods"}:
            assert all(r["topic"] == "posts.v1" for r in by_account[label["account_id"]])
            assert label["expected"] == "none"


def test_primary_platforms_never_trade(default_run, by_account):
    for label in default_run.labels:
        if label["archetype"] not in {"licensed_primary", "unlicensed_primary", "compliance_notice",
                                      "allowlisted_leader"}:
            continue
        types = {r["value"].get("type") for r in by_account[label["account_id"]]}
        assert not types & {"listing.created", "sale.secondary", "payment", "withdrawal.failed"}


def test_allowlisted_leader_has_a_fixed_id_and_is_verified_first(default_run, by_account):
    leaders = [label for label in default_run.labels if label["archetype"] == "allowlisted_leader"]
    assert leaders and all(label["account_id"] in ALLOWLISTED_ACCOUNT_IDS for label in leaders)
    for label in leaders:
        first = by_account[label["account_id"]][0]
        assert first["topic"] == "qualifications.v1" and first["value"]["status"] == "verified"


def test_crypto_traders_settle_in_crypto_and_post_wallets(default_run, by_account):
    for label in default_run.labels:
        if label["archetype"] != "crypto_settled":
            continue
        records = by_account[label["account_id"]]
        assert any(r["value"].get("currency") in {"USDT", "ETH", "BTC"} for r in records)


def test_posts_are_varied(default_run):
    texts = [r["value"]["text"] for r in default_run.records if r["topic"] == "posts.v1"]
    assert len(set(texts)) > 0.7 * len(texts)


def test_short_runs_do_not_claim_suspensions_that_cannot_happen_yet():
    run = simulate(seed=11, accounts=60, days=3)
    for label in run.labels:
        assert label["archetype"] != "stopped_trading"
        if label["expected"] == "suspend":
            assert label["archetype"] == "fraud_platform"


def test_intensity_scales_volume():
    quiet = simulate(seed=5, accounts=40, days=3, intensity=0.5)
    busy = simulate(seed=5, accounts=40, days=3, intensity=2.0)
    assert len(busy.records) > 2 * len(quiet.records)


def test_start_moves_the_traffic():
    start = 1_700_000_000.0
    run = simulate(seed=2, accounts=30, days=2, start=start)
    times = [event_time(r) for r in run.records]
    assert start <= min(times) and max(times) < start + 2 * DAY


def test_write_jsonl_round_trips_to_a_path_and_to_files(tmp_path, default_run):
    rows = default_run.records[:50]
    path = tmp_path / "rec.jsonl"
    write_jsonl(str(path), rows)
    assert [orjson.loads(line) for line in path.read_bytes().splitlines()] == rows
    binary, text = io.BytesIO(), io.StringIO()
    write_jsonl(binary, rows)
    write_jsonl(text, rows)
    assert binary.getvalue().decode() == text.getvalue() == path.read_text()


def test_live_traffic_compresses_event_time_into_wall_time():
    now = 1_700_000_000.0
    sends = list(live_traffic(seed=1, accounts=20, now=now, speedup=3600.0, days=1))
    times = [t for t, _ in sends]
    assert times == sorted(times)
    assert now <= times[0] and times[-1] < now + DAY / 3600.0
    assert all(contract_errors(record) == [] for _, record in sends)
