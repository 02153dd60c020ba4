"""The fast constructor of mini-program events builds exactly what the dataclass does."""

from __future__ import annotations

import dataclasses

import pytest

from streams.core.events import MiniProgramEvent, new_mini_program_event


def test_new_mini_program_event_is_the_dataclass() -> None:
    values = ("e1", "wx01", "gh_01", 1.5, "payment", "u1", "u2", "i1", "c1", 500, 100, "USDT", 0.5)
    fast, slow = new_mini_program_event(*values), MiniProgramEvent(*values)
    assert type(fast) is MiniProgramEvent
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert dataclasses.astuple(fast) == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.event_id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        new_mini_program_event(*values[:-1])  # every field is required, in order
