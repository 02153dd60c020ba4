"""A seek cannot be undone by the tail of a batch fetched before it (streams/readoffsets.py)."""

from __future__ import annotations

from streams.readoffsets import RewindableReadOffsets


def drain(offsets: RewindableReadOffsets, tp: str, batch: list[int]) -> list[int]:
    """What Faust's fetch loop hands on: a message at or above the read offset, which it then sets."""
    handed = []
    for offset in batch:
        read = offsets[tp]
        if read is None or offset >= read:
            handed.append(offset)
            offsets[tp] = offset
    return handed


def test_after_a_rewind_the_old_batch_tail_passes_and_the_refetch_is_not_dropped():
    offsets = RewindableReadOffsets()
    assert drain(offsets, "p", [10, 11, 12]) == [10, 11, 12]
    offsets.rewind("p", 3)  # seek back to 3 while 13..15 of the old batch are still in flight
    assert drain(offsets, "p", [13, 14, 15]) == [13, 14, 15]
    assert offsets["p"] is None  # the tail did not move it
    assert drain(offsets, "p", [3, 4, 5, 13]) == [3, 4, 5, 13]  # the re-fetch, from 3
    assert offsets.rewinding("p") is None and offsets["p"] == 13


def test_fausts_seek_to_committed_offsets_is_a_rewind_too():
    offsets = RewindableReadOffsets({"p": 40})
    offsets.update({"p": 7, "q": None})
    assert drain(offsets, "p", [41, 42]) == [41, 42] and offsets["p"] is None
    assert drain(offsets, "p", [7, 8]) == [7, 8] and offsets["p"] == 8
    assert offsets["q"] is None


def test_a_plain_dict_would_drop_the_refetch():
    # the behaviour this replaces, for contrast: the old tail raises the read offset
    offsets: dict = {}
    handed = []
    for offset in [13, 14, 15, 3, 4, 5]:
        if offsets.get("p") is None or offset >= offsets["p"]:
            handed.append(offset)
            offsets["p"] = offset
    assert handed == [13, 14, 15]


def test_a_revoked_partition_forgets_its_rewind():
    offsets = RewindableReadOffsets()
    offsets.rewind("p", 5)
    offsets.pop("p", None)
    offsets["p"] = 9
    assert offsets["p"] == 9 and offsets.rewinding("p") is None
