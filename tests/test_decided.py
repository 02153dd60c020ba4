"""States decided but not yet stored (streams/decided.py): nothing acknowledged before it is stored."""

from __future__ import annotations

from streams.decided import Unstored

TABLE = {b"old": "old-state"}


def write_all(unstored: Unstored, table: dict, limit: int | None = None) -> list:
    for account, state, _ in unstored.take(limit):
        table[account] = state
    return unstored.stored()


def decide_accounts(unstored: Unstored, prefix: str, count: int, message: str) -> None:
    """``count`` accounts touched by one ``message``, which is then fully decided."""
    for index in range(count):
        unstored.put(f"{prefix}{index}".encode(), index, message)
    unstored.decided(message)


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


def test_a_sealed_batch_is_written_evenly_over_the_spread_not_in_one_burst() -> None:
    unstored = Unstored(interval_s=5, max_accounts=1000, now=0, spread_s=4)
    table: dict = {}
    decide_accounts(unstored, "a", 100, "m")
    unstored.seal(10)
    assert unstored.paced(10) == 0  # nothing is due the moment the batch is sealed
    written = []
    for now in (11, 12, 13):
        write_all(unstored, table, limit=unstored.paced(now))
        written.append(len(table))
    assert written == [25, 50, 75]
    assert unstored.paced(13.5) == 13  # a quarter of the way through the last second: rounded up
    assert unstored.paced(14) == 25  # by the end of the spread everything left is due
    assert write_all(unstored, table, limit=unstored.paced(20)) == ["m"]


def test_a_batch_sealed_before_the_last_one_was_written_restarts_the_pace_for_both() -> None:
    unstored = Unstored(interval_s=5, max_accounts=1000, now=0, spread_s=4)
    table: dict = {}
    decide_accounts(unstored, "a", 40, "m1")
    unstored.seal(0)
    write_all(unstored, table, limit=unstored.paced(1))  # 10 of 40 written
    decide_accounts(unstored, "b", 20, "m2")
    unstored.seal(2)  # 30 left + 20 new, paced over the next 4 s
    assert unstored.paced(2) == 0 and unstored.paced(4) == 25
    assert write_all(unstored, table, limit=unstored.paced(6)) == ["m1", "m2"]
    assert len(table) == 60


def test_without_a_spread_everything_sealed_is_due_at_once() -> None:
    unstored = Unstored(interval_s=5, max_accounts=1000, now=0)
    decide_accounts(unstored, "a", 7, "m")
    unstored.seal(1)
    assert unstored.paced(1) == 7
