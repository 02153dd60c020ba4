"""The internal topic's encoding and routing: what intake sends is exactly what decide gets."""

from __future__ import annotations

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner

from streams.core.events import Appeal, ControlRecord, Tick
from streams.core.timefmt import parse_time
from streams.decode import DecodeError
from streams.wire import (
    MAX_BUNDLE_BYTES,
    Bundler,
    decode_message,
    decode_record,
    encode_entry,
    encode_event,
    join_bundle,
    subject_partition,
)
from tests.fixtures import ACCOUNT, DAY, T0, appeal, mp_event, post, qualification


def sample_events() -> list:
    return [
        post("限量数字藏品 转售 加V", account="gh_aaaaaaaaaaaa"),
        mp_event("sale.secondary", account="gh_bbbbbbbbbbbb"),
        qualification("verified"),
        appeal("act-1"),
        post("second post of the first account", account="gh_aaaaaaaaaaaa", at=T0 + 60),
    ]


MARKS = {"posts.v1:0": T0, "miniprogram.events.v1:0": T0 - 60}
COUNTS = {"posts.v1": 1, "miniprogram.events.v1": 1}


def drain(bundler: Bundler) -> list[tuple[int, bytes]]:
    """The records of a batch that carry events (every partition also gets one with the marks)."""
    return [(partition, record) for partition, record in bundler.drain(MARKS, COUNTS)
            if decode_message(None, record)]


def decoded_bundles(bundler: Bundler) -> list[tuple[int, list]]:
    return [(partition, list(decode_message(None, bundle))) for partition, bundle in drain(bundler)]


def test_every_event_survives_bundling_unchanged_and_in_order_per_partition() -> None:
    events = sample_events()
    bundler = Bundler(partitions=4)
    for index, event in enumerate(events):
        bundler.add(event, produced_at=1000.0 + index)
    received = [item for _, items in decoded_bundles(bundler) for item in items]
    assert sorted(received, key=lambda item: item[2]) == [
        (event.subject_account.encode(), event, 1000.0 + index) for index, event in enumerate(events)
    ]
    first_account = [item[1] for item in received if item[0] == b"gh_aaaaaaaaaaaa"]
    assert first_account == [events[0], events[4]]


def test_a_bundle_goes_to_the_partition_kafka_gives_each_of_its_accounts() -> None:
    bundler = Bundler(partitions=8)
    accounts = [f"gh_{i:012x}" for i in range(200)]
    for account in accounts:
        bundler.add(post("hello", account=account), None)
    partitioner = DefaultPartitioner()
    for partition, items in decoded_bundles(bundler):
        for account, _, _ in items:
            assert partitioner(account, list(range(8)), list(range(8))) == partition


def test_subject_partition_agrees_with_the_default_partitioner_used_for_keyed_sends() -> None:
    partitioner = DefaultPartitioner()
    for partitions in (1, 3, 8, 64):
        for i in range(300):
            key = f"gh_{i * 7919:012x}".encode()
            assert subject_partition(key, partitions) == partitioner(key, list(range(partitions)), [])


def test_bundles_stay_under_the_size_cap_and_lose_nothing() -> None:
    bundler = Bundler(partitions=1)
    text = "x" * 10_000
    events = [post(text, account=ACCOUNT, at=T0 + i) for i in range(100)]
    for event in events:
        bundler.add(event, None)
    bundles = drain(bundler)
    assert len(bundles) > 1
    assert all(len(bundle) <= MAX_BUNDLE_BYTES + 1024 for _, bundle in bundles)
    assert [item[1] for _, bundle in bundles for item in decode_message(None, bundle)] == events


def test_an_event_larger_than_the_cap_travels_alone() -> None:
    bundler = Bundler(partitions=1)
    small, big = post("small"), post("y" * (MAX_BUNDLE_BYTES + 10))
    bundler.add(small, None)
    bundler.add(big, None)
    assert [[item[1] for item in decode_message(None, b)] for _, b in drain(bundler)] == [[small], [big]]


def test_drain_starts_a_new_batch() -> None:
    bundler = Bundler(partitions=2)
    bundler.add(post("one"), None)
    assert len(drain(bundler)) == 1
    assert drain(bundler) == []


def test_a_single_keyed_message_decodes_with_its_key_as_the_account() -> None:
    tick = Tick(ACCOUNT, T0)
    assert list(decode_message(ACCOUNT.encode(), encode_event(tick, None))) == [(ACCOUNT.encode(), tick, None)]
    event = appeal("act-2", outcome="upheld")
    assert isinstance(event, Appeal)
    assert list(decode_message(ACCOUNT.encode(), encode_event(event, 5.0))) == [(ACCOUNT.encode(), event, 5.0)]


# --- the internal topic is a trust boundary: what intake did not write never reaches the core

