"""Contract-shaped Kafka records (topic, key, value) for integration tests."""

from __future__ import annotations

import itertools
import time

import orjson

from streams.core.timefmt import format_time

BASE = (time.time() // 3600 - 24 * 7) * 3600  # a week ago, on an hour boundary: never "future"
_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}-{next(_ids)}"


def post_record(account: str, text: str, at_offset_s: float = 0.0, title: str = "") -> dict:
    return {
        "topic": "posts.v1",
        "key": account,
        "value": {"event_id": _id("post"), "account_id": account, "published_at": format_time(BASE + at_offset_s),
                  "title": title, "text": text},
    }


def resale_records(account: str, app: str, count: int, start_offset_s: float = 0.0, every_s: float = 600.0) -> list[dict]:
    return [
        {
            "topic": "miniprogram.events.v1",
            "key": app,
            "value": {
                "event_id": _id("mp"), "app_id": app, "owner_account_id": account,
                "occurred_at": format_time(BASE + start_offset_s + i * every_s), "type": "sale.secondary",
                "user_id": f"buyer-{i}", "counterparty_id": f"seller-{i}", "item_id": f"item-{i}",
                "price_cents": 99000, "issue_price_cents": 990,
            },
        }
        for i in range(count)
    ]


def qualification_record(account: str, status: str, at_offset_s: float = 0.0) -> dict:
    return {
        "topic": "qualifications.v1",
        "key": account,
        "value": {"account_id": account, "status": status, "licences": ["icp", "edi"],
                  "valid_until": format_time(BASE + 400 * 86400), "updated_at": format_time(BASE + at_offset_s)},
    }


def appeal_record(account: str, action_id: str, at_offset_s: float, appeal_id: str, reviewer=None,
                  outcome: str = "overturned") -> dict:
    """An appeal as a recording line; signed by ``reviewer`` (SigningKeys) when given."""
    from streams.signing import sign

    value = orjson.dumps({"appeal_id": appeal_id, "account_id": account, "action_id": action_id,
                          "outcome": outcome, "reviewer": "whoever-says-so",
                          "decided_at": format_time(BASE + at_offset_s)})
    record: dict = {"topic": "enforcement.appeals.v1", "key": account, "value": value.decode()}
    if reviewer is not None:
        headers = sign(reviewer, "enforcement.appeals.v1", account.encode(), value, int((BASE + at_offset_s) * 1000))
        record["headers"] = {name: raw.decode() for name, raw in headers}
    return record
