"""replay pauses the cycle collector for speed and always leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from streams.core.policy import load_policy
from streams.offline.replay import replay


@pytest.mark.parametrize("enabled", [True, False])
def test_replay_restores_the_cycle_collector(enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    try:
        replay([("x:1", b'{"topic": "posts.v1", "value": {}}')], load_policy(None))
        assert gc.isenabled() is enabled
    finally:
        gc.enable()


def test_replay_restores_the_cycle_collector_after_an_error() -> None:
    gc.enable()

    def broken_lines():
        yield "x:1", b"{}"
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        replay(broken_lines(), load_policy(None))
    assert gc.isenabled()


def test_replay_leaves_nothing_frozen_and_keeps_what_the_process_froze() -> None:
    gc.enable()
    replay([("x:1", b'{"topic": "posts.v1", "value": {}}')], load_policy(None))
    assert gc.get_freeze_count() == 0 and gc.get_count()[0] < 100
    kept = [[] for _ in range(10)]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        replay([("x:1", b'{"topic": "posts.v1", "value": {}}')], load_policy(None))
        assert gc.get_freeze_count() == frozen and kept
    finally:
        gc.unfreeze()
