"""``python -m bench``: one local Kafka, three contenders on the same backlog, latency, replay, memory.

Phases, in order (each bounded in time; every server on 127.0.0.1):

1. prefill posts.v1, miniprogram.events.v1, qualifications.v1 with N simulated messages;
2. drain that backlog with (a) a raw aiokafka loop, (b) a bare Faust pass-through agent,
   (c) a tradewatch worker — one after the other, each with its own consumer group;
3. ``tradewatch replay`` over the same N records, in-process (the detection core alone);
4. a fresh tradewatch worker gets background traffic at half of (c)'s rate to warm up, then
   probe traffic mixed into it at the same rate: event-to-action latency;
5. the same worker gets one post each from K fresh accounts: RSS growth per account.

Results go to bench/results/latest.json (and a table on stdout).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import kafkaio, traffic
from bench.latency import LatencyResult, offer
from bench.processes import Child, TradewatchWorker, create_topics, histogram_quantile, sum_samples, wait_until
from bench.procmem import peak_rss_bytes, rss_bytes
from streams import topics
from streams.intake import intake_group
from streams.localkafka import KAFKA_VERSION, LocalKafka

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCH_INPUT_TOPICS = (topics.POSTS, topics.MINI_PROGRAM_EVENTS, topics.QUALIFICATIONS)
RAW_OUT = "bench.raw.out"
FAUST_OUT = "bench.faust.out"
GOALS = {  # the project's targets; reported, never enforced here. Rates as same-run ratios: the
    # machine's speed varies several-fold from day to day, a ratio much less
    "tradewatch_vs_faust": (">=", 0.85),
    "latency_p99_s": ("<=", 0.25),
    "replay_vs_raw": (">=", 2.0),
    "bytes_per_account": ("<=", 4096),
}


@dataclass(frozen=True)
class Sizes:
    messages: int
    partitions: int
    latency_seconds: float
    quiet_accounts: int
    warmup_seconds: float
    probe_share: float = 0.1

    @property
    def drain_timeout_s(self) -> float:
        return 60 + self.messages / 200


QUICK = Sizes(messages=20_000, partitions=4, latency_seconds=10, quiet_accounts=20_000, warmup_seconds=5)
FULL = Sizes(messages=200_000, partitions=8, latency_seconds=30, quiet_accounts=100_000, warmup_seconds=10)


def parse_args(argv: list[str] | None) -> tuple[Sizes, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (N=20,000, 4 partitions; < 3 min on 2 cores)")
    parser.add_argument("--messages", type=int, help="N prefilled messages (default 20,000 quick / 200,000 full)")
    parser.add_argument("--partitions", type=int, help="partitions of every topic (default 4 quick / 8 full)")
    parser.add_argument("--latency-seconds", type=float, help="duration of the offered-load phase (10 quick / 30 full)")
    parser.add_argument("--warmup-seconds", type=float,
                        help="background traffic at the offered rate before latency is measured (5 quick / 10 full; 0: none)")
    parser.add_argument("--quiet-accounts", type=int, help="K fresh quiet accounts for the memory phase (20,000 / 100,000)")
    parser.add_argument("--probe-share", type=float, default=0.1,
                        help="share of the offered load that is latency probes (the rest is simulated background; default 0.1)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json", help="results JSON (default bench/results/latest.json)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (broker data, worker logs)")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        messages=args.messages or base.messages,
        partitions=args.partitions or base.partitions,
        latency_seconds=args.latency_seconds or base.latency_seconds,
        quiet_accounts=args.quiet_accounts or base.quiet_accounts,
        warmup_seconds=base.warmup_seconds if args.warmup_seconds is None else args.warmup_seconds,
        probe_share=args.probe_share,
    )
    if sizes.messages < 100 or sizes.partitions < 1 or sizes.latency_seconds <= 0 or sizes.quiet_accounts < 100 \
            or not 0 < sizes.probe_share <= 1 or sizes.warmup_seconds < 0:
        parser.error("need --messages >= 100, --partitions >= 1, --latency-seconds > 0, --quiet-accounts >= 100, "
                     "0 < --probe-share <= 1, --warmup-seconds >= 0")
    return sizes, args


def main(argv: list[str] | None = None) -> int:
    sizes, args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="tradewatch-bench-"))
    say(f"bench: N={sizes.messages:,} messages, {sizes.partitions} partitions, "
        f"latency phase {sizes.latency_seconds:g} s after {sizes.warmup_seconds:g} s warm-up, {sizes.quiet_accounts:,} quiet accounts ({'quick' if args.quick else 'full'})")
    kafka = LocalKafka(workdir / "kafka")
    started = time.monotonic()
    try:
        bootstrap = kafka.start()
        say(f"bench: local Kafka on {bootstrap} (workdir {workdir})")
        results = run_all(bootstrap, sizes, workdir)
    finally:
        kafka.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    results.update(mode="quick" if args.quick else "full", total_seconds=round(time.monotonic() - started, 1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(render_table(results))
    say(f"bench: wrote {args.out}")
    return 0


def run_all(bootstrap: str, sizes: Sizes, workdir: Path) -> dict[str, Any]:
    n, partitions = sizes.messages, sizes.partitions
    phases: dict[str, float] = {}
    clock = time.monotonic()

    create_topics(bootstrap, partitions, workdir)
    asyncio.run(kafkaio.create_topics(bootstrap, [RAW_OUT, FAUST_OUT], partitions))
    records = traffic.prefill_records(n)
    asyncio.run(kafkaio.produce_all(bootstrap, traffic.to_messages(records)))
    phases["prefill"], clock = time.monotonic() - clock, time.monotonic()
    say(f"bench: prefilled {n:,} messages ({phases['prefill']:.1f} s)")

    input_set = set(BENCH_INPUT_TOPICS)
    def drain_with(module_args: list[str], group: str, log_name: str):
        """Run one contender over the pre-filled inputs until its group committed them all."""
        child = Child(["-m", *module_args, *BENCH_INPUT_TOPICS], workdir / log_name).start()
        try:
            return asyncio.run(kafkaio.watch_drain(bootstrap, group, input_set, kafkaio.CommittedReaches(n),
                                                   sizes.drain_timeout_s, child.check_alive))
        finally:
            child.stop()

    raw_drain = drain_with(["bench.raw_loop", "--bootstrap", bootstrap, "--group", "bench-raw", "--out", RAW_OUT,
                            "--max-seconds", str(sizes.drain_timeout_s + 60)], "bench-raw", "raw.log")
    phases["aiokafka_raw"], clock = time.monotonic() - clock, time.monotonic()
    say(f"bench: (a) raw aiokafka loop {raw_drain.eps:,.0f} events/s")

    faust_drain = drain_with(["bench.faust_passthrough", "--bootstrap", bootstrap, "--app-id", "bench-faust",
                              "--partitions", str(partitions), "--data-dir", str(workdir / "faust-data"),
                              "--out", FAUST_OUT], "bench-faust", "faust.log")
    phases["faust_passthrough"], clock = time.monotonic() - clock, time.monotonic()
    say(f"bench: (b) bare Faust pass-through {faust_drain.eps:,.0f} events/s")

    worker = TradewatchWorker(bootstrap, "bench-tw-throughput", partitions, workdir).start()
    internal = f"{worker.app_id}-{topics.SUBJECT_INPUTS}"
    try:
        done = kafkaio.TwoStageDone(bootstrap, worker.app_id, input_set, n, internal)
        tw_drain = asyncio.run(kafkaio.watch_drain(bootstrap, worker.app_id, input_set, done,
                                                   sizes.drain_timeout_s, worker.check_alive, worker.events_handled))
        throughput_metrics = worker.metrics_text()
        throughput_peak_rss = peak_rss_bytes(worker.pid)
    finally:
        worker.stop()
    consumed = sum_samples(throughput_metrics, "tradewatch_events_consumed_total")
    phases["tradewatch"], clock = time.monotonic() - clock, time.monotonic()
    say(f"bench: (c) tradewatch worker {tw_drain.eps:,.0f} events/s ({consumed:,.0f} consumed per its metrics)")

    replay_eps, replay_actions = measure_replay(records, workdir)
    phases["replay"], clock = time.monotonic() - clock, time.monotonic()
    say(f"bench: replay {replay_eps:,.0f} events/s ({replay_actions} actions)")

    offered_eps = max(10.0, tw_drain.eps / 2)
    latency, latency_metrics, memory = latency_and_memory(bootstrap, sizes, workdir, offered_eps)
    phases["latency_and_memory"] = time.monotonic() - clock
    say(f"bench: latency p50 {fmt_s(latency.quantile(0.5))} p99 {fmt_s(latency.quantile(0.99))} "
        f"over {len(latency.latencies_s)} actions at {offered_eps:,.0f} events/s offered")

    results: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "messages": n,
        "partitions": partitions,
        "aiokafka_raw_eps": round(raw_drain.eps, 1),
        "faust_passthrough_eps": round(faust_drain.eps, 1),
        "tradewatch_eps": round(tw_drain.eps, 1),
        "tradewatch_vs_faust": ratio(tw_drain.eps, faust_drain.eps),
        "tradewatch_vs_raw": ratio(tw_drain.eps, raw_drain.eps),
        "drains_completed": {"aiokafka_raw": raw_drain.completed, "faust_passthrough": faust_drain.completed,
                             "tradewatch": tw_drain.completed},
        "tradewatch_events_consumed": consumed,
        "tradewatch_processing_decide_p50_s": histogram_quantile(
            _only(throughput_metrics, 'stage="decide"'), "tradewatch_event_processing_seconds", 0.5),
        "tradewatch_processing_intake_p50_s": histogram_quantile(
            _only(throughput_metrics, 'stage="intake"'), "tradewatch_event_processing_seconds", 0.5),
        "replay_eps": round(replay_eps, 1),
        "replay_vs_raw": ratio(replay_eps, raw_drain.eps),
        "replay_actions": replay_actions,
        "offered_eps": round(offered_eps, 1),
        "latency_messages_sent": latency.sent,
        "latency_warmup_seconds": sizes.warmup_seconds,
        "latency_complete": latency.complete,
        "latency_probe_share": sizes.probe_share,
        "latency_send_seconds": round(latency.send_seconds, 2),
        "latency_samples": len(latency.latencies_s),
        "latency_unmatched_actions": latency.unmatched_actions,
        "latency_p50_s": latency.quantile(0.5),
        "latency_p99_s": latency.quantile(0.99),
        "latency_max_s": max(latency.latencies_s) if latency.latencies_s else None,
        "latency_p50_first_third_s": latency.trend()[0],
        "latency_p50_last_third_s": latency.trend()[1],
        "latency_hist_p50_s": histogram_quantile(latency_metrics, "tradewatch_event_to_action_latency_seconds", 0.5),
        "latency_hist_p99_s": histogram_quantile(latency_metrics, "tradewatch_event_to_action_latency_seconds", 0.99),
        **memory,
        "peak_rss_bytes": max(throughput_peak_rss, memory["memory_worker_peak_rss_bytes"]),
        "throughput_worker_peak_rss_bytes": throughput_peak_rss,
        "phase_seconds": {name: round(seconds, 1) for name, seconds in phases.items()},
        "machine": machine_info(),
    }
    results["goals"] = {key: goal_met(results.get(key), op, target) for key, (op, target) in GOALS.items()}
    return results


def measure_replay(records: list[dict], workdir: Path) -> tuple[float, int]:
    """``tradewatch replay`` over the prefill, from a JSONL file: read + decode + sort + core."""
    from streams.core.policy import load_policy
    from streams.offline.replay import read_recording, replay
    from streams.offline.simulate import write_jsonl

    path = workdir / "recording.jsonl"
    write_jsonl(path, records)
    policy = load_policy(None)
    began = time.perf_counter()
    result = replay(read_recording([path]), policy)
    seconds = time.perf_counter() - began
    return len(records) / seconds, len(result.actions)


def latency_and_memory(bootstrap: str, sizes: Sizes, workdir: Path, offered_eps: float) -> tuple[LatencyResult, str, dict[str, Any]]:
    """A fresh worker (its group starts at the end of the prefill): probe traffic, then quiet accounts."""
    worker = TradewatchWorker(bootstrap, "bench-tw-latency", sizes.partitions, workdir)
    ends = asyncio.run(kafkaio.end_offsets(bootstrap, topics.INPUT_TOPICS))
    asyncio.run(kafkaio.commit_group_offsets(bootstrap, intake_group(worker.app_id), ends))
    worker.start()
    try:
        began = time.monotonic()
        worker.wait_ready()
        say(f"bench: latency worker ready after {time.monotonic() - began:.1f} s")

        async def consumed() -> float:
            return await asyncio.to_thread(worker.metric, "tradewatch_events_consumed_total")

        async def actions_sent() -> float:
            """Actions sent to the topics the bench reads: not those a tripped breaker holds
            (tradewatch.held.v1), which at a high offered rate of fresh trading accounts it may."""
            text = await asyncio.to_thread(worker.metrics_text)
            return sum_samples(text, "tradewatch_actions_total") - sum_samples(text, "tradewatch_actions_total", mode="held")

        if sizes.warmup_seconds > 0:
            # a fresh worker falls behind for its first seconds (first allocations, first sends to
            # each topic): measured separately from the steady latency the goal is about
            warmup = traffic.background(max(1, int(offered_eps * sizes.warmup_seconds)), seed=traffic.WARMUP_SEED)
            warmed = asyncio.run(offer(bootstrap, warmup, offered_eps, consumed, actions_sent,
                                       drain_timeout_s=60 + len(warmup) / 100))
            say(f"bench: warm-up: {warmed.sent:,} background messages in {warmed.send_seconds:.1f} s, "
                f"{'all handled' if warmed.complete else 'NOT all handled (timed out)'} "
                f"{time.monotonic() - began:.1f} s after the worker started")
        events = traffic.offered_traffic(max(1, int(offered_eps * sizes.latency_seconds)), sizes.probe_share)
        latency = asyncio.run(offer(bootstrap, events, offered_eps, consumed, actions_sent, drain_timeout_s=60 + len(events) / 100))
        latency_metrics = worker.metrics_text()
        say(f"bench: offered {latency.sent:,} probe messages in {latency.send_seconds:.1f} s, all handled "
            f"{time.monotonic() - began:.1f} s after the worker started")

        quiet = traffic.quiet_posts(sizes.quiet_accounts)
        before_consumed = worker.metric("tradewatch_events_consumed_total")
        rss_before = rss_bytes(worker.pid)
        asyncio.run(kafkaio.produce_all(bootstrap, quiet))

        def all_consumed() -> bool:
            worker.check_alive()
            return worker.metric("tradewatch_events_consumed_total") >= before_consumed + len(quiet)

        wait_until(all_consumed, 60 + len(quiet) / 100, "the quiet accounts' posts to be consumed", interval_s=0.25)
        rss_after = rss_bytes(worker.pid)
        say(f"bench: {len(quiet):,} quiet accounts consumed ({time.monotonic() - began:.1f} s after the worker started)")
        per_account = (rss_after - rss_before) / len(quiet)
        memory = {
            "quiet_accounts": len(quiet),
            "rss_before_quiet_bytes": rss_before,
            "rss_after_quiet_bytes": rss_after,
            "bytes_per_account": round(per_account, 1),
            "rss_growth_per_100k_accounts_bytes": round(per_account * 100_000),
            "memory_worker_peak_rss_bytes": peak_rss_bytes(worker.pid),
        }
        return latency, latency_metrics, memory
    finally:
        worker.stop()


def _only(metrics_text: str, label: str) -> str:
    return "\n".join(line for line in metrics_text.splitlines() if label in line)


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b > 0 else 0.0


def goal_met(value: Any, op: str, target: float) -> bool | None:
    if value is None:
        return None
    return value >= target if op == ">=" else value <= target


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import aiokafka
    import faust

    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "faust_streaming": getattr(faust, "__version__", "?"),
        "aiokafka": aiokafka.__version__,
        "kafka": KAFKA_VERSION,
        "load_average_at_end": os.getloadavg(),
    }


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def render_table(r: dict[str, Any]) -> str:
    def eps(key: str) -> str:
        return f"{r[key]:>12,.0f} ev/s"

    goals = r.get("goals", {})

    def mark(key: str) -> str:
        met = goals.get(key)
        return "" if met is None else ("  goal " + ("met" if met else "MISSED") + f" ({GOALS[key][0]} {GOALS[key][1]:,})")

    m = r["machine"]
    rows = [
        f"tradewatch benchmark ({r['mode']}): N={r['messages']:,} messages, {r['partitions']} partitions, "
        f"{m['nproc']} CPUs ({m['cpu_model']}), Python {m['python']}",
        "-" * 78,
        f"(a) raw aiokafka loop          {eps('aiokafka_raw_eps')}",
        f"(b) bare Faust pass-through    {eps('faust_passthrough_eps')}",
        f"(c) tradewatch worker          {eps('tradewatch_eps')}",
        f"    tradewatch / Faust         {r['tradewatch_vs_faust']:>12.3f}{mark('tradewatch_vs_faust')}",
        f"    tradewatch / raw           {r['tradewatch_vs_raw']:>12.3f}",
        f"replay (core, in-process)      {eps('replay_eps')}",
        f"    replay / raw               {r['replay_vs_raw']:>12.3f}{mark('replay_vs_raw')}",
        f"offered load                   {eps('offered_eps')} for {r['latency_send_seconds']} s "
        f"(after {r.get('latency_warmup_seconds', 0):g} s warm-up)",
        f"event-to-action latency p50    {fmt_s(r['latency_p50_s']):>17}   (worker histogram {fmt_s(r['latency_hist_p50_s'])})",
        f"event-to-action latency p99    {fmt_s(r['latency_p99_s']):>17}   (worker histogram {fmt_s(r['latency_hist_p99_s'])}){mark('latency_p99_s')}",
        f"    actions matched            {r['latency_samples']:>12,}",
        f"memory per quiet account       {r['bytes_per_account']:>12,.0f} B  "
        f"({r['rss_growth_per_100k_accounts_bytes'] / 2**20:,.1f} MiB per 100k accounts){mark('bytes_per_account')}",
        f"peak RSS of a worker           {r['peak_rss_bytes'] / 2**20:>12,.1f} MiB",
        "-" * 78,
        f"total {r['total_seconds']} s; phases: " + ", ".join(f"{k} {v}s" for k, v in r["phase_seconds"].items()),
    ]
    if not all(r["drains_completed"].values()):
        rows.append(f"WARNING: a drain hit its timeout: {r['drains_completed']}")
    return "\n".join(rows)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
