"""What tradewatch relies on in faust-streaming's internals, pinned so an upgrade that changes it fails here."""

from __future__ import annotations

import inspect

import faust
from faust.app.base import App

from streams.faustcompat import WatermarkApp


def test_faust_asks_the_app_hook_before_committing_at_every_rebalance_and_at_shutdown():
    """WatermarkApp overrides ``_consumer_wait_empty``: Faust must still call it on revoke and stop."""
    assert inspect.iscoroutinefunction(App._consumer_wait_empty)
    assert "_consumer_wait_empty" in inspect.getsource(App._on_partitions_revoked)
    assert "_consumer_wait_empty" in inspect.getsource(App._stop_consumer)
    assert WatermarkApp._consumer_wait_empty is not App._consumer_wait_empty


def test_the_pinned_faust_version():
    assert faust.__version__ == "0.15.3"


def test_faust_commits_a_run_of_acknowledged_offsets_that_starts_past_undecided_ones():
    """Why the decide agent takes each partition's start from the broker (streams.admin.CommittedOffsets).

    Faust checks the head of the acknowledged run only against a truthy committed offset: for a
    partition never committed (or forgotten at a revoke, see below) it commits past 0..11 when
    12 and 13 are acknowledged. Only acknowledging in offset order from the true start keeps
    the commit honest.
    """
    from collections import defaultdict
    from types import SimpleNamespace

    from faust.transport.consumer import Consumer
    from faust.types import TP
    from intervaltree import IntervalTree

    tp = TP("subject-inputs", 2)
    fake = SimpleNamespace(_acked={tp: [12, 13]}, _gap=defaultdict(IntervalTree), _acked_index={tp: {12, 13}},
                           _committed_offset={tp: None})
    assert Consumer._new_offset(fake, tp) == 14


def test_faust_forgets_committed_offsets_at_a_revoke_and_stamps_messages_with_their_generation():
    from faust.streams import Stream
    from faust.transport.consumer import Consumer

    assert "self._committed_offset.pop(tp, None)" in inspect.getsource(Consumer.on_partitions_revoked)
    # the stream drops a message fetched in an earlier generation only when it takes it from its
    # queue; one already handed to the agent is the agent's to drop (streams/app.py)
    assert "message.generation_id != self.app.consumer_generation_id" in inspect.getsource(Stream._py_aiter)


def test_fausts_fetch_loop_reads_and_sets_the_read_offset_mapping_that_tradewatch_replaces():
    """streams/readoffsets.py swaps ``Consumer._read_offset`` for a mapping that survives a
    rewind: the fetch loop must still go through that mapping's item access, the seek to the
    committed offsets through its ``update``."""
    from faust.transport.consumer import Consumer

    drain = inspect.getsource(Consumer._drain_messages)
    assert "get_read_offset = self._read_offset.__getitem__" in drain
    assert "set_read_offset = self._read_offset.__setitem__" in drain
    assert "if r_offset is None or offset >= r_offset:" in drain
    assert "read_offset.update(" in inspect.getsource(Consumer.perform_seek)
    assert "self._read_offset[ensure_TP(partition)] = offset" in inspect.getsource(Consumer.seek)


def test_every_faust_commit_goes_through_the_consumer_method_tradewatch_times():
    """streams/commits.py wraps ``_commit`` of Faust's consumer: its commit path must still
    await that method and trust its boolean answer."""
    from faust.transport.consumer import Consumer, ThreadDelegateConsumer

    assert "did_commit = await self._commit(committable_offsets)" in inspect.getsource(Consumer._commit_offsets)
    assert inspect.iscoroutinefunction(ThreadDelegateConsumer._commit)


def test_no_private_framework_state_is_touched_outside_the_adapter():
    """streams/faustcompat.py is the one module allowed to reach into Faust (ruff's SLF rules
    are off only there); any other private access in the shell is listed here with its reason."""
    import re
    from pathlib import Path

    allowed = {
        "streams/intake.py": 2,  # Intake's own fields, from its rebalance listener
        "streams/signing/verify_cli.py": 1,  # aiokafka has no public metadata refresh
        "streams/metrics.py": 1,  # prometheus-client's registry: which collector owns a name
    }
    root = Path(__file__).resolve().parents[1]
    found = {}
    for path in sorted((root / "streams").rglob("*.py")):
        count = len(re.findall(r"noqa: [A-Z0-9, ]*SLF001", path.read_text(encoding="utf-8")))
        if count:
            found[str(path.relative_to(root))] = count
    assert found == allowed


def test_the_consumer_state_the_debug_view_reads_is_where_faust_keeps_it():
    """streams.faustcompat.partitions_view reads these three attributes of Faust's consumer."""
    from faust.transport.consumer import Consumer

    source = inspect.getsource(Consumer)
    for name in ("self._acked = ", "self._committed_offset = ", "self._paused_partitions = set()"):
        assert name in source, name
    assert "self._paused_partitions.update(" in inspect.getsource(Consumer.pause_partitions)
