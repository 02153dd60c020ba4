"""The worker's HTTP surface: /metrics, /healthz, /readyz, the breaker and a debug view of
partition offsets — nothing else.

Faust's own web server is disabled because it serves table contents (account state) under
/table; this one binds to loopback unless TRADEWATCH_METRICS_ADDR says otherwise.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import faustcompat, metrics
from streams.core.breaker import DISPOSITIONS, RELEASE

if TYPE_CHECKING:
    from streams.app import Tradewatch

log = logging.getLogger("tradewatch")


def is_ready(tw: Tradewatch) -> bool:
    """Partitions assigned, tables recovered and the breaker's trips read: the worker can make decisions."""
    app = tw.app
    try:
        recovery_done = app.tables.recovery.completed.is_set()  # type: ignore[attr-defined]  # on TableManager, not TableManagerT
    except AttributeError:  # tables not started yet
        return False
    board_read = tw.board is None or tw.board.is_ready()  # every trip the group made is known
    return bool(app.consumer and not app.rebalancing and recovery_done and board_read)


LOOPBACK = {"127.0.0.1", "::1"}


def reset_refused(request: web.Request, token: str | None, what: str = "the breaker reset") -> tuple[int, str] | None:
    """Why an operator's request (``what``) is refused (status, reason), or None. Reopening
    enforcement after the breaker tripped is an operator's decision: with a token configured it
    takes the token, without one only a caller on the worker's own host (``kubectl
    port-forward``) may."""
    if token is not None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return 401, f"{what} needs Authorization: Bearer <the token of TRADEWATCH_ADMIN_TOKEN_FILE>"
        return None
    if request.remote not in LOOPBACK:
        return 403, f"{what} is accepted from loopback only (set TRADEWATCH_ADMIN_TOKEN_FILE to allow it remotely)"
    return None


def breaker_view(tw: Tradewatch) -> dict:
    trips = tw.publisher.breaker.open_trips()
    return {"circuit_breaker_open": bool(trips), "open": [trip.to_record() for trip in trips], "mode": tw.publisher.mode()}


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
        disposition = request.query.get("disposition", RELEASE)
        if disposition not in DISPOSITIONS:
            return web.json_response({"error": f"disposition must be one of {', '.join(DISPOSITIONS)}"}, status=400)
        scopes = request.query.getall("scope", []) or None
        by = f"{request.query.get('by', 'operator')[:64]} from {request.remote}"
        closed = await tw.publisher.close_trips(by, disposition, scopes)
        log.warning("circuit breaker reset by %s: %d trip(s) closed, held suspensions: %s",
                    by, len(closed), disposition)
        return web.json_response({"closed": [trip.to_record() for trip in closed], **breaker_view(tw)})

    async def breaker_status(_request: web.Request) -> web.Response:
        return web.json_response(breaker_view(tw))

    async def partitions(request: web.Request) -> web.Response:
        """Where each consumer stands per partition, to see a stall: the deciding consumer's
        position, log end, committed offset, lowest acknowledged offset and paused state, and
        intake's positions and commits. Offsets only, but an operator's view: same rule as
        the reset."""
        refused = reset_refused(request, tw.config.admin_token, "the partition view")
        if refused is not None:
            return web.json_response({"error": refused[1]}, status=refused[0])
        consumer = tw.app.consumer
        decide = await faustcompat.partitions_view(consumer) if consumer is not None else []
        intake = tw.intake.partitions_view() if tw.intake is not None else []
        return web.json_response({"decide": decide, "intake": intake})

    web_app = web.Application()
    web_app.router.add_get("/metrics", metrics_view)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/circuit-breaker", breaker_status)
    web_app.router.add_post("/circuit-breaker/reset", reset_breaker)
    web_app.router.add_get("/debug/partitions", partitions)
    return web_app


# A scrape, a probe and an operator's curl need a handful of connections. The cap keeps
# anyone who can reach the port from exhausting the worker's file descriptors (which once
# made /healthz time out, and a liveness probe would then restart a healthy worker); an idle
# or silent connection is closed after the keep-alive time.
MAX_CONNECTIONS = 64
KEEPALIVE_S = 10.0


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed at once, before anything is read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        metrics.HTTP_CONNECTIONS_REFUSED.inc()
        transport.close()


async def serve(web_app: web.Application, host: str, port: int, max_connections: int | None = None,
                keepalive_s: float | None = None) -> tuple[web.AppRunner, asyncio.AbstractServer]:
    """Serve ``web_app`` with at most ``max_connections`` open connections at a time."""
    cap = MAX_CONNECTIONS if max_connections is None else max_connections
    runner = web.AppRunner(web_app, access_log=None, handler_cancellation=True,
                           keepalive_timeout=KEEPALIVE_S if keepalive_s is None else keepalive_s)
    await runner.setup()
    handlers = runner.server
    assert handlers is not None  # set up just above

    def connection() -> asyncio.Protocol:
        return handlers() if len(handlers.connections) < cap else _Refused()

    server = await asyncio.get_running_loop().create_server(connection, host, port, reuse_address=True)
    return runner, server


async def start_web(tw: Tradewatch) -> web.AppRunner:
    runner, _ = await serve(build_web_app(tw), tw.config.metrics_host, tw.config.metrics_port)
    return runner
