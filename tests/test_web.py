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
