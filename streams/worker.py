"""Running one tradewatch worker process (``tradewatch worker``)."""

from __future__ import annotations

import logging

import faust

from streams.app import create_app
from streams.config import Config
from streams.web import start_web


def run(config: Config) -> int:
    tw = create_app(config)

    @tw.app.task
    async def serve_http() -> None:
        await start_web(tw)
        logging.getLogger("tradewatch").info(
            "serving /metrics, /healthz, /readyz on %s:%s", config.metrics_host, config.metrics_port
        )

    worker = faust.Worker(tw.app, loglevel=config.log_level.upper(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
    return 0
