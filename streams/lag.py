"""Consumer lag and commit stalls of the partitions a worker owns, as gauges.

Lag alone does not tell a stuck partition from a busy one: under a backlog the lag is large
and the committed offset moves. A partition whose committed offset stands still while it has
lag is stuck (a message never delivered, a commit that cannot advance, a held watermark), and
`tradewatch_commit_stalled_seconds` says for how long — the alert `TradewatchCommitStalled`
pages on it. Intake (input topics) and the deciding agent (the internal topic) each own one.
"""

from __future__ import annotations

from typing import Any


class LagMeter:
    def __init__(self, lag_gauge: Any, stalled_gauge: Any) -> None:
        self.lag_gauge = lag_gauge
        self.stalled_gauge = stalled_gauge
        self._still_since: dict[tuple[str, str], tuple[int, float]] = {}
        self._round: set[tuple[str, str]] = set()

    def observe(self, topic: str, partition: int, highwater: int, committed: int, now: float) -> float:
        """Set both gauges of one owned partition; returns the seconds it has been stalled."""
        labels = (topic, str(partition))
        lag = max(0, highwater - committed)
        seen = self._still_since.get(labels)
        if lag == 0 or seen is None or seen[0] != committed:
            self._still_since[labels] = (committed, now)
            stalled = 0.0
        else:
            stalled = now - seen[1]
        self.lag_gauge.labels(*labels).set(lag)
        self.stalled_gauge.labels(*labels).set(stalled)
        self._round.add(labels)
        return stalled

    def end_round(self) -> None:
        """Drop the series of partitions not observed since the last round (revoked)."""
        for labels in set(self._still_since) - self._round:
            del self._still_since[labels]
            for gauge in (self.lag_gauge, self.stalled_gauge):
                try:
                    gauge.remove(*labels)
                except KeyError:
                    pass
        self._round = set()
