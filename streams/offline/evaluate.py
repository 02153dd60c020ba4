"""``tradewatch evaluate``: how well the policy decides on a labelled recording.

A label says the strongest action an account should end with (suspend, reminder, none).
We replay the recording, take each account's strongest action (review, case_closed and
reinstate count as none: they restrict nothing), and report precision/recall/F1 for
"suspend" and for "reminder or stronger", the false-positive accounts by name, and the
median event time from an account's first trading signal to its first action.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streams.core.actions import QUALIFICATION_REMINDER, STRENGTH, SUSPEND
from streams.core.timefmt import parse_time
from streams.offline.replay import ReplayResult

LABEL_STRENGTH = {"none": 0, "reminder": 1, "suspend": 2}
STRENGTH_LABEL = {0: "none", 1: "reminder", 2: "suspend"}


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


@dataclass
class Evaluation:
    suspend: Score
    reminder_or_stronger: Score
    false_positives: list[dict[str, str]]
    false_negatives: list[dict[str, str]]
    median_hours_to_action: float | None
    accounts: int
    confusion: dict[str, Counter] = field(default_factory=dict)  # archetype -> predicted label counts


def read_labels(path: str | Path) -> dict[str, dict[str, Any]]:
    labels = {}
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise ValueError(f"{path}:{number}: not a JSON line") from None
            if not isinstance(row, dict) or row.get("expected") not in LABEL_STRENGTH \
                    or not isinstance(row.get("account_id"), str):
                raise ValueError(f"{path}:{number}: a label needs account_id and expected in {sorted(LABEL_STRENGTH)}")
            labels[row["account_id"]] = row
    return labels


def _score(pairs: Iterable[tuple[bool, bool]]) -> Score:
    tp = fp = fn = 0
    for expected, predicted in pairs:
        tp += expected and predicted
        fp += predicted and not expected
        fn += expected and not predicted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(round(precision, 4), round(recall, 4), round(f1, 4), tp, fp, fn)


def evaluate(result: ReplayResult, labels: dict[str, dict[str, Any]]) -> Evaluation:
    strongest: dict[str, int] = defaultdict(int)
    first_action_at: dict[str, float] = {}
    for action in result.actions:
        account = action["account_id"]
        strength = STRENGTH[action["action"]]
        strongest[account] = max(strongest[account], strength)
        if action["action"] in (QUALIFICATION_REMINDER, SUSPEND) and account not in first_action_at:
            first_action_at[account] = parse_time(action["event_time"])

    suspend_pairs, reminder_pairs = [], []
    false_positives, false_negatives = [], []
    confusion: dict[str, Counter] = defaultdict(Counter)
    for account, label in sorted(labels.items()):
        expected = LABEL_STRENGTH[label["expected"]]
        predicted = strongest.get(account, 0)
        suspend_pairs.append((expected == 2, predicted == 2))
        reminder_pairs.append((expected >= 1, predicted >= 1))
        confusion[label.get("archetype", "?")][STRENGTH_LABEL[predicted]] += 1
        row = {
            "account_id": account,
            "name": result.account_names.get(account, ""),
            "archetype": label.get("archetype", ""),
            "expected": label["expected"],
            "got": STRENGTH_LABEL[predicted],
        }
        if predicted > expected:
            false_positives.append(row)
        elif predicted < expected:
            false_negatives.append(row)

    delays = []
    for account, acted_at in first_action_at.items():
        state = result.states.get(account)
        if state is not None and state.first_trading_at is not None:
            delays.append((acted_at - state.first_trading_at) / 3600.0)
    return Evaluation(
        suspend=_score(suspend_pairs),
        reminder_or_stronger=_score(reminder_pairs),
        false_positives=false_positives,
        false_negatives=false_negatives,
        median_hours_to_action=round(statistics.median(delays), 2) if delays else None,
        accounts=len(labels),
        confusion=dict(confusion),
    )


def to_json(evaluation: Evaluation, result: ReplayResult) -> dict[str, Any]:
    """The report as one JSON object, for CI gates and notebooks (``evaluate --json``)."""
    return {
        "messages": result.messages, "valid": result.valid, "duplicates": result.duplicates,
        "invalid": len(result.invalid), "actions": len(result.actions), "accounts": evaluation.accounts,
        "suspend": asdict(evaluation.suspend),
        "reminder_or_stronger": asdict(evaluation.reminder_or_stronger),
        "median_hours_to_action": evaluation.median_hours_to_action,
        "false_positives": evaluation.false_positives,
        "false_negatives": evaluation.false_negatives,
        "by_archetype": {archetype: dict(counts) for archetype, counts in sorted(evaluation.confusion.items())},
    }


def below(evaluation: Evaluation, min_precision: float | None, min_recall: float | None) -> list[str]:
    """What falls short of the bar (both scores: suspend, and reminder or stronger)."""
    short = []
    for name, score in (("suspend", evaluation.suspend), ("reminder_or_stronger", evaluation.reminder_or_stronger)):
        if min_precision is not None and score.precision < min_precision:
            short.append(f"{name} precision {score.precision:.4f} < {min_precision:g}")
        if min_recall is not None and score.recall < min_recall:
            short.append(f"{name} recall {score.recall:.4f} < {min_recall:g}")
    return short


def format_report(evaluation: Evaluation, result: ReplayResult) -> str:
    lines = [
        f"messages {result.messages}  valid {result.valid}  duplicates {result.duplicates}  "
        f"invalid {len(result.invalid)}  actions {len(result.actions)}  labelled accounts {evaluation.accounts}",
        "",
        f"{'':22}{'precision':>10}{'recall':>8}{'F1':>8}{'TP':>6}{'FP':>5}{'FN':>5}",
    ]
    for name, s in (("suspend", evaluation.suspend), ("reminder or stronger", evaluation.reminder_or_stronger)):
        lines.append(f"{name:22}{s.precision:>10.4f}{s.recall:>8.4f}{s.f1:>8.4f}{s.tp:>6}{s.fp:>5}{s.fn:>5}")
    lines.append("")
    median = evaluation.median_hours_to_action
    lines.append(
        "median event time from first trading signal to action: "
        + (f"{median:.2f} h" if median is not None else "n/a (no actions)")
    )
    lines.append("")
    lines.append(f"false positives ({len(evaluation.false_positives)}):")
    for row in evaluation.false_positives:
        lines.append(f"  {row['account_id']}  {row['name'] or '-'}  [{row['archetype']}] expected {row['expected']}, got {row['got']}")
    lines.append(f"false negatives ({len(evaluation.false_negatives)}):")
    for row in evaluation.false_negatives:
        lines.append(f"  {row['account_id']}  {row['name'] or '-'}  [{row['archetype']}] expected {row['expected']}, got {row['got']}")
    lines.append("")
    lines.append("by archetype (strongest action):")
    for archetype, counts in sorted(evaluation.confusion.items()):
        summary = ", ".join(f"{label} {counts[label]}" for label in ("suspend", "reminder", "none") if counts[label])
        lines.append(f"  {archetype:32} {summary}")
    return "\n".join(lines)
