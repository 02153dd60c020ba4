"""The one exception the input gate raises: why a message cannot become an input event."""

from __future__ import annotations

_MAX_MESSAGE_CHARS = 300


class DecodeError(Exception):
    """A message that cannot become an input event; never carries the message's text.

    ``reason`` is one of :data:`streams.core.rejections.REJECTION_REASONS`.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message[:_MAX_MESSAGE_CHARS]
