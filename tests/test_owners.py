"""The records of the owner-bindings topic: what intake writes reads back, anything else is skipped."""

from __future__ import annotations

import orjson
import pytest

from streams.owners import binding_record, parse_binding


def test_a_binding_reads_back_as_written():
    key, value = binding_record("wxapp1", "gh_owner", 1_700_000_000.1234)
    assert key == b"wxapp1"
    assert parse_binding(key, value) == ("wxapp1", "gh_owner")
    assert orjson.loads(value)["bound_at"] == 1_700_000_000.123


@pytest.mark.parametrize("key, value", [
    (b"wxapp1", b"not json"),
    (b"wxapp1", None),
    (b"wxapp1", b"[1, 2]"),
    (b"wxapp1", orjson.dumps({"app_id": "wxapp1"})),
    (b"wxapp1", orjson.dumps({"app_id": "wxapp1", "owner_account_id": 7})),
    (b"wxapp1", orjson.dumps({"app_id": "wxapp1", "owner_account_id": ""})),
    (b"wxapp1", orjson.dumps({"app_id": "wxapp1", "owner_account_id": "g" * 129})),
    (b"wxother", orjson.dumps({"app_id": "wxapp1", "owner_account_id": "gh_owner"})),  # key disagrees
    (None, orjson.dumps({"app_id": "wxapp1", "owner_account_id": "gh_owner"})),
])
def test_a_record_that_is_not_a_binding_is_not_believed(key, value):
    assert parse_binding(key, value) is None
