"""Stopping the worker at once: the one way tradewatch fail-stops.

When a step cannot go on correctly (a loop failed, an action cannot be signed), the process
exits before anything past the failure is acknowledged or committed; the platform restarts it
and Kafka redelivers from the last commit. ``os._exit`` rather than an exception, because an
exception inside a Faust agent is caught by Faust's supervisor, which marks the agent crashed
and starts it again (``faust/agents/agent.py``, ``_execute_actor``): the worker would go on
around a message it never decided.
"""

from __future__ import annotations

import logging
import os
from typing import NoReturn

EXIT_CODE = 70  # EX_SOFTWARE

log = logging.getLogger("tradewatch")


def stop_now(reason: str, *, exc_info: bool = False) -> NoReturn:
    """Log ``reason`` at CRITICAL, flush the logs and exit with :data:`EXIT_CODE`."""
    log.critical("stopping: %s", reason, exc_info=exc_info)
    logging.shutdown()
    os._exit(EXIT_CODE)
