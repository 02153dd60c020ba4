"""Running one tradewatch worker process (``tradewatch worker``)."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import time
from collections.abc import Callable

import faust
import mode.loop
from aiokafka.errors import KafkaError

from streams.admin import commit_internal_starts, ensure_internal_topics, missing_input_topics
from streams.app import create_app
from streams.config import Config, ConfigError
from streams.logjson import logging_config
from streams.web import start_web


def use_event_loop(config: Config) -> None:
    """Install the configured event loop for every loop created from now on (the benchmark's
    contenders call this too, so they are compared on the same loop)."""
    if config.event_loop == "uvloop":
        # libuv's loop does the consumer thread's socket work and the hand-offs between the
        # threads with less Python: +13 % events/s in paired drains (bench/PROFILE.md)
        mode.loop.use("uvloop")


ATTEMPT_TIMEOUT_S = 10.0  # a broker that accepts connections but never answers fails a try
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # waits between tries; the last one repeats


def prepare_broker(config: Config, *, sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic) -> None:
    """Reach Kafka, check the topics, create the internal ones and commit their starts —
    trying again with backoff for ``TRADEWATCH_CONNECT_TIMEOUT_SECONDS`` (a broker still
    starting, a topic job still running), then failing with one line that says why."""
    log = logging.getLogger("tradewatch")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its connection errors are reported here
    deadline = clock() + config.connect_timeout_s
    for attempt in itertools.count(1):
        log.info("connecting to Kafka at %s (%s), try %d", config.bootstrap_servers, config.security.protocol, attempt)
        try:
            problem = asyncio.run(asyncio.wait_for(_prepare(config), min(ATTEMPT_TIMEOUT_S, max(deadline - clock(), 1.0))))
        except (TimeoutError, OSError, KafkaError) as error:
            problem = f"TRADEWATCH_BROKER={config.broker}: cannot reach Kafka ({type(error).__name__}: {error or 'no answer'})"
        if problem is None:
            logging.getLogger("aiokafka").setLevel(logging.NOTSET)
            return
        wait = BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1]
        if clock() + wait > deadline:
            raise ConfigError(f"{problem}; gave up after {attempt} tries (TRADEWATCH_CONNECT_TIMEOUT_SECONDS={config.connect_timeout_s:g})")
        log.warning("%s; trying again in %.0f s", problem, wait)
        sleep(wait)
    raise AssertionError("unreachable")


async def _prepare(config: Config) -> str | None:
    """One try: None when the worker can start, else what stops it."""
    missing = await missing_input_topics(config)
    if missing:
        return f"topics missing on {config.broker}: {', '.join(missing)}; create them with `tradewatch topics`"
    await ensure_internal_topics(config)
    await commit_internal_starts(config)
    return None


def run(config: Config) -> int:
    use_event_loop(config)
    prepare_broker(config)
    if config.signing is None:
        logging.getLogger("tradewatch").warning(
            "enforcement actions are NOT signed: set TRADEWATCH_SIGNING_KEYS and TRADEWATCH_SIGNING_KEY_ID"
        )
    tw = create_app(config)

    @tw.app.task
    async def serve_http() -> None:
        await start_web(tw)
        logging.getLogger("tradewatch").info(
            "serving /metrics, /healthz, /readyz on %s:%s", config.metrics_host, config.metrics_port
        )

    # Account states are many small long-lived objects: with the default thresholds a full
    # collection walks all of them every few seconds under load (100-170 ms pauses measured,
    # the event-to-action latency tail); collect the young generation less often instead
    gc.set_threshold(50_000, 20, 100)
    worker = faust.Worker(tw.app, loglevel=config.log_level.upper(), quiet=True, redirect_stdouts=False,
                          logging_config=logging_config(config.log_level, config.log_format))
    # Faust's terminal spinner sets the root logger to DEBUG at warning/error levels, making
    # every aiokafka debug call build a log record (7 % of the worker's time, bench/PROFILE.md)
    worker.spinner = None
    logging.getLogger("tradewatch").info("event loop: %s.%s", type(worker.loop).__module__, type(worker.loop).__name__)
    worker.execute_from_commandline()
    return 0
