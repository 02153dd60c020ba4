"""TRADEWATCH_LOG_FORMAT=json: one JSON object per line, whatever the message (streams/logjson.py)."""

from __future__ import annotations

import logging

import orjson

from streams.logjson import JsonFormatter, logging_config


def record(message: str, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("tradewatch", logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_line_is_one_json_object_with_time_level_logger_and_message():
    line = JsonFormatter().format(record("suspend %s trading=%.2f", "gh_1", 0.91))
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["message"] == "suspend gh_1 trading=0.91"
    assert (parsed["level"], parsed["logger"]) == ("warning", "tradewatch")
    assert parsed["time"].endswith("Z") and "T" in parsed["time"] and isinstance(parsed["pid"], int)


def test_multi_line_messages_and_tracebacks_stay_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = JsonFormatter().format(record("table\n| a | b |\n", exc_info=sys.exc_info()))
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["message"] == "table\n| a | b |\n" and "ValueError: boom" in parsed["exception"]


def test_text_keeps_fausts_own_logging():
    assert logging_config("info", "text") is None
    assert logging_config("info", "json")["root"]["level"] == "INFO"
