"""The owner-bindings shell: what intake writes reads back and anything else is skipped; an event
must sit on its app's partition; a partition's bindings are read once, and again after a rebalance."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from streams.core.owners import OwnerBindings
from streams.decode import DecodeError
from streams.owners import OwnerLedger, binding_record, check_routing, parse_binding
from streams.wire import subject_partition


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


APP = "wxapp1"
HOME = subject_partition(APP.encode(), 4)


def test_an_event_keyed_by_its_app_on_that_keys_partition_is_routed():
    check_routing(APP.encode(), HOME, APP, 4)  # does not raise


@pytest.mark.parametrize("key, partition", [
    (b"gh_intruder", HOME),  # another key: it would be checked against the bindings of another partition
    (None, HOME),
    (APP.encode(), (HOME + 1) % 4),  # the right key, written to a partition the producer chose
])
def test_an_event_elsewhere_than_its_apps_partition_is_misrouted(key, partition):
    with pytest.raises(DecodeError) as caught:
        check_routing(key, partition, APP, 4)
    assert caught.value.reason == "misrouted"


class ReadWhileRebalancing(OwnerLedger):
    """A ledger whose read of the bindings topic lets the test run a rebalance in between."""

    def __init__(self, during_read=None) -> None:
        super().__init__("tw", consumer_factory=None)
        self.during_read = during_read or (lambda: None)
        self.reads: list[list[int]] = []

    async def _read(self, wanted):
        self.reads.append(wanted)
        self.during_read()
        return {partition: OwnerBindings([(f"wx{partition}", "gh_owner")]) for partition in wanted}


def test_bindings_are_read_once_per_partition_and_kept():
    ledger = ReadWhileRebalancing()
    first = asyncio.run(ledger.bindings([0, 1]))
    again = asyncio.run(ledger.bindings([1]))
    assert ledger.reads == [[0, 1]]
    assert again[1] is first[1] and again[1].owner_of("wx1") == "gh_owner"


def test_a_revoked_partition_is_read_again_when_given_back():
    ledger = ReadWhileRebalancing()
    asyncio.run(ledger.bindings([0]))
    ledger.revoke([0])
    asyncio.run(ledger.bindings([0]))
    assert ledger.reads == [[0], [0]]


def test_bindings_read_during_a_rebalance_serve_their_batch_but_are_not_kept():
    """A partition revoked (and perhaps given back) while its bindings were read may have gained
    bindings from its reader meanwhile: the batch still gets what was read, the next one reads again."""
    ledger = ReadWhileRebalancing()
    ledger.during_read = lambda: ledger.revoke([0])
    batch = asyncio.run(ledger.bindings([0]))
    assert batch[0].owner_of("wx0") == "gh_owner"
    ledger.during_read = lambda: None
    asyncio.run(ledger.bindings([0]))
    assert ledger.reads == [[0], [0]]


def test_a_rebalance_during_the_read_of_a_new_partition_keeps_the_known_ones_for_the_batch():
    """aiokafka revokes every partition at a rebalance: the batch that read partition 1 while it
    happened still has partition 0's bindings (a KeyError here stopped the worker)."""
    ledger = ReadWhileRebalancing()
    asyncio.run(ledger.bindings([0]))
    ledger.during_read = lambda: ledger.revoke([0, 1])
    batch = asyncio.run(ledger.bindings([0, 1]))
    assert batch[0].owner_of("wx0") == "gh_owner" and batch[1].owner_of("wx1") == "gh_owner"