def _rejected(key, raw, latest=float("inf")) -> str:
    with pytest.raises(DecodeError) as caught:
        decode_message(key, raw, latest)
    assert caught.value.reason == "invalid_internal"
    return caught.value.message


def test_a_forged_tick_from_the_far_future_is_rejected() -> None:
    # it would move the account's clock to 2099: every later event stale, the account immune
    forged = encode_event(Tick(ACCOUNT, parse_time("2099-01-01T00:00:00+00:00")), None)
    assert "after the wall clock" in _rejected(ACCOUNT.encode(), forged, latest=T0 + 600)
    assert decode_message(ACCOUNT.encode(), encode_event(Tick(ACCOUNT, T0), None), latest=T0 + 600)


def test_a_record_filed_under_another_account_is_rejected() -> None:
    assert "another account" in _rejected(b"gh_someoneelse01", encode_event(Tick(ACCOUNT, T0), None))
    entry = orjson.loads(encode_entry(post("x"), None))
    entry[0] = "gh_someoneelse01"  # a bundle entry that puts this account's post into another's state
    assert "another account" in _rejected(None, join_bundle([orjson.dumps(entry)]))


@pytest.mark.parametrize("raw", [
    b"not json", b"{}", b"[]", b'["z", null, "x"]', b'["B", "not an entry"]', b'["B", ["gh_x"]]',
    b'["t", null, "gh_0123456789ab", "soon"]', b'["t", null, "gh_0123456789ab", 1.0, "extra"]',
    b'["t", "yesterday", "gh_0123456789ab", 1.0]', b'["t", null, "gh_0123456789ab", true]',
])
def test_malformed_internal_records_are_rejected_not_crashed_on(raw) -> None:
    _rejected(ACCOUNT.encode(), raw)


def test_every_record_intake_writes_is_accepted() -> None:
    events = [post("p"), mp_event("sale.secondary", counterparty="u2", price_cents=100, acquired_at=T0),
              qualification(), appeal("act-1")]
    bundler = Bundler(8)
    for event in events:
        bundler.add(event, 1.5)
    decoded = [item for _, bundle in drain(bundler) for item in decode_message(None, bundle, latest=T0 + 10 * DAY)]
    assert sorted(map(repr, (e for _, e, _ in decoded))) == sorted(map(repr, events))


def test_every_internal_partition_gets_the_marks_after_its_events() -> None:
    """The deciding side of every partition must learn how far each input was read, also where
    this batch had no event for it — and the marks come after the events they cover."""
    bundler = Bundler(partitions=4)
    event = post("hello", account=ACCOUNT)
    bundler.add(event, None)
    records = bundler.drain(MARKS, COUNTS)
    assert sorted(partition for partition, _ in records) == [0, 1, 2, 3]
    for partition, raw in records:
        record = decode_record(None, raw)
        assert record.marks == MARKS and record.partitions == COUNTS
        assert [item[1] for item in record.items] == ([event] if partition == subject_partition(ACCOUNT.encode(), 4) else [])


@pytest.mark.parametrize(
    "marks, counts, why",
    [
        ({"posts.v1:0": T0 + 10 * DAY}, COUNTS, "a mark in the future would judge every deadline at once"),
        ({"secret.v1:0": T0}, COUNTS, "not an input topic"),
        ({"posts.v1:x": T0}, COUNTS, "not a partition"),
        ({"posts.v1:0": "soon"}, COUNTS, "not a time"),
        (MARKS, {"posts.v1": 0}, "no partitions"),
        (MARKS, {"other.v1": 3}, "not an input topic"),
        ([], COUNTS, "not an object"),
    ],
)
def test_forged_marks_are_rejected(marks, counts, why) -> None:
    raw = b'["W",' + orjson.dumps(marks) + b"," + orjson.dumps(counts) + b"]"
    with pytest.raises(DecodeError) as error:
        decode_record(None, raw, latest=T0 + DAY)
    assert error.value.reason == "invalid_internal", why


def test_a_control_record_reaches_every_partition_behind_the_events_before_it() -> None:
    """Every deciding side must know a policy change before the watermark passes its time."""
    control = ControlRecord("policy-1", T0, '{"kind":"policy"}')
    event = post("hello", account=ACCOUNT)
    bundler = Bundler(partitions=4)
    bundler.add(event, None)
    bundler.broadcast(control, 1.5)
    for partition, raw in bundler.drain(MARKS, COUNTS):
        events = [item[1] for item in decode_record(None, raw, latest=T0 + DAY).items]
        assert events[-1] == control
        assert events[:-1] == ([event] if partition == subject_partition(ACCOUNT.encode(), 4) else [])


def test_a_forged_control_record_with_fields_of_the_wrong_type_is_rejected() -> None:
    raw = join_bundle([orjson.dumps(["", "c", None, "policy-1", "soon", "{}"])])
    with pytest.raises(DecodeError) as error:
        decode_record(None, raw)
    assert error.value.reason == "invalid_internal"
