"""Playing a recording into live workers with each account's messages in recording order.

Kafka orders messages per partition, not across topics: a post and a mini-program event of
the same account travel through different topics and may be consumed in either order. The
contract's replay orders by event time. To compare the two fairly, we produce the recording
in *runs*: a run ends before any account would receive a message from a second source
(topic + key, i.e. another partition), and the next run is produced only after the workers
have taken in everything before it. Within a run, each account's messages share one
partition and so keep their order.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from tests.integration.harness import WorkerProcess, produce, wait_for


def subject_of(record: dict[str, Any]) -> str:
    value = record["value"]
    return value.get("owner_account_id") or value.get("account_id")


def runs(records: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    source_of: dict[str, tuple[str, str]] = {}
    for record in records:
        source = (record["topic"], record["key"])
        subject = subject_of(record)
        if source_of.get(subject, source) != source:
            batches.append(current)
            current, source_of = [], {}
        source_of[subject] = source
        current.append(record)
    if current:
        batches.append(current)
    return batches


def consumed(workers: Iterable[WorkerProcess]) -> float:
    return sum(worker.metric("tradewatch_events_consumed_total") for worker in workers)


def play_in_order(bootstrap: str, records: Sequence[dict[str, Any]], workers: Sequence[WorkerProcess],
                  already_consumed: float = 0.0, timeout_per_run: float = 60.0) -> int:
    """Produce ``records`` run by run; returns the number of runs."""
    total = already_consumed
    batches = runs(records)
    for batch in batches:
        produce(bootstrap, batch)
        total += len(batch)
        wait_for(lambda: consumed(workers) >= total, timeout_per_run, f"workers to consume {total:.0f} messages",
                 interval=0.02)
    return len(batches)
