"""Configuration fails fast, naming the variable and what is allowed."""

from __future__ import annotations

import sys

import pytest

from streams.config import ConfigError, load_config


def test_defaults_load_and_bind_metrics_to_loopback():
    config = load_config({})
    assert config.metrics_host == "127.0.0.1"
    assert config.bootstrap_servers == "127.0.0.1:9092"
    assert config.policy.mode == "enforce"


@pytest.mark.parametrize(
    "variable, value",
    [
        ("TRADEWATCH_BROKER", "no-port"),
        ("TRADEWATCH_PARTITIONS", "0"),
        ("TRADEWATCH_PARTITIONS", "eight"),
        ("TRADEWATCH_STORE", "redis://"),
        ("TRADEWATCH_METRICS_ADDR", "127.0.0.1:99999"),
        ("TRADEWATCH_MODE", "loud"),
        ("TRADEWATCH_ALLOWED_LATENESS_SECONDS", "-1"),
        ("TRADEWATCH_IDLE_PARTITION_SECONDS", "x"),
        ("TRADEWATCH_WATERMARK_INTERVAL_SECONDS", "0"),
        ("TRADEWATCH_APP_ID", "has spaces"),
        ("TRADEWATCH_POLICY", "/nonexistent/policy.toml"),
        ("TRADEWATCH_SESSION_TIMEOUT_SECONDS", "1"),
        ("TRADEWATCH_EVENT_LOOP", "trio"),
    ],
)
def test_bad_setting_names_the_variable(variable, value):
    with pytest.raises(ConfigError) as error:
        load_config({variable: value})
    assert variable in str(error.value)


def test_uvloop_by_default_and_a_missing_uvloop_says_how_to_fix_it(monkeypatch):
    assert load_config({}).event_loop == "uvloop"
    assert load_config({"TRADEWATCH_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what an install without uvloop looks like
    with pytest.raises(ConfigError, match="TRADEWATCH_EVENT_LOOP=uvloop.*TRADEWATCH_EVENT_LOOP=asyncio"):
        load_config({})
    assert load_config({"TRADEWATCH_EVENT_LOOP": "asyncio"}).event_loop == "asyncio"


def test_mode_override_and_multiple_brokers():
    config = load_config({"TRADEWATCH_MODE": "shadow", "TRADEWATCH_BROKER": "kafka://a:9092,b:9093"})
    assert config.policy.mode == "shadow"
    assert config.bootstrap_servers == "a:9092,b:9093"
    assert config.faust_broker == "kafka://a:9092;kafka://b:9093"


def test_worker_command_reports_bad_configuration(capsys):
    from streams.cli import main

    assert main(["worker", "--broker", "nonsense"]) == 2
    assert "TRADEWATCH_BROKER" in capsys.readouterr().err


def test_required_signing_refuses_an_enforcing_worker_without_keys():
    with pytest.raises(ConfigError, match="TRADEWATCH_REQUIRE_SIGNING=1: a worker in enforce mode needs signing keys"):
        load_config({"TRADEWATCH_REQUIRE_SIGNING": "1"})
    # shadow mode sends nothing to enforcement; keys make it start
    assert load_config({"TRADEWATCH_REQUIRE_SIGNING": "1", "TRADEWATCH_MODE": "shadow"}).signing is None
    keyed = load_config({"TRADEWATCH_REQUIRE_SIGNING": "1",
                         "TRADEWATCH_SIGNING_KEYS": "k1:hmac:" + "A" * 43 + "="})
    assert keyed.signing is not None
    assert load_config({}).signing is None  # not required: starts (and warns)
