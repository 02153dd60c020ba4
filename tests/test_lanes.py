"""A lane (streams/lanes.py): control records are in force at once, never waiting in the buffer."""

from __future__ import annotations

from streams.core.events import ControlRecord
from streams.lanes import Lane
from streams.wire import InternalRecord
from tests.fixtures import T0, post

COUNTS = {"posts.v1": 1}


def test_a_control_record_is_handed_over_at_once_and_holds_no_acknowledgement() -> None:
    lane = Lane()
    change = ControlRecord("policy-1", T0 + 3600, "{}")
    event = post("hello", at=T0)
    late, controls = lane.admit("message-1", InternalRecord([(b"gh_a", event, None), (b"", change, None)], {}, COUNTS))
    assert late == [] and controls == [change]
    assert len(lane.buffer) == 1  # the post waits for the watermark; the change does not
    lane.watermark.update({"posts.v1:0": T0}, COUNTS)
    assert [item[1] for item in lane.release()] == [event]
    assert lane.decided_messages() == ["message-1"]
