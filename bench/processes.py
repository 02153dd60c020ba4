"""Child processes of the benchmark: the contenders and tradewatch workers, each in its own session.

Everything is stopped by its own process-group id (SIGTERM, then SIGKILL after a grace
period), never by name.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout_s: float, what: str, interval_s: float = 0.2) -> object:
    """Poll ``condition`` until it is truthy; TimeoutError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


class Child:
    """A Python module run as a subprocess in its own session, logging to a file."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.log_path = log_path
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.args], cwd=REPO, env=self.env or _env(), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{' '.join(self.args[:2])} exited with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace_s: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


BENCH_LATENESS_S = 0.1  # the allowed lateness of the bench's workers; see bench/README.md


def tradewatch_env(bootstrap: str, app_id: str, partitions: int, port: int, data_dir: Path,
                   lateness_s: float = BENCH_LATENESS_S) -> dict[str, str]:
    return _env(
        {
            "TRADEWATCH_BROKER": bootstrap,
            "TRADEWATCH_APP_ID": app_id,
            "TRADEWATCH_PARTITIONS": str(partitions),
            "TRADEWATCH_METRICS_ADDR": f"127.0.0.1:{port}",
            "TRADEWATCH_DATA_DIR": str(data_dir),
            "TRADEWATCH_IDLE_PARTITION_SECONDS": "2",
            "TRADEWATCH_ALLOWED_LATENESS_SECONDS": f"{lateness_s:g}",
            "TRADEWATCH_LOG_LEVEL": "warning",
        }
    )


def create_topics(bootstrap: str, partitions: int, workdir: Path) -> None:
    """``tradewatch topics``: every contract topic with ``partitions`` partitions."""
    env = tradewatch_env(bootstrap, "bench-topics", partitions, 0, workdir / "topics-data")
    subprocess.run([sys.executable, "-m", "streams.cli", "topics"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=120)


class TradewatchWorker(Child):
    """``tradewatch worker`` with its own app id (= consumer group) and /metrics port."""

    def __init__(self, bootstrap: str, app_id: str, partitions: int, workdir: Path,
                 lateness_s: float = BENCH_LATENESS_S) -> None:
        self.port = free_port()
        self.app_id = app_id
        env = tradewatch_env(bootstrap, app_id, partitions, self.port, workdir / f"data-{app_id}", lateness_s)
        super().__init__(["-m", "streams.cli", "worker"], workdir / f"{app_id}.log", env)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            return 0, b""

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        def ready() -> bool:
            self.check_alive()
            return self.get("/readyz")[0] == 200

        wait_until(ready, timeout_s, f"{self.app_id} readiness")

    def metrics_text(self) -> str:
        status, body = self.get("/metrics")
        return body.decode() if status == 200 else ""

    async def events_handled(self) -> float:
        """Inputs the worker has decided or dead-lettered (its consumed counter; 0 until it serves)."""
        return await asyncio.to_thread(self.metric, "tradewatch_events_consumed_total")

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels``."""
        return sum_samples(self.metrics_text(), name, **labels)


def sum_samples(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        metric_name, _, label_text = series.partition("{")
        if metric_name == name and all(f'{key}="{val}"' in label_text for key, val in labels.items()):
            total += float(value)
    return total


def histogram_quantile(text: str, name: str, quantile: float) -> float | None:
    """Prometheus-style quantile (linear within a bucket) of a histogram summed over labels."""
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if not line.startswith(name + "_bucket{"):
            continue
        series, _, value = line.rpartition(" ")
        le = series.split('le="', 1)[1].split('"', 1)[0]
        bound = float("inf") if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + float(value)
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = quantile * total
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return bounds[-1]
