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


LIVE_REVIEWER_SECRET = b"reviewer secret of the live-traffic records"
LIVE_REVIEWER_ENV = {"TRADEWATCH_REVIEWER_KEYS": "reviewer-live:hmac:" + __import__("base64").b64encode(LIVE_REVIEWER_SECRET).decode()}


INPUTS = ("posts.v1", "miniprogram.events.v1", "qualifications.v1", "enforcement.appeals.v1", "tradewatch.control.v1")


CONTROL_LEAD = 5.0
"""Live control records are timed this far ahead: one produced a moment late is not refused as
late (its partition's watermark trails the wall clock by only the allowed lateness)."""


def harmless_control(key: str, at: float, partition: int | None = None) -> dict:
    """A control record that changes nothing (an allowlist entry of an account never seen ends)."""
    control_id = _id("noop")
    value = {"control_id": control_id, "kind": "allowlist", "effective_at": format_time(at), "actor": "test",
             "reason": "keeps its partition reported", "account_id": "gh_nobody" + control_id[-12:], "op": "remove"}
    return {"topic": "tradewatch.control.v1", "key": key, "value": value, "partition": partition}


def live_traffic_on_every_partition(now: float | None = None, partitions: int = 4, topics: tuple[str, ...] = INPUTS,
                                    besides: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    """Current, harmless records on every partition of every input topic: a greeting post, a
    first-hand sale, a submitted qualification, a signed appeal naming no action of ours and a
    control record that changes nothing.

    Read by intake, each partition is live and caught up, so it follows the wall clock at once
    and only the partitions carrying a test's history hold the watermark — a worker with a long
    ``TRADEWATCH_IDLE_PARTITION_SECONDS`` then decides that history as far as it was read, no
    further. ``besides``: (topic, key) of the history, whose partitions get nothing. Needs
    ``LIVE_REVIEWER_ENV`` in the worker's environment (the appeals)."""
    from streams.signing import SigningKey, SigningKeys, sign
    from streams.wire import subject_partition

    now = time.time() if now is None else now
    at = format_time(now)
    reviewers = SigningKeys([SigningKey.hmac("reviewer-live", LIVE_REVIEWER_SECRET)], "reviewer-live")
    out: list[dict] = []
    wanted = {(topic, p) for topic in topics for p in range(partitions)}
    wanted -= {(topic, subject_partition(key.encode(), partitions)) for topic, key in besides}
    for n in range(100_000):
        account, app = f"gh_live{n:07d}", f"wxlive{n:012d}"
        for topic, key in (("posts.v1", account), ("qualifications.v1", account),
                           ("enforcement.appeals.v1", account), ("miniprogram.events.v1", app),
                           ("tradewatch.control.v1", f"allowlist:{account}")):
            if (topic, subject_partition(key.encode(), partitions)) not in wanted:
                continue
            wanted.discard((topic, subject_partition(key.encode(), partitions)))
            if topic == "posts.v1":
                value: object = {"event_id": _id("live"), "account_id": account, "published_at": at, "text": "早上好"}
            elif topic == "qualifications.v1":
                value = {"account_id": account, "status": "submitted", "licences": [], "updated_at": at}
            elif topic == "tradewatch.control.v1":
                out.append(harmless_control(key, now + CONTROL_LEAD))
                continue
            elif topic == "miniprogram.events.v1":
                value = {"event_id": _id("live"), "app_id": app, "owner_account_id": account, "occurred_at": at,
                         "type": "sale.primary", "user_id": "u-live", "item_id": "i-live", "price_cents": 100}
            else:
                raw = orjson.dumps({"appeal_id": _id("live"), "account_id": account, "action_id": "act_" + "0" * 32,
                                    "outcome": "overturned", "reviewer": "reviewer-live", "decided_at": at})
                headers = sign(reviewers, topic, account.encode(), raw, int(now * 1000))
                out.append({"topic": topic, "key": account, "value": raw.decode(), "headers": list(headers)})
                continue
            out.append({"topic": topic, "key": key, "value": value})
        if not wanted:
            return out
    raise AssertionError("no keys for every partition")
