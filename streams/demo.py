"""``tradewatch demo``: the whole system on a local Kafka, with simulated traffic.

Starts the local Apache Kafka (unless ``--broker`` is given), creates the topics, starts a
worker process, plays a few simulated accounts — platforms that trade, a fraud platform, one
that proves its licence, a news account and a licensed platform — and prints every
enforcement action as it arrives. Ctrl-C or the end of the traffic shuts everything down.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from streams import topics
from streams.core.actions import STRENGTH
from streams.core.timefmt import format_time, parse_time
from streams.display import pad

DEMO_ARCHETYPES = (
    "open_market",
    "consignment_c2c",
    "disguised_trading",
    "crypto_settled",
    "fraud_platform",
    "licensed_in_time",
    "news_regulator",
    "licensed_primary",
)
STRONGEST = {0: "none", 1: "reminder", 2: "suspend"}
BOLD, DIM, RED, YELLOW, GREEN, RESET = "\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[32m", "\033[0m"
COLOURS = {"suspend": RED, "qualification_reminder": YELLOW, "case_closed": GREEN, "review": YELLOW, "reinstate": GREEN}


def _subject_of(record: dict[str, Any]) -> str:
    value = record["value"]
    return value.get("owner_account_id") or value.get("account_id")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def pick_accounts(labels: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    chosen: dict[str, dict[str, Any]] = {}
    for archetype in DEMO_ARCHETYPES:
        for label in labels:
            if label["archetype"] == archetype:
                chosen[label["account_id"]] = label
                break
    return chosen


def run_demo(seed: int = 11, speed: float = 400.0, broker: str | None = None) -> int:
    from streams.localkafka import LocalKafka
    from streams.offline.simulate import simulate

    workdir = Path.cwd() / ".kafka-data" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    kafka = None
    worker: subprocess.Popen | None = None
    color = sys.stdout.isatty()
    try:
        if broker is None:
            print("starting local Apache Kafka (first run downloads its jars from Maven Central) ...", flush=True)
            kafka = LocalKafka(workdir / "kafka")
            broker = kafka.start()
        print(f"broker {broker}", flush=True)
        port = _free_port()
        env = dict(os.environ)
        env.update(
            {
                "TRADEWATCH_BROKER": broker,
                "TRADEWATCH_APP_ID": "tradewatch-demo",
                "TRADEWATCH_PARTITIONS": "4",
                "TRADEWATCH_METRICS_ADDR": f"127.0.0.1:{port}",
                "TRADEWATCH_DATA_DIR": str(workdir / "worker"),
                # simulated days are played in seconds: event time alone drives deadlines
                "TRADEWATCH_IDLE_PARTITION_SECONDS": "2",
            }
        )
        subprocess.run([sys.executable, "-m", "streams.cli", "topics"], env=env, check=True)
        log_path = workdir / "worker.log"
        with open(log_path, "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        print(f"worker started (log: {log_path}, metrics: http://127.0.0.1:{port}/metrics); waiting until ready ...", flush=True)
        deadline = time.monotonic() + 120
        while not _ready(f"http://127.0.0.1:{port}"):
            if worker.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
                print("tradewatch demo: the worker did not become ready", file=sys.stderr)
                return 1
            time.sleep(0.5)

        days = 7.0
        simulation = simulate(seed=seed, accounts=60, days=days, start=time.time() - (days + 0.5) * 86400)
        chosen = pick_accounts(simulation.labels)
        records = [r for r in simulation.records if _subject_of(r) in chosen]
        names: dict[str, str] = {}
        for record in records:
            if record["topic"] == topics.POSTS and record["value"].get("account_name"):
                names.setdefault(_subject_of(record), record["value"]["account_name"])
        print(f"\nplaying {len(records)} messages of {days:g} simulated days for {len(chosen)} accounts:")
        for account, label in chosen.items():
            print(f"  {account}  {pad(names.get(account, ''), 24)} {label['archetype']:20} expected: {label['expected']}")
        print()
        strongest = asyncio.run(_play_and_watch(broker, records, speed, names, f"http://127.0.0.1:{port}", color))
        print(f"\n{BOLD if color else ''}summary{RESET if color else ''}")
        ok = True
        for account, label in chosen.items():
            got = STRONGEST[strongest.get(account, 0)]
            mark = "ok" if got == label["expected"] else "DIFFERS"
            ok &= got == label["expected"]
            print(f"  {account}  {pad(names.get(account, ''), 24)} {label['archetype']:20} expected {label['expected']:9} got {got:9} {mark}")
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("\ninterrupted; shutting down", flush=True)
        return 130
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        if kafka is not None:
            kafka.stop()


async def _play_and_watch(
    broker: str, records: list[dict[str, Any]], speed: float, names: dict[str, str], url: str, color: bool
) -> dict[str, int]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    strongest: dict[str, int] = defaultdict(int)
    consumer = AIOKafkaConsumer(topics.ACTIONS, topics.SHADOW, bootstrap_servers=broker, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    producer = AIOKafkaProducer(bootstrap_servers=broker, linger_ms=5)
    await consumer.start()
    await producer.start()
    last_action = [time.monotonic()]

    async def watch() -> None:
        async for message in consumer:
            action = orjson.loads(message.value)
            last_action[0] = time.monotonic()
            account = action["account_id"]
            strongest[account] = max(strongest[account], STRENGTH[action["action"]])
            print(_describe(action, names.get(account, ""), color), flush=True)

    watcher = asyncio.create_task(watch())
    try:
        interval = 1.0 / speed if speed > 0 else 0.0
        started = time.monotonic()
        for index, record in enumerate(records):
            value = orjson.dumps(record["value"])
            await producer.send(record["topic"], value, key=record["key"].encode())
            if interval and index % 20 == 0:
                ahead = started + index * interval - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await producer.flush()
        # wait until the worker has taken in everything, then for the last actions to land
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _consumed(url) < len(records):
            await asyncio.sleep(0.5)
        while time.monotonic() - last_action[0] < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    finally:
        watcher.cancel()
        await producer.stop()
        await consumer.stop()
    return strongest


def _consumed(url: str) -> float:
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=2) as response:
            body = response.read().decode()
    except OSError:
        return 0.0
    return sum(
        float(line.rpartition(" ")[2])
        for line in body.splitlines()
        if line.startswith("tradewatch_events_consumed_total{")
    )


def _describe(action: dict[str, Any], name: str, color: bool) -> str:
    kind = action["action"]
    paint = COLOURS.get(kind, "") if color else ""
    reset = RESET if color else ""
    subject = action["subject"]
    who = f"{subject['kind']} {subject['id']}"
    if subject["kind"] == "mini_program":
        who += f" (of {action['account_id']})"
    reasons = ", ".join(f"{r['code']}×{r['count']}" for r in action["reasons"][:5])
    line = (
        f"{action['event_time'][:16]}  {paint}{kind.upper():22}{reset} {who} {name}\n"
        f"{'':18}trading {action['trading_score']:.2f}  fraud {action['fraud_score']:.2f}  "
        f"mode {action['mode']}  case {action['case_id']}\n{'':18}because: {reasons}"
    )
    if action.get("deadline"):
        line += f"\n{'':18}certificate due by {action['deadline']}"
    return line


__all__ = ["run_demo", "format_time", "parse_time"]
