"""The worker's HTTP surface: /metrics, /healthz, /readyz and the breaker reset — nothing else.

Faust's own web server is disabled because it serves table contents (account state) under
/table; this one binds to loopback unless TRADEWATCH_METRICS_ADDR says otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics

if TYPE_CHECKING:
    from streams.app import Tradewatch


def is_ready(tw: "Tradewatch") -> bool:
    """Partitions assigned and tables recovered: the worker can make decisions."""
    app = tw.app
    try:
        recovery_done = app.tables.recovery.completed.is_set()
    except AttributeError:  # tables not started yet
        return False
    return bool(app.consumer and not app.rebalancing and recovery_done)


def build_web_app(tw: "Tradewatch") -> web.Application:
    async def metrics_view(request: web.Request) -> web.Response:
        metrics.WORKER_READY.set(1 if is_ready(tw) else 0)
        body = generate_latest(metrics.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        ready = is_ready(tw)
        metrics.WORKER_READY.set(1 if ready else 0)
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def reset_breaker(request: web.Request) -> web.Response:
        tw.publisher.reset_breaker()
        return web.json_response({"circuit_breaker_open": False, "mode": tw.publisher.mode()})

    async def breaker_status(request: web.Request) -> web.Response:
        breaker = tw.publisher.breaker
        return web.json_response({"circuit_breaker_open": breaker.open, "opened_at": breaker.opened_at, "mode": tw.publisher.mode()})

    web_app = web.Application()
    web_app.router.add_get("/metrics", metrics_view)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/circuit-breaker", breaker_status)
    web_app.router.add_post("/circuit-breaker/reset", reset_breaker)
    return web_app


async def start_web(tw: "Tradewatch") -> web.AppRunner:
    runner = web.AppRunner(build_web_app(tw), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, tw.config.metrics_host, tw.config.metrics_port)
    await site.start()
    return runner
