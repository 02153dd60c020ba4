"""``tradewatch policy diff``: what a candidate policy would change, account by account.

Both policies are replayed over the same recordings; for every account the report says its
strongest action under each (``suspend``, ``reminder`` or ``none``, as label files say) and
each action added, removed or changed (same subject and kind of action, another time or
deadline), and per signal how often it hit under each. A trust & safety team reads this before
a rollout instead of after it; ``--max-new-suspensions`` turns it into a gate for CI.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.core.actions import STRENGTH
from streams.offline.evaluate import STRENGTH_LABEL
from streams.offline.replay import ReplayResult

ActionKey = tuple[str, str, str]  # (subject kind, subject id, action)


@dataclass
class AccountChange:
    account_id: str
    name: str
    before: str  # strongest action under the current policy: suspend | reminder | none
    after: str  # ... under the candidate
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {"from": ..., "to": ...}

    def to_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "name": self.name, "from": self.before, "to": self.after,
                "added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass
class PolicyDiff:
    accounts: list[AccountChange]
    totals: dict[str, dict[str, int]]  # measure -> {"from": n, "to": m}
    signals: dict[str, dict[str, int]]  # code -> {"from": n, "to": m}, only codes whose count differs

    @property
    def new_suspensions(self) -> int:
        return self.totals["accounts_suspended"]["to"] - self.totals["accounts_suspended"]["from"]

    def to_json(self) -> dict[str, Any]:
        return {"accounts": [change.to_json() for change in self.accounts], "totals": self.totals,
                "signals": self.signals}


def summary(action: dict[str, Any]) -> dict[str, Any]:
    """What a reviewer compares: who, what, when, until when, why."""
    out = {"action": action["action"], "subject": action["subject"], "event_time": action["event_time"],
           "reasons": [reason["code"] for reason in action.get("reasons", ())]}
    if action.get("deadline"):
        out["deadline"] = action["deadline"]
    return out


def _by_account(actions: Iterable[dict[str, Any]]) -> dict[str, dict[ActionKey, list[dict[str, Any]]]]:
    out: dict[str, dict[ActionKey, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for action in actions:
        subject = action["subject"]
        out[action["account_id"]][(subject["kind"], subject["id"], action["action"])].append(summary(action))
    return out


def _strongest(actions: dict[ActionKey, list[dict[str, Any]]]) -> str:
    return STRENGTH_LABEL[max((STRENGTH[key[2]] for key in actions), default=0)]


def diff(before: ReplayResult, after: ReplayResult) -> PolicyDiff:
    old, new = _by_account(before.actions), _by_account(after.actions)
    changes = []
    for account in sorted(set(old) | set(new)):
        was, now = old.get(account, {}), new.get(account, {})
        change = AccountChange(account, after.account_names.get(account) or before.account_names.get(account, ""),
                               _strongest(was), _strongest(now))
        for key in sorted(set(was) | set(now)):
            first, second = was.get(key, []), now.get(key, [])
            for a, b in zip(first, second):  # the n-th such action under each policy
                if (a["event_time"], a.get("deadline")) != (b["event_time"], b.get("deadline")):
                    change.changed.append({"from": a, "to": b})
            change.removed.extend(first[len(second):])
            change.added.extend(second[len(first):])
        if change.added or change.removed or change.changed:
            changes.append(change)

    def count(result: ReplayResult, grouped: dict[str, dict[ActionKey, list[dict[str, Any]]]]) -> dict[str, int]:
        strongest = Counter(_strongest(actions) for actions in grouped.values())
        return {"actions": len(result.actions), "accounts_suspended": strongest["suspend"],
                "accounts_reminded_only": strongest["reminder"]}

    a, b = count(before, old), count(after, new)
    totals = {name: {"from": a[name], "to": b[name]} for name in a}
    totals["accounts_changed"] = {"from": 0, "to": len(changes)}
    signals = {code: {"from": before.hits.get(code, 0), "to": after.hits.get(code, 0)}
               for code in sorted(set(before.hits) | set(after.hits)) if before.hits.get(code, 0) != after.hits.get(code, 0)}
    return PolicyDiff(changes, totals, signals)


def format_diff(result: PolicyDiff, from_name: str, to_name: str) -> str:
    t = result.totals
    lines = [f"policy diff: {from_name} -> {to_name}",
             f"accounts changed {t['accounts_changed']['to']}  suspended {t['accounts_suspended']['from']} -> "
             f"{t['accounts_suspended']['to']}  reminded only {t['accounts_reminded_only']['from']} -> "
             f"{t['accounts_reminded_only']['to']}  actions {t['actions']['from']} -> {t['actions']['to']}", ""]
    for change in result.accounts:
        lines.append(f"{change.account_id}  {change.name or '-'}  {change.before} -> {change.after}")
        for sign, items in (("+", change.added), ("-", change.removed)):
            for item in items:
                lines.append(f"   {sign} {item['action']} {item['subject']['kind']} {item['subject']['id']} at "
                             f"{item['event_time']} ({', '.join(item['reasons'])})")
        for pair in change.changed:
            a, b = pair["from"], pair["to"]
            lines.append(f"   ~ {a['action']} {a['subject']['kind']} {a['subject']['id']}: at {a['event_time']} -> "
                         f"{b['event_time']}" + (f", deadline {a.get('deadline')} -> {b.get('deadline')}"
                                                 if a.get("deadline") != b.get("deadline") else ""))
    if result.signals:
        lines += ["", "signal hits that differ:"]
        lines += [f"  {code:28} {counts['from']:>7} -> {counts['to']}" for code, counts in result.signals.items()]
    return "\n".join(lines)
