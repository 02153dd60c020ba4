"""Who may reopen enforcement: the breaker reset takes the admin token, or a loopback caller."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from streams.config import ConfigError, load_config
from streams.web import reset_refused

TOKEN = "s3cret-token-0123456789"


def request(remote: str, authorization: str | None = None):
    headers = {"Authorization": authorization} if authorization else {}
    made = make_mocked_request("POST", "/circuit-breaker/reset", headers=headers)
    made._transport_peername = (remote, 40000)
    return made.clone(remote=remote)


def test_without_a_token_only_loopback_callers_may_reset():
    assert reset_refused(request("127.0.0.1"), None) is None
    assert reset_refused(request("::1"), None) is None
    status, reason = reset_refused(request("10.2.3.4"), None)
    assert status == 403 and "TRADEWATCH_ADMIN_TOKEN_FILE" in reason


def test_with_a_token_every_caller_needs_it_loopback_too():
    assert reset_refused(request("10.2.3.4", f"Bearer {TOKEN}"), TOKEN) is None
    for given in (None, "Bearer wrong", f"Bearer {TOKEN}x", TOKEN):
        assert reset_refused(request("127.0.0.1", given), TOKEN)[0] == 401


def test_the_token_comes_from_a_file_and_a_bad_file_is_one_line(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    assert load_config({"TRADEWATCH_ADMIN_TOKEN_FILE": str(path)}).admin_token == TOKEN
    with pytest.raises(ConfigError, match="TRADEWATCH_ADMIN_TOKEN_FILE=.*missing"):
        load_config({"TRADEWATCH_ADMIN_TOKEN_FILE": str(tmp_path / "missing")})
    (tmp_path / "short").write_text("abc")
    with pytest.raises(ConfigError, match="at least 16"):
        load_config({"TRADEWATCH_ADMIN_TOKEN_FILE": str(tmp_path / "short")})


def test_connections_over_the_cap_are_closed_at_once_and_silent_ones_time_out():
    import asyncio

    from aiohttp import web

    from streams.web import serve

    async def healthz(_request):
        return web.json_response({"status": "ok"})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_get("/healthz", healthz)
        runner, server = await serve(app, "127.0.0.1", 0, max_connections=3, keepalive_s=2.0)
        port = server.sockets[0].getsockname()[1]
        try:
            held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]  # send nothing
            await asyncio.sleep(0)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            # over the cap: closed unanswered, well before the keep-alive time would
            assert await asyncio.wait_for(reader.read(), 1.0) == b""
            writer.close()
            for held_reader, _ in held:  # a silent connection is closed after the keep-alive time
                assert await asyncio.wait_for(held_reader.read(), 10) == b""
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            assert answer.startswith(b"HTTP/1.1 200") and b'"ok"' in answer
            writer.close()
        finally:
            server.close()
            await runner.cleanup()

    asyncio.run(scenario())


def test_the_partition_view_is_an_operators_and_shows_where_each_consumer_stands():
    import asyncio
    from types import SimpleNamespace

    from aiohttp.test_utils import TestClient, TestServer
    from faust.types import TP

    from streams.web import build_web_app

    tp = TP("tw-subject-inputs", 3)

    class FakeConsumer:  # Faust's consumer state, as tests/test_faust_characterisation.py pins it
        _acked = {tp: [41, 42]}
        _committed_offset = {tp: 40}
        _paused_partitions: set = set()

        def assignment(self):
            return {tp}

        def highwater(self, _tp):
            return 45

        async def position(self, _tp):
            return 43

    tw = SimpleNamespace(app=SimpleNamespace(consumer=FakeConsumer()), intake=None,
                         config=SimpleNamespace(admin_token=TOKEN), publisher=None)

    async def scenario():
        async with TestClient(TestServer(build_web_app(tw))) as client:
            refused = await client.get("/debug/partitions")
            assert refused.status == 401  # a token is configured: every caller needs it
            assert "the partition view needs Authorization" in (await refused.json())["error"]
            response = await client.get("/debug/partitions", headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status == 200
            return await response.json()

    view = asyncio.run(scenario())
    assert view == {"decide": [{"topic": "tw-subject-inputs", "partition": 3, "position": 43, "highwater": 45,
                                "committed": 41, "lowest_acked": 41, "paused": False}], "intake": []}
