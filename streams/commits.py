"""How long commits take and how many fail, for both consumer groups.

Intake commits the input topics' offsets itself; Faust commits the internal topic's from its
own commit loop; :func:`meter_faust_commits` wraps that loop's commit call through
:func:`streams.faustcompat.wrap_commit` (a commit reported as not done is a failure).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from typing import Any

from streams import faustcompat, metrics


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

    def metered(commit: faustcompat.Commit) -> faustcompat.Commit:
        async def measured(offsets: Mapping[Any, int]) -> bool:
            done = await meter.measure(commit(offsets))
            if not done:
                meter.failed()
            return done

        return measured

    faustcompat.wrap_commit(consumer, metered)
