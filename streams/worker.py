"""Running one tradewatch worker process (``tradewatch worker``)."""

from __future__ import annotations

import asyncio
import gc
import logging

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


def run(config: Config) -> int:
    use_event_loop(config)
    logging.getLogger("tradewatch").info("connecting to Kafka at %s (%s)", config.bootstrap_servers,
                                         config.security.protocol)
    try:
        missing = asyncio.run(asyncio.wait_for(missing_input_topics(config), 60))
        if not missing:
            asyncio.run(asyncio.wait_for(ensure_internal_topics(config), 60))
            asyncio.run(asyncio.wait_for(commit_internal_starts(config), 60))
    except (TimeoutError, OSError, KafkaError) as error:
        raise ConfigError(f"TRADEWATCH_BROKER={config.broker}: cannot reach Kafka ({type(error).__name__}: {error})") from None
    if missing:
        raise ConfigError(f"topics missing on {config.broker}: {', '.join(missing)}; create them with `tradewatch topics`")
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
