"""tradewatch's Prometheus metrics: the one place that names them.

Names, units and labels are a contract with the dashboards in ``deploy/grafana`` and the
alert rules in ``deploy/prometheus`` (a test checks every name they query exists here).
Labels never carry account, user or event ids: only bounded vocabularies (topic names,
partitions, signal codes, action kinds, modes, reasons).
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
# the standard process_* (CPU, memory, open files), python_info and python_gc_* series that
# every SRE dashboard and the node-level alerts expect next to the application's own
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

EVENTS_CONSUMED = Counter(
    "tradewatch_events_consumed_total",
    "Input messages consumed, by source topic and outcome (valid, invalid, duplicate).",
    ["topic", "outcome"],
    registry=REGISTRY,
)
INVALID_EVENTS = Counter(
    "tradewatch_invalid_events_total",
    "Input messages rejected and sent to the dead-letter topic, by reason.",
    ["topic", "reason"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "tradewatch_dead_letters_total",
    "Messages written to tradewatch.dlq.v1, by source topic.",
    ["topic"],
    registry=REGISTRY,
)
SIGNAL_HITS = Counter(
    "tradewatch_signal_hits_total",
    "Detection signal hits, by signal code.",
    ["signal"],
    registry=REGISTRY,
)
ACTIONS = Counter(
    "tradewatch_actions_total",
    "Enforcement actions emitted, by action and mode (enforce, shadow, or held by an open circuit-breaker scope).",
    ["action", "mode"],
    registry=REGISTRY,
)
EVENT_TO_ACTION_LATENCY = Histogram(
    "tradewatch_event_to_action_latency_seconds",
    "Wall-clock time from the triggering input's Kafka timestamp to the action being sent.",
    ["action"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
EVENT_PROCESSING = Histogram(
    "tradewatch_event_processing_seconds",
    "Time to process one input message in the worker, by stage (intake or decide).",
    ["stage"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)
OPEN_CASES = Gauge(
    "tradewatch_open_cases",
    "Subject accounts with an open case owned by this worker, by case state.",
    ["state"],
    registry=REGISTRY,
)
CIRCUIT_BREAKER_OPEN = Gauge(
    "tradewatch_circuit_breaker_open",
    "Circuit-breaker scopes open now, as this worker knows the group's trips: their suspensions "
    "are held (0: every suspension is enforced).",
    registry=REGISTRY,
)
SIGNING_KEY_EXPIRY = Gauge(
    "tradewatch_signing_key_expiry_timestamp_seconds",
    "When the active signing key's validity window ends (Unix time; +Inf: it has no end, or actions are "
    "not signed). From then on the worker cannot sign an action: it stops without acknowledging it.",
    registry=REGISTRY,
)
CIRCUIT_BREAKER_TRIPS = Counter(
    "tradewatch_circuit_breaker_trips_total",
    "Circuit-breaker trips this worker learnt of (its own and other workers').",
    registry=REGISTRY,
)
CIRCUIT_BREAKER_CLOSES = Counter(
    "tradewatch_circuit_breaker_closes_total",
    "Circuit-breaker trips closed by an operator, by disposition of their held suspensions (release, discard).",
    ["disposition"],
    registry=REGISTRY,
)
HELD_ACTIONS = Counter(
    "tradewatch_held_actions_total",
    "Suspensions written to tradewatch.held.v1 because their breaker scope was open.",
    registry=REGISTRY,
)
HELD_SETTLED = Counter(
    "tradewatch_held_actions_settled_total",
    "Held suspensions whose trip was closed, by outcome: released (sent to enforcement.actions.v1), "
    "discarded, or invalid (not a held action tradewatch wrote).",
    ["outcome"],
    registry=REGISTRY,
)
POLICY_INFO = Info(
    "tradewatch_policy",
    "The policy this worker decides with at its watermark (version, mode; candidate and "
    "candidate_percent while a staged rollout runs).",
    registry=REGISTRY,
)
CONTROL_RECORDS = Counter(
    "tradewatch_control_records_total",
    "Control records (tradewatch.control.v1) read by intake, by kind and verdict (applied, "
    "refused: invalid, or effective at a time the watermark had passed).",
    ["kind", "verdict"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "tradewatch_consumer_lag_messages",
    "Messages between the committed offset and the log end, by topic and partition.",
    ["topic", "partition"],
    registry=REGISTRY,
)
COMMIT_STALLED = Gauge(
    "tradewatch_commit_stalled_seconds",
    "Seconds the committed offset of a partition this worker owns has not moved while the partition had lag (0: moving or caught up).",
    ["topic", "partition"],
    registry=REGISTRY,
)
LAST_EVENT_TIMESTAMP = Gauge(
    "tradewatch_last_event_timestamp_seconds",
    "Wall-clock UNIX time when the last message of a topic was consumed.",
    ["topic"],
    registry=REGISTRY,
)
DUPLICATE_ACTIONS_SUPPRESSED = Counter(
    "tradewatch_duplicate_actions_suppressed_total",
    "Actions not re-sent because this case already emitted them (replays, redeliveries).",
    registry=REGISTRY,
)
OUT_OF_ORDER = Counter(
    "tradewatch_out_of_order_messages_total",
    "Internal messages delivered ahead of an offset not yet decided (seen with Faust after "
    "rebalances); they are held and decided in offset order.",
    ["topic"],
    registry=REGISTRY,
)
PARTITION_REFETCHES = Counter(
    "tradewatch_partition_refetches_total",
    "Partitions sought back to their committed offset because the commit was stuck behind a "
    "message the stream never delivered (a Faust issue after kills and rebalances).",
    ["topic"],
    registry=REGISTRY,
)
SKIPPED_OFFSETS = Counter(
    "tradewatch_skipped_offsets_total",
    "Internal offsets deleted from the log (retention) before they were decided, given up "
    "(their inputs are lost; should stay 0). Offsets still in the log that do not arrive stop the worker instead.",
    ["topic"],
    registry=REGISTRY,
)
INPUTS_READ = Counter(
    "tradewatch_inputs_read_total",
    "Input messages intake read (valid or not), by topic.",
    ["topic"],
    registry=REGISTRY,
)
WATERMARK_LAG = Gauge(
    "tradewatch_watermark_lag_seconds",
    "Wall clock minus the pipeline watermark, for the most lagging internal partition this "
    "worker decides (events and deadlines wait until the watermark passes them).",
    registry=REGISTRY,
)
WATERMARK_HELD_BY = Gauge(
    "tradewatch_watermark_held_by",
    "1 for each input partition whose progress is the watermark of this worker's most lagging "
    "internal partition (several when they tie, e.g. idle partitions advancing together).",
    ["topic", "partition"],
    registry=REGISTRY,
)
REORDER_BUFFERED = Gauge(
    "tradewatch_reorder_buffered_events",
    "Events read from the internal topic and waiting for the watermark to pass them.",
    registry=REGISTRY,
)
LATE_EVENTS = Counter(
    "tradewatch_late_events_total",
    "Events that arrived after the watermark had passed their event time (more than the "
    "allowed lateness behind); decided at once, never re-judging a decided deadline.",
    ["topic"],
    registry=REGISTRY,
)
COMMIT_SECONDS = Histogram(
    "tradewatch_commit_seconds",
    "Time to commit a consumer group's offsets to Kafka, by consumer group role: intake (the "
    "input topics) or decide (the internal topic).",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
COMMIT_FAILURES = Counter(
    "tradewatch_commit_failures_total",
    "Commits of offsets Kafka refused or that failed, by consumer group role (intake or decide): "
    "after a rebalance took the partition its new owner reads those messages again and "
    "duplicates are ignored; a commit that keeps failing shows as a commit stall.",
    ["group"],
    registry=REGISTRY,
)
HTTP_CONNECTIONS_REFUSED = Counter(
    "tradewatch_http_connections_refused_total",
    "Connections to the metrics/health port closed at once because 64 were already open "
    "(someone holding connections; Prometheus and the probes need a few).",
    registry=REGISTRY,
)
FORGOTTEN_STATES = Counter(
    "tradewatch_forgotten_states_total",
    "Quiet account states dropped once the watermark passed the window after their last event "
    "(no case, no licence on record): nothing a later event could reach was left in them.",
    registry=REGISTRY,
)
REBALANCES = Counter(
    "tradewatch_rebalances_total",
    "Partition assignments this worker received, by consumer group role: intake (the input "
    "topics) or decide (the internal topic). Each one pauses deciding for a moment.",
    ["group"],
    registry=REGISTRY,
)
WORKER_READY = Gauge(
    "tradewatch_worker_ready",
    "1 once partitions are assigned and tables recovered.",
    registry=REGISTRY,
)


def metrics_table() -> str:
    """The metrics table of docs/reference.md, generated from the registry so the two cannot drift."""
    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    rows.append("| `process_*`, `python_info`, `python_gc_*` | - | - | The standard process, platform and "
                "garbage-collector series of prometheus-client (memory, CPU, open files, interpreter). |")
    for family in sorted(REGISTRY.collect(), key=lambda f: f.name):
        if not family.name.startswith("tradewatch_"):
            continue
        collector = next(c for c in REGISTRY._collector_to_names if family.name in REGISTRY._collector_to_names[c])  # noqa: SLF001
        labels = ", ".join(getattr(collector, "_labelnames", ())) or ("version, mode" if family.type == "info" else "-")
        name = family.name + ("_total" if family.type == "counter" else "")
        if family.type == "info":
            name = family.name + "_info"
        rows.append(f"| `{name}` | {family.type} | {labels} | {family.documentation} |")
    return "\n".join(rows)
