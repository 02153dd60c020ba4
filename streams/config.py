"""The one configuration object: ``TRADEWATCH_*`` environment variables, checked at start.

Every setting is declared once in ``SETTINGS`` (name, default, meaning); the table in
docs/reference.md is written from the same list. A bad value stops the process at start
with the variable's name and what is allowed, instead of failing later inside Kafka code.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from streams.core.policy import MODES, Policy, PolicyError, load_policy
from streams.security import SECURITY_SETTINGS, KafkaSecurity, SecurityConfigError
from streams.signing import SIGNING_SETTINGS, SigningConfigError, SigningKeys


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS = (
    Setting("TRADEWATCH_BROKER", "kafka://127.0.0.1:9092", "Kafka bootstrap servers, comma-separated host:port (kafka:// prefix optional)"),
    Setting("TRADEWATCH_APP_ID", "tradewatch", "Faust app id = consumer group and prefix of internal topics"),
    Setting("TRADEWATCH_PARTITIONS", "8", "partitions of every topic tradewatch creates; upper bound on useful workers"),
    Setting("TRADEWATCH_REPLICATION", "1", "replication factor of topics tradewatch creates"),
    Setting("TRADEWATCH_STORE", "memory://", "table store: memory:// (state rebuilt from the changelog on start) or rocksdb:// (needs rocksdict)"),
    Setting("TRADEWATCH_DATA_DIR", ".tradewatch-data", "directory for table state (RocksDB) and Faust's data"),
    Setting("TRADEWATCH_METRICS_ADDR", "127.0.0.1:9464", "host:port serving /metrics, /healthz and /readyz (loopback by default)"),
    Setting("TRADEWATCH_ADMIN_TOKEN_FILE", "", "file holding the bearer token that POST /circuit-breaker/reset requires (a mounted Secret); empty = the reset is accepted from loopback only (kubectl port-forward)"),
    Setting("TRADEWATCH_LOG_FORMAT", "text", "text (Faust's lines) or json (one JSON object per line: time, level, logger, pid, message)"),
    Setting("TRADEWATCH_POLICY", "", "path to a policy TOML file; empty = the shipped default"),
    Setting("TRADEWATCH_MODE", "", "override the policy's mode: enforce or shadow; empty = as the policy says"),
    Setting("TRADEWATCH_REQUIRE_SIGNING", "0", "1: a worker in enforce mode refuses to start without signing keys (the Kubernetes deployment sets it); 0: it starts and warns that its actions go out unsigned"),
    Setting("TRADEWATCH_ALLOWED_LATENESS_SECONDS", "1", "how long after its event time an input may reach Kafka and still be decided in event-time order; the watermark of a caught-up input trails the wall clock by this (decisions wait this long)"),
    Setting("TRADEWATCH_IDLE_PARTITION_SECONDS", "30", "an input partition with nothing new to read for this long follows the wall clock; until then one that last delivered old events (a backfill) holds the watermark"),
    Setting("TRADEWATCH_WATERMARK_INTERVAL_SECONDS", "0.25", "how often intake publishes the watermark while no input arrives"),
    Setting("TRADEWATCH_MAX_FUTURE_SKEW_SECONDS", "600", "inputs timed further than this ahead of the wall clock are rejected (they would move clocks)"),
    Setting("TRADEWATCH_MAX_MESSAGE_BYTES", "1048576", "larger input messages go to the dead-letter topic unparsed"),
    Setting("TRADEWATCH_MAX_JSON_DEPTH", "32", "deeper JSON nesting goes to the dead-letter topic unparsed"),
    Setting("TRADEWATCH_CONNECT_TIMEOUT_SECONDS", "120", "how long a starting worker keeps trying to reach Kafka and find its topics (each try at most 10 s, then waits 1, 2, 4 … up to 30 s) before it exits with one line saying why"),
    Setting("TRADEWATCH_SESSION_TIMEOUT_SECONDS", "30", "a worker silent this long (e.g. killed) loses its partitions to the others"),
    Setting("TRADEWATCH_BATCH_MAX", "1000", "inputs re-keyed together in one batch (one bundle per internal partition); 1 = no batching"),
    Setting("TRADEWATCH_BATCH_WAIT_MS", "50", "a batch that was not full starts the next no sooner than this after it began, so a trickle of inputs is still read in batches (every batch costs each internal partition a record); adds at most this to event-to-action latency"),
    Setting("TRADEWATCH_LAG_INTERVAL_SECONDS", "15", "how often consumer lag is measured for the metric"),
    Setting("TRADEWATCH_EVENT_LOOP", "uvloop", "the worker's event loop: uvloop (~13 % more events/s measured, bench/PROFILE.md) or asyncio (the standard library's)"),
    Setting("TRADEWATCH_LOG_LEVEL", "info", "debug, info, warning or error"),
    *(Setting(*row) for row in SECURITY_SETTINGS),
    *(Setting(*row) for row in SIGNING_SETTINGS),
)


@dataclass(frozen=True)
class Config:
    broker: str
    app_id: str
    partitions: int
    replication: int
    store: str
    data_dir: Path
    metrics_host: str
    metrics_port: int
    policy: Policy
    allowed_lateness_s: float
    idle_partition_s: float
    watermark_interval_s: float
    max_future_skew_s: float
    max_message_bytes: int
    max_json_depth: int
    lag_interval_s: float
    session_timeout_s: float
    connect_timeout_s: float  # a starting worker retries reaching Kafka for this long
    log_level: str
    log_format: str
    event_loop: str
    batch_max: int
    batch_wait_s: float
    security: KafkaSecurity = KafkaSecurity()
    signing: SigningKeys | None = None
    reviewers: SigningKeys | None = None  # whose signed appeals count
    admin_token: str | None = None  # required by the breaker reset; None: loopback callers only

    @property
    def bootstrap_servers(self) -> str:
        """host:port list without the kafka:// scheme (for aiokafka)."""
        return ",".join(server.split("://", 1)[-1] for server in self.broker.split(","))

    @property
    def faust_broker(self) -> str:
        return ";".join(f"kafka://{server}" for server in self.bootstrap_servers.split(","))


