"""The operators' commands (streams/controlcli.py): what they write and what `allowlist list` shows."""

from __future__ import annotations

import pytest

from streams.config import ConfigError
from streams.controlcli import allowlist_document, checked, current_allowlist, key_of, policy_document
from streams.core.control import APPLIED, REFUSED, audit_entry
from streams.core.events import ControlRecord
from streams.core.policy import DEFAULT_POLICY_PATH
from streams.core.timefmt import parse_time
from tests.fixtures import DAY, T0


def entry(document: dict, verdict: str = APPLIED) -> dict:
    import orjson

    record = ControlRecord(document["control_id"], parse_time(document["effective_at"]), orjson.dumps(document).decode())
    return audit_entry(record, verdict, "", T0)


def test_each_change_is_keyed_so_compaction_keeps_the_latest_per_policy_and_account():
    policy = policy_document(str(DEFAULT_POLICY_PATH), "bob", "why", T0, 100)
    allow = allowlist_document("gh_x", "add", "alice", "why", T0, T0 + DAY)
    assert (key_of(policy), key_of(allow)) == (b"policy", b"allowlist:gh_x")
    assert checked(policy, "enforce").policy.version and checked(allow, "enforce").account_id == "gh_x"


def test_a_change_without_a_time_applies_after_a_lead_so_a_record_read_late_is_not_refused():
    import time

    before = time.time()
    document = allowlist_document("gh_x", "remove", "alice", "why", None, None)
    assert before + 9 <= parse_time(document["effective_at"]) <= time.time() + 11


def test_an_allowlisting_without_expiry_or_a_broken_policy_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match="--expires is required"):
        allowlist_document("gh_x", "add", "alice", "why", T0, None)
    broken = tmp_path / "broken.toml"
    broken.write_text('policy_version = "x"\nmode = "enforce"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="vocabulary: missing"):
        checked(policy_document(str(broken), "bob", "why", T0, 100), "enforce")


def test_the_list_shows_the_entries_in_force_now_with_who_and_why():
    entries = [
        entry(allowlist_document("gh_kept", "add", "alice", "licensed", T0, T0 + 30 * DAY)),
        entry(allowlist_document("gh_lapsed", "add", "alice", "short", T0, T0 + DAY)),
        entry(allowlist_document("gh_removed", "add", "alice", "oops", T0, T0 + 30 * DAY)),
        entry(allowlist_document("gh_removed", "remove", "carol", "licence refused", T0 + DAY, None)),
        entry(allowlist_document("gh_refused", "add", "mallory", "?", T0, T0 + 30 * DAY), verdict=REFUSED),
        entry(allowlist_document("gh_later", "add", "alice", "from next week", T0 + 7 * DAY, T0 + 30 * DAY)),
    ]
    rows = current_allowlist(entries, now=T0 + 2 * DAY)
    assert [(row["account_id"], row["actor"], row["reason"]) for row in rows] == [("gh_kept", "alice", "licensed")]
