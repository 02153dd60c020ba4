"""The suspension-rate circuit breaker, as a pure object with an injected clock.

If a bad policy or a bad upstream makes the worker suspend far more accounts than ever
seen, enforcement stops (actions go to the shadow topic) until a human looks: tripping is
automatic, resuming is only by operator action.
"""

from __future__ import annotations

from collections import deque


class CircuitBreaker:
    WINDOW_S = 60.0

    def __init__(self, max_per_minute: int) -> None:
        self.max_per_minute = max_per_minute  # 0 disables
        self.open = False
        self.opened_at: float | None = None
        self._recent: deque[float] = deque()

    def record_suspension(self, now: float) -> bool:
        """Count one suspension at ``now``; True if this one trips the breaker."""
        if self.max_per_minute <= 0 or self.open:
            return False
        recent = self._recent
        recent.append(now)
        while recent and recent[0] <= now - self.WINDOW_S:
            recent.popleft()
        if len(recent) > self.max_per_minute:
            self.open = True
            self.opened_at = now
            return True
        return False

    def reset(self) -> None:
        """Operator action: resume enforcing."""
        self.open = False
        self.opened_at = None
        self._recent.clear()