def load_config(env: Mapping[str, str] | None = None, **overrides: str) -> Config:
    """Read and check every setting. ``overrides`` (by env name) come from command-line flags."""
    source = dict(os.environ if env is None else env)
    source.update({key: value for key, value in overrides.items() if value is not None})
    values = {s.env: source.get(s.env, s.default).strip() for s in SETTINGS}

    def get(name: str, parse: Callable[[str], object], allowed: str):
        raw = values[name]
        try:
            return parse(raw)
        except (ValueError, TypeError):
            raise ConfigError(f"{name}={raw!r} is not allowed: {allowed}") from None

    broker = get("TRADEWATCH_BROKER", _broker, "comma-separated host:port, e.g. kafka://127.0.0.1:9092")
    app_id = get("TRADEWATCH_APP_ID", _pattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}"), "letters, digits, . _ - (starting with a letter or digit)")
    partitions = get("TRADEWATCH_PARTITIONS", _int_between(1, 1024), "an integer 1..1024")
    replication = get("TRADEWATCH_REPLICATION", _int_between(1, 16), "an integer 1..16")
    store = get("TRADEWATCH_STORE", _one_of("memory://", "rocksdb://"), "memory:// or rocksdb://")
    host, port = get("TRADEWATCH_METRICS_ADDR", _host_port, "host:port with port 0..65535, e.g. 127.0.0.1:9464")
    lateness = get("TRADEWATCH_ALLOWED_LATENESS_SECONDS", _float_between(0, 7 * 86400), "seconds 0..604800")
    idle = get("TRADEWATCH_IDLE_PARTITION_SECONDS", _float_between(0, 86400), "seconds 0..86400")
    watermark_interval = get("TRADEWATCH_WATERMARK_INTERVAL_SECONDS", _float_between(0.01, 60), "seconds 0.01..60")
    skew = get("TRADEWATCH_MAX_FUTURE_SKEW_SECONDS", _float_between(0, 7 * 86400), "seconds 0..604800")
    max_bytes = get("TRADEWATCH_MAX_MESSAGE_BYTES", _int_between(1024, 64 * 1024 * 1024), "an integer 1024..67108864")
    max_depth = get("TRADEWATCH_MAX_JSON_DEPTH", _int_between(2, 512), "an integer 2..512")
    batch_max = get("TRADEWATCH_BATCH_MAX", _int_between(1, 100_000), "an integer 1..100000")
    batch_wait_ms = get("TRADEWATCH_BATCH_WAIT_MS", _float_between(0.1, 1000), "milliseconds 0.1..1000")
    lag_interval = get("TRADEWATCH_LAG_INTERVAL_SECONDS", _float_between(1, 3600), "seconds 1..3600")
    connect_timeout = get("TRADEWATCH_CONNECT_TIMEOUT_SECONDS", _float_between(0, 86400), "seconds 0..86400")
    session_timeout = get("TRADEWATCH_SESSION_TIMEOUT_SECONDS", _float_between(6, 1800), "seconds 6..1800 (the broker's group.min.session.timeout.ms is 6 s by default)")
    log_format = get("TRADEWATCH_LOG_FORMAT", _one_of("text", "json"), "text or json")
    log_level = get("TRADEWATCH_LOG_LEVEL", _one_of("debug", "info", "warning", "error"), "debug, info, warning or error")
    event_loop = get("TRADEWATCH_EVENT_LOOP", _one_of("uvloop", "asyncio"), "uvloop or asyncio")
    mode = get("TRADEWATCH_MODE", _one_of("", *MODES), "enforce, shadow or empty")
    require_signing = get("TRADEWATCH_REQUIRE_SIGNING", _one_of("0", "1"), "0 or 1") == "1"
    if store == "rocksdb://":
        _require("rocksdict", "TRADEWATCH_STORE=rocksdb:// needs the rocksdict package: pip install 'tradewatch[rocksdb]'")
    if event_loop == "uvloop":
        _require("uvloop", "TRADEWATCH_EVENT_LOOP=uvloop needs the uvloop package (not available on Windows): "
                           "pip install uvloop, or set TRADEWATCH_EVENT_LOOP=asyncio")
    try:
        policy = load_policy(values["TRADEWATCH_POLICY"] or None)
        if mode:
            policy = policy.with_mode(mode)
    except PolicyError as exc:
        raise ConfigError(f"TRADEWATCH_POLICY: {exc}") from None
    admin_token = _admin_token(values["TRADEWATCH_ADMIN_TOKEN_FILE"])
    try:
        security = KafkaSecurity.from_env(source)
        signing = SigningKeys.from_env(source)
        reviewers = SigningKeys.reviewers_from_env(source)
    except (SecurityConfigError, SigningConfigError) as exc:
        raise ConfigError(str(exc)) from None
    if require_signing and policy.mode == "enforce" and signing is None:
        raise ConfigError("TRADEWATCH_REQUIRE_SIGNING=1: a worker in enforce mode needs signing keys "
                          "(TRADEWATCH_SIGNING_KEYS or TRADEWATCH_SIGNING_KEYS_DIR); none are configured")
    return Config(
        broker=broker,
        app_id=app_id,
        partitions=partitions,
        replication=replication,
        store=store,
        data_dir=Path(values["TRADEWATCH_DATA_DIR"] or ".tradewatch-data"),
        metrics_host=host,
        metrics_port=port,
        policy=policy,
        allowed_lateness_s=lateness,
        idle_partition_s=idle,
        watermark_interval_s=watermark_interval,
        max_future_skew_s=skew,
        max_message_bytes=max_bytes,
        max_json_depth=max_depth,
        lag_interval_s=lag_interval,
        session_timeout_s=session_timeout,
        connect_timeout_s=connect_timeout,
        log_level=log_level,
        log_format=log_format,
        event_loop=event_loop,
        batch_max=batch_max,
        batch_wait_s=batch_wait_ms / 1000,
        security=security,
        signing=signing,
        reviewers=reviewers,
        admin_token=admin_token,
    )


def _admin_token(path: str) -> str | None:
    if not path:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"TRADEWATCH_ADMIN_TOKEN_FILE={path}: {error.strerror or error}") from None
    if len(token) < 16:
        raise ConfigError(f"TRADEWATCH_ADMIN_TOKEN_FILE={path}: the token must have at least 16 characters")
    return token


def _require(module: str, message: str) -> None:
    """A setting's value needs an optional package: fail at start if it is not installed."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigError(message) from None


def _broker(raw: str) -> str:
    servers = [part.strip() for part in raw.split(",") if part.strip()]
    if not servers:
        raise ValueError(raw)
    for server in servers:
        _host_port(server.split("://", 1)[-1])
    return ",".join(servers)


def _host_port(raw: str) -> tuple[str, int]:
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(raw)
    return host.strip("[]"), int(port)


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def _one_of(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in allowed:
            raise ValueError(raw)
        return raw.lower()

    return parse


def _pattern(regex: str) -> Callable[[str], str]:
    compiled = re.compile(regex)

    def parse(raw: str) -> str:
        if not compiled.fullmatch(raw):
            raise ValueError(raw)
        return raw

    return parse
