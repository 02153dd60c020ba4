"""How long commits take and how many fail, for both consumer groups.

Intake commits the input topics' offsets itself; Faust commits the internal topic's from its
own commit loop, through its consumer's ``_commit(offsets) -> bool`` (faust-streaming 0.15.3:
``Consumer._commit_offsets`` awaits it; ``False`` when Kafka refused, e.g. after a rebalance).
:func:`meter_faust_commits` wraps that one method — the only place tradewatch touches Faust's
commit path, pinned by ``tests/test_faust_characterisation.py``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from streams import metrics


class CommitMeter:
    """``tradewatch_commit_seconds`` and ``tradewatch_commit_failures_total`` of one group role."""

    def __init__(self, group: str) -> None:
        self._seconds = metrics.COMMIT_SECONDS.labels(group)
        self._failures = metrics.COMMIT_FAILURES.labels(group)

    async def measure(self, commit: Awaitable[Any]) -> Any:
        """Await one commit, timing it; an exception counts as a failure and propagates."""
        start = time.perf_counter()
        try:
            return await commit
        except BaseException:
            self._failures.inc()
            raise
        finally:
            self._seconds.observe(time.perf_counter() - start)

    def failed(self) -> None:
        self._failures.inc()


def meter_faust_commits(consumer: Any, meter: CommitMeter) -> None:
    """Time every commit of Faust's consumer; a commit it reports as not done is a failure."""
    commit: Callable[[Mapping[Any, int]], Awaitable[bool]] = consumer._commit  # noqa: SLF001 - see the module docstring

    async def measured(offsets: Mapping[Any, int]) -> bool:
        done = await meter.measure(commit(offsets))
        if not done:
            meter.failed()
        return done

    consumer._commit = measured  # noqa: SLF001
