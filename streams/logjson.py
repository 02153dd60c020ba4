"""Log lines as JSON objects (``TRADEWATCH_LOG_FORMAT=json``), one per line, for log pipelines.

Each line is ``{"time", "level", "logger", "pid", "message"}`` plus ``"exception"`` when one
is attached; a multi-line message (Faust's recovery tables) stays one line, its newlines
escaped by JSON. tradewatch never logs post text, only ids, codes and scores.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def logging_config(level: str, log_format: str) -> dict[str, Any] | None:
    """A dictConfig for the worker's logging (None: Faust's own coloured text lines)."""
    if log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                                 "formatter": "json", "level": level.upper()}},
        "root": {"level": level.upper(), "handlers": ["default"]},
    }
