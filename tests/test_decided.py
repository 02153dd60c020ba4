"""States decided but not yet stored (streams/decided.py): nothing acknowledged before it is stored."""

from __future__ import annotations

from streams.decided import Unstored

TABLE = {b"old": "old-state"}


def write_all(unstored: Unstored, table: dict, limit: int | None = None) -> list:
    for account, state, _ in unstored.take(limit):
        table[account] = state
    return unstored.stored()


def test_the_newest_state_is_the_unstored_one_then_the_tables() -> None:
    unstored = Unstored(interval_s=5, max_accounts=100, now=0)
    assert unstored.state_of(b"old", TABLE.get) == "old-state"
    assert unstored.state_of(b"new", TABLE.get) is None
    unstored.put(b"new", "s1", "m1")
    assert unstored.state_of(b"new", TABLE.get) == "s1"
    unstored.seal(1)  # sealed but not yet written: still the newest
    assert unstored.state_of(b"new", TABLE.get) == "s1"


def test_messages_are_acknowledged_only_after_every_state_they_touched_is_written() -> None:
    unstored = Unstored(interval_s=5, max_accounts=100, now=0)
    table: dict = {}
    for index in range(5):
        unstored.put(f"a{index}".encode(), f"s{index}", f"m{index}")
        unstored.decided(f"m{index}")
    unstored.seal(1)
    assert write_all(unstored, table, limit=2) == []  # three states still unwritten
    assert len(table) == 2
    assert write_all(unstored, table, limit=2) == []
    assert write_all(unstored, table, limit=2) == ["m0", "m1", "m2", "m3", "m4"]
    assert table == {f"a{i}".encode(): f"s{i}" for i in range(5)}
    assert write_all(unstored, table) == [] and not unstored.pending()


def test_an_account_touched_again_is_written_once_per_batch_with_its_newest_state() -> None:
    unstored = Unstored(interval_s=5, max_accounts=100, now=0)
    unstored.put(b"a", "v1", "m1")
    unstored.decided("m1")
    unstored.put(b"a", "v2", "m2")
    unstored.decided("m2")
    unstored.seal(1)
    assert list(unstored.take(None)) == [(b"a", "v2", "m2")]


def test_decisions_go_on_while_a_sealed_batch_is_written() -> None:
    unstored = Unstored(interval_s=5, max_accounts=100, now=0)
    table: dict = {}
    unstored.put(b"a", "a1", "m1")
    unstored.put(b"b", "b1", "m1")
    unstored.decided("m1")
    unstored.seal(1)
    assert write_all(unstored, table, limit=1) == []
    unstored.put(b"c", "c1", "m2")  # decided after the seal: waits for the next one
    unstored.decided("m2")
    assert write_all(unstored, table, limit=5) == ["m1"]
    assert b"c" not in table and unstored.pending()
    unstored.seal(2)
    assert write_all(unstored, table) == ["m2"]


def test_due_after_the_interval_or_when_many_accounts_wait() -> None:
    unstored = Unstored(interval_s=5, max_accounts=3, now=0)
    assert not unstored.due(100)  # nothing decided
    unstored.put(b"a", 1, "m")
    unstored.decided("m")
    assert not unstored.due(4) and unstored.due(5)
    unstored.seal(5)
    for name in (b"x", b"y", b"z"):
        unstored.put(name, 1, "n")
    unstored.decided("n")
    assert unstored.due(6)


def test_clear_forgets_everything_unacknowledged() -> None:
    unstored = Unstored(interval_s=5, max_accounts=100, now=0)
    unstored.put(b"a", 1, "m")
    unstored.decided("m")
    unstored.seal(1)
    unstored.clear(2)
    assert not unstored.pending() and list(unstored.take(None)) == [] and unstored.stored() == []
    assert unstored.state_of(b"a", TABLE.get) is None
