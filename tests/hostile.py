"""A corpus of hostile and broken input messages, with the reason each must be rejected for.

Shared by the live dead-letter test and the replay test: both must reject the same
messages for the same reasons, and decide on the rest exactly as if they were absent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from streams.core.timefmt import format_time

RECENT = (time.time() // 3600 - 24 * 3) * 3600


@dataclass(frozen=True)
class Hostile:
    name: str
    topic: str
    value: bytes
    reason: str


def _post(**overrides) -> dict:
    post = {"event_id": "hostile-post", "account_id": "gh_hostile00001", "published_at": format_time(RECENT), "text": "hello"}
    post.update(overrides)
    return post


def _mp(**overrides) -> dict:
    event = {
        "event_id": "hostile-mp", "app_id": "wxhostile0000001", "owner_account_id": "gh_hostile00001",
        "occurred_at": format_time(RECENT), "type": "sale.secondary", "user_id": "u1", "counterparty_id": "u2",
        "price_cents": 100,
    }
    event.update(overrides)
    return event


def _json(value) -> bytes:
    return orjson.dumps(value)


SEVERAL_MB = 3 * 1024 * 1024


def corpus() -> list[Hostile]:
    deep = b"[" * 100_000 + b"]" * 100_000
    big_text = "字" * (SEVERAL_MB // 3)  # 3 MiB once UTF-8 encoded
    return [
        Hostile("not json", "posts.v1", b"this is not json", "not_json"),
        Hostile("truncated json", "posts.v1", _json(_post())[:-7], "not_json"),
        Hostile("empty value", "posts.v1", b"", "not_json"),
        Hostile("array not object", "posts.v1", b"[1, 2, 3]", "not_object"),
        Hostile("string not object", "miniprogram.events.v1", b'"sale"', "not_object"),
        Hostile("missing event_id", "posts.v1", _json({k: v for k, v in _post().items() if k != "event_id"}), "schema"),
        Hostile("missing text", "posts.v1", _json({k: v for k, v in _post().items() if k != "text"}), "schema"),
        Hostile("account id wrong type", "posts.v1", _json(_post(account_id=12345)), "schema"),
        Hostile("negative price", "miniprogram.events.v1", _json(_mp(price_cents=-5)), "schema"),
        Hostile("absurd price 10^40", "miniprogram.events.v1", _json(_mp(price_cents=0)).replace(b'"price_cents":0', b'"price_cents":' + b"1" + b"0" * 40), "schema"),
        Hostile("NaN price", "miniprogram.events.v1", _json(_mp(price_cents=0)).replace(b'"price_cents":0', b'"price_cents":NaN'), "not_json"),
        Hostile("unknown event type", "miniprogram.events.v1", _json(_mp(type="sale.tertiary")), "schema"),
        Hostile("impossible date Feb 30", "posts.v1", _json(_post(published_at="2026-02-30T10:00:00+08:00")), "bad_time"),
        Hostile("time without offset", "posts.v1", _json(_post(published_at="2026-11-01T10:00:00")), "bad_time"),
        Hostile("far future timestamp", "posts.v1", _json(_post(event_id="hostile-future", published_at="2099-01-01T00:00:00+00:00")), "future_time"),
        Hostile("several MB post", "posts.v1", _json(_post(text=big_text)), "too_large"),
        Hostile("nested 100000 deep", "posts.v1", deep, "too_deep"),
        Hostile("invalid utf-8", "posts.v1", b'{"event_id": "\xff\xfe", "text": "x"}', "invalid_utf8"),
        Hostile("bad qualification status", "qualifications.v1", _json({"account_id": "gh_hostile00001", "status": "maybe", "updated_at": format_time(RECENT)}), "schema"),
        Hostile("appeal without action", "enforcement.appeals.v1", _json({"appeal_id": "a1", "account_id": "gh_x", "outcome": "overturned", "reviewer": "r", "decided_at": format_time(RECENT)}), "schema"),
    ]
