"""The worker's HTTP surface: /metrics, /healthz, /readyz and the breaker reset — nothing else.

Faust's own web server is disabled because it serves table contents (account state) under
/table; this one binds to loopback unless TRADEWATCH_METRICS_ADDR says otherwise.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics

if TYPE_CHECKING:
    from streams.app import Tradewatch


def is_ready(tw: Tradewatch) -> bool:
    """Partitions assigned and tables recovered: the worker can make decisions."""
    app = tw.app
    try:
        recovery_done = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]  # on TableManager, not TableManagerT
    except AttributeError:  # tables not started yet
        return False
    return bool(app.consumer and not app.rebalancing and recovery_done)


LOOPBACK = {"127.0.0.1", "::1"}


def reset_refused(request: web.Request, token: str | None) -> tuple[int, str] | None:
    """Why a breaker reset is refused (status, reason), or None. Reopening enforcement after
    the breaker tripped is an operator's decision: with a token configured it takes the token,
    without one only a caller on the worker's own host (``kubectl port-forward``) may."""
    if token is not None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return 401, "the breaker reset needs Authorization: Bearer <the token of TRADEWATCH_ADMIN_TOKEN_FILE>"
        return None
    if request.remote not in LOOPBACK:
        return 403, "the breaker reset is accepted from loopback only (set TRADEWATCH_ADMIN_TOKEN_FILE to allow it remotely)"
    return None


def build_web_app(tw: Tradewatch) -> web.Application:
    async def metrics_view(_request: web.Request) -> web.Response:
        metrics.WORKER_READY.set(1 if is_ready(tw) else 0)
        body = generate_latest(metrics.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        ready = is_ready(tw)
        metrics.WORKER_READY.set(1 if ready else 0)
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def reset_breaker(request: web.Request) -> web.Response:
        refused = reset_refused(request, tw.config.admin_token)
        if refused is not None:
            return web.json_response({"error": refused[1]}, status=refused[0])
        tw.publisher.reset_breaker()
        return web.json_response({"circuit_breaker_open": False, "mode": tw.publisher.mode()})

    async def breaker_status(_request: web.Request) -> web.Response:
        breaker = tw.publisher.breaker
        return web.json_response({"circuit_breaker_open": breaker.open, "opened_at": breaker.opened_at, "mode": tw.publisher.mode()})

    web_app = web.Application()
    web_app.router.add_get("/metrics", metrics_view)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/circuit-breaker", breaker_status)
    web_app.router.add_post("/circuit-breaker/reset", reset_breaker)
    return web_app


async def start_web(tw: Tradewatch) -> web.AppRunner:
    runner = web.AppRunner(build_web_app(tw), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, tw.config.metrics_host, tw.config.metrics_port)
    await site.start()
    return runner
