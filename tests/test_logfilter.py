"""A producer's id cannot forge a line in the worker's log."""

from __future__ import annotations

import logging

from streams.logfilter import EscapeControlCharacters, escape_controls


def test_a_newline_in_an_account_id_stays_inside_its_log_line(caplog):
    logger = logging.getLogger("tradewatch.test-escape")
    logger.addFilter(EscapeControlCharacters())
    forged = "gh_0123456789ab\n2026-12-02 INFO circuit breaker reset by operator"
    with caplog.at_level(logging.INFO, logger="tradewatch.test-escape"):
        logger.info("suspended %s", forged)
    [record] = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage() == "suspended gh_0123456789ab\\n2026-12-02 INFO circuit breaker reset by operator"


def test_ordinary_text_and_tracebacks_are_untouched(caplog):
    assert escape_controls("账号 gh_1 已暂停 (mode=enforce)") == "账号 gh_1 已暂停 (mode=enforce)"
    logger = logging.getLogger("tradewatch.test-escape-2")
    logger.addFilter(EscapeControlCharacters())
    with caplog.at_level(logging.ERROR, logger="tradewatch.test-escape-2"):
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("decide failed on %s", "x\ry")
    [record] = caplog.records
    assert record.getMessage() == "decide failed on x\\ry" and record.exc_info is not None
    assert "Traceback" in caplog.text and "\n" in caplog.text


def test_an_escaped_line_prints_through_the_workers_formatter():
    # the worker logs through mode's formatter, which wraps non-tuple args: a filtered record
    # with args=None became (None,) and every formatted line failed with "not all arguments converted"
    from mode.utils.logging import ExtensionFormatter

    record = logging.LogRecord("tradewatch", logging.INFO, __file__, 1, "suspend %s trading=%.2f 100%%",
                               ("gh_1", 0.912), None)
    EscapeControlCharacters().filter(record)
    assert ExtensionFormatter(fmt="%(message)s").format(record) == "suspend gh_1 trading=0.91 100%"
