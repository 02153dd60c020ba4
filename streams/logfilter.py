"""Log lines that a message cannot forge.

Account ids, action ids and reasons come from producers. A newline inside one would let a
writer of any input topic append a fake line to the worker's log ("circuit breaker reset by
operator"). Every record of the ``tradewatch`` logger therefore has the control characters
of its message escaped (``\\n`` becomes the two characters ``\\`` ``n``); tracebacks, which
the logging module adds after the message, keep their lines.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def escape_controls(text: str) -> str:
    return _CONTROL.sub(_escape, text)


class EscapeControlCharacters(logging.Filter):
    """Format the record's message once, escaped; the formatter then prints it as is."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, ()  # not None: mode's formatter would wrap it as (None,)
        return True


def install(logger: logging.Logger) -> None:
    if not any(isinstance(f, EscapeControlCharacters) for f in logger.filters):
        logger.addFilter(EscapeControlCharacters())
