"""Account states decided but not yet stored, and the messages acknowledged once they are.

Storing each touched account once per interval instead of once per event keeps the table's
changelog from costing a Kafka message (and a state encoding of several KB) per input. It is
safe because no message is acknowledged before every state it touched is stored: a crash or a
rebalance re-delivers those messages, and an account is stored whenever it was touched — also
when all its events were duplicates — so states changed in memory still reach the changelog.

Writing hundreds of states at once stalls the deciding agent (each costs an encoding and a
trip through Faust's producer buffer, and a full buffer pauses every stream of the worker), so
a due batch is *sealed* and then written at an even pace over ``spread_s``, a few states
between messages; decisions go on into a new open batch meanwhile. A burst of 800 states right
after each seal was the worker's latency tail (bench/PROFILE.md). Pure bookkeeping; no Faust import.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any


class Unstored:
    def __init__(self, interval_s: float, max_accounts: int, now: float, spread_s: float = 0.0) -> None:
        self.interval_s = interval_s
        self.max_accounts = max_accounts
        self.spread_s = spread_s
        self._open: dict[bytes, tuple[Any, Any]] = {}  # account -> (state, a message of its partition)
        self._open_messages: list[Any] = []
        self._sealed: dict[bytes, tuple[Any, Any]] = {}
        self._sealed_order: deque[bytes] = deque()
        self._sealed_messages: list[Any] = []
        self._since = now
        self._sealed_at = now
        self._sealed_total = 0  # states in the sealed batch when it was (last) sealed

    def state_of(self, account: bytes, load: Callable[[bytes], Any]) -> Any:
        """The newest state of ``account``: decided and unstored, else ``load(account)``."""
        for batch in (self._open, self._sealed):
            if account in batch:
                return batch[account][0]
        return load(account)

    def put(self, account: bytes, state: Any, message: Any) -> None:
        self._open[account] = (state, message)

    def decided(self, message: Any) -> None:
        """``message`` is fully decided; acknowledge it once everything it touched is stored."""
        self._open_messages.append(message)

    def due(self, now: float) -> bool:
        return bool(self._open_messages) and (
            now - self._since >= self.interval_s or len(self._open) >= self.max_accounts
        )

    def seal(self, now: float) -> None:
        """Close the open batch; it is written (after any earlier sealed one) by ``take``."""
        for account, entry in self._open.items():
            if account not in self._sealed:
                self._sealed_order.append(account)
            self._sealed[account] = entry
        self._sealed_messages += self._open_messages
        self._open, self._open_messages = {}, []
        self._since = self._sealed_at = now
        self._sealed_total = len(self._sealed_order)

    def paced(self, now: float) -> int:
        """How many sealed states to write now to finish the batch evenly over ``spread_s``."""
        left = len(self._sealed_order)
        if not left or now - self._sealed_at >= self.spread_s:
            return left
        target = math.ceil(self._sealed_total * (now - self._sealed_at) / self.spread_s)
        return max(0, target - (self._sealed_total - left))

    def take(self, limit: int | None) -> Iterator[tuple[bytes, Any, Any]]:
        """Up to ``limit`` sealed (account, state, message) to write now, oldest first."""
        count = 0
        while self._sealed_order and (limit is None or count < limit):
            account = self._sealed_order.popleft()
            state, message = self._sealed.pop(account)
            count += 1
            yield account, state, message

    def stored(self) -> list[Any]:
        """Once the sealed batch is written: the messages to acknowledge (then forgotten)."""
        if self._sealed_order:
            return []
        messages, self._sealed_messages = self._sealed_messages, []
        return messages

    def pending(self) -> bool:
        return bool(self._open_messages or self._sealed_messages or self._open or self._sealed)

    def clear(self, now: float) -> None:
        """Forget everything (a rebalance): what was not acknowledged is delivered again."""
        self._open, self._open_messages = {}, []
        self._sealed, self._sealed_order, self._sealed_messages = {}, deque(), []
        self._since = self._sealed_at = now
        self._sealed_total = 0
