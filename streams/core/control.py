"""Run-time policy changes: published policies, staged rollouts and allowlist entries on a timeline.

An operator changes what tradewatch enforces with control records (``tradewatch.control.v1``):
a new policy, the same to a stable share of accounts only, or an allowlist entry with a
reason, an actor and an expiry. Each takes effect at an **event time** carried in the record,
so the switch happens at the same point of the traffic on every worker and in replay. The
timeline answers, for one account at one event time, which policy decides it and whether the
account is allowlisted; it holds no per-account state. Pure: no Faust or Kafka import.
"""

from __future__ import annotations

import bisect
import hashlib
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from streams.core.events import ControlRecord
from streams.core.policy import DEFAULT_POLICY_PATH, Policy, PolicyError, policy_from_mapping
from streams.core.timefmt import TimeFormatError, format_time, parse_time

POLICY = "policy"
ALLOWLIST = "allowlist"
KINDS = (POLICY, ALLOWLIST)
ADD, REMOVE = "add", "remove"
APPLIED, REFUSED = "applied", "refused"  # audit verdicts
MAX_POLICY_BYTES = 256 * 1024  # a policy file is ~5 KB; the bound keeps a control record bundle-sized


_AFTER_EVERY_ID = "\U0010ffff"  # sorts after every control id: bisect to the last change at a time


class ControlError(ValueError):
    """A control record that cannot be applied; the message says which field and why."""


@dataclass(frozen=True)
class PolicyChange:
    control_id: str
    effective_at: float
    actor: str
    reason: str
    policy: Policy
    rollout_percent: int  # 100: every account; less: the accounts whose bucket is below it


@dataclass(frozen=True)
class AllowlistChange:
    control_id: str
    effective_at: float
    actor: str
    reason: str
    account_id: str
    op: str  # add | remove
    expires_at: float | None  # required for add


Change = PolicyChange | AllowlistChange


def rollout_bucket(account_id: str) -> int:
    """The account's stable bucket 0..99: the same on every worker, in replay and across
    rollouts (a 5 % candidate's accounts stay in its 20 %)."""
    digest = hashlib.sha256(b"tradewatch-rollout\x00" + account_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def parse_change(record: ControlRecord, mode: str) -> Change:
    """Validate a control record's document completely (a policy as at a worker's start);
    ``mode`` is the worker's (a published policy cannot switch shadow mode on or off)."""
    document = orjson.loads(record.document)
    if not isinstance(document, dict):
        raise ControlError("a control record must be a JSON object")
    kind = document.get("kind")
    actor, reason = _text(document, "actor"), _text(document, "reason")
    if kind == POLICY:
        toml = document.get("policy_toml")
        if not isinstance(toml, str) or not toml:
            raise ControlError("policy_toml: must be the policy file's text")
        if len(toml.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
            raise ControlError(f"policy_toml: larger than {MAX_POLICY_BYTES} bytes")
        try:
            raw = tomllib.loads(toml)
            # data files (vocabulary, stance model) are named relative to the shipped ones
            policy = policy_from_mapping(raw, base_dir=DEFAULT_POLICY_PATH.parent,
                                         source=f"control {record.control_id}").with_mode(mode)
        except tomllib.TOMLDecodeError as error:
            raise ControlError(f"policy_toml: not valid TOML: {error}") from None
        except PolicyError as error:
            raise ControlError(f"policy_toml: {error}") from None
        percent = document.get("rollout_percent", 100)
        if not isinstance(percent, int) or isinstance(percent, bool) or not 1 <= percent <= 100:
            raise ControlError("rollout_percent: must be an integer in 1..100")
        return PolicyChange(record.control_id, record.effective_at, actor, reason, policy, percent)
    if kind == ALLOWLIST:
        account = _text(document, "account_id")
        op = document.get("op")
        if op not in (ADD, REMOVE):
            raise ControlError("op: must be add or remove")
        expires_at = None
        if op == ADD:
            try:
                expires_at = parse_time(document.get("expires_at"))  # type: ignore[arg-type]
            except TimeFormatError:
                raise ControlError("expires_at: an allowlist entry needs an RFC 3339 expiry") from None
            if expires_at <= record.effective_at:
                raise ControlError("expires_at: must be after effective_at")
        return AllowlistChange(record.control_id, record.effective_at, actor, reason, account, op, expires_at)
    raise ControlError(f"kind: must be one of {', '.join(KINDS)}")


def _text(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ControlError(f"{key}: required, a non-empty string")
    return value


class RuntimeAllowlist:
    """The run-time allowlist entries by account and effective time: who is covered when."""

    def __init__(self) -> None:
        self._entries: dict[str, list[tuple[float, str, AllowlistChange]]] = {}

    def add(self, change: AllowlistChange) -> None:
        entries = self._entries.setdefault(change.account_id, [])
        bisect.insort(entries, (change.effective_at, change.control_id, change), key=lambda e: (e[0], e[1]))

    def entry_at(self, account_id: str, at: float) -> AllowlistChange | None:
        """The add that covers the account at ``at``, if any: the latest add or remove at or
        before ``at`` decides, and an add lasts until its expiry."""
        latest = None
        for effective_at, _, change in self._entries.get(account_id, ()):
            if effective_at > at:
                break
            latest = change
        if latest is None or latest.op != ADD or latest.expires_at is None or at >= latest.expires_at:
            return None
        return latest

    def in_force(self, at: float) -> list[AllowlistChange]:
        """Every entry covering its account at ``at``, by account (``tradewatch allowlist list``)."""
        return [entry for account in sorted(self._entries) if (entry := self.entry_at(account, at)) is not None]


class ControlTimeline:
    """Every applied change, by effective time; answers "which policy, allowlisted?" per account
    and event time. ``make_detector`` builds the detector of a policy (once per change)."""

    def __init__(self, base: Policy,
                 make_detector: Callable[[Policy, Callable[[str, float], bool]], Any] | None = None) -> None:
        self.base = base
        self._make = make_detector or detector_maker()
        self.base_detector = self._make(base, self.allowed_at_runtime)
        self._ids: set[str] = set()
        self._policy_times: list[tuple[float, str]] = []  # (effective_at, control_id), sorted
        self._policies: list[tuple[PolicyChange, Any]] = []  # parallel to _policy_times
        self.allowlist = RuntimeAllowlist()

    def __len__(self) -> int:
        return len(self._ids)

    def knows(self, control_id: str) -> bool:
        return control_id in self._ids

    def add(self, change: Change) -> bool:
        """Apply a change; False if this control id was applied before (a redelivery)."""
        if change.control_id in self._ids:
            return False
        self._ids.add(change.control_id)
        # equal times are ordered by control id, not by arrival: the same on every worker and in replay
        key = (change.effective_at, change.control_id)
        if isinstance(change, PolicyChange):
            place = bisect.bisect(self._policy_times, key)
            self._policy_times.insert(place, key)
            self._policies.insert(place, (change, self._make(change.policy, self.allowed_at_runtime)))
        else:
            self.allowlist.add(change)
        return True

    def detector_for(self, account_id: str, at: float) -> Any:
        """The detector of the policy in force for this account at event time ``at``: the latest
        change at or before ``at`` whose rollout covers the account, else the base policy."""
        if not self._policies:
            return self.base_detector
        place = bisect.bisect(self._policy_times, (at, _AFTER_EVERY_ID))
        bucket = None
        for index in range(place - 1, -1, -1):
            change, detector = self._policies[index]
            if change.rollout_percent >= 100:
                return detector
            if bucket is None:
                bucket = rollout_bucket(account_id)
            if bucket < change.rollout_percent:
                return detector
        return self.base_detector

    def allowed_at_runtime(self, account_id: str, at: float) -> bool:
        """Whether a run-time allowlist entry covers the account at ``at``."""
        return self.allowlist.entry_at(account_id, at) is not None

    def forget_at(self, state: Any) -> float | None:
        """When ``state`` may be forgotten under every policy (the longest window decides)."""
        if not self._policies:  # the usual case, on every touched account: no list to build
            return self.base_detector.forget_at(state)
        times = [self.base_detector.forget_at(state), *(detector.forget_at(state) for _, detector in self._policies)]
        return None if None in times else max(times)

    def forgettable(self, state: Any, watermark: float) -> bool:
        forget_at = self.forget_at(state)
        return forget_at is not None and forget_at <= watermark

    def in_force(self, at: float) -> dict[str, str]:
        """What runs at ``at`` for most accounts, and the candidate for a share, for the info metric."""
        place = bisect.bisect(self._policy_times, (at, _AFTER_EVERY_ID))
        full, candidate = self.base, None
        for index in range(place - 1, -1, -1):
            change = self._policies[index][0]
            if change.rollout_percent >= 100:
                full = change.policy
                break
            if candidate is None:
                candidate = change
        info = {"version": full.version, "mode": full.mode}
        if candidate is not None:
            info["candidate"] = candidate.policy.version
            info["candidate_percent"] = str(candidate.rollout_percent)
        return info


def detector_maker() -> Callable[[Policy, Callable[[str, float], bool]], Any]:
    """Builds a policy's detector, sharing the loaded vocabulary and stance model between
    policies that name the same files (most changes are thresholds)."""
    from streams.core.engine import Detector
    from streams.core.stance import StanceModel
    from streams.core.text.matching import TextMatcher

    loaded: dict[tuple[str, Any], Any] = {}

    def make(policy: Policy, allowed: Callable[[str, float], bool]) -> Any:
        matcher = loaded.get(("vocabulary", policy.vocabulary_path))
        if matcher is None:
            matcher = loaded["vocabulary", policy.vocabulary_path] = TextMatcher.from_file(policy.vocabulary_path)
        stance = loaded.get(("stance", policy.stance_model_path))
        if stance is None:
            stance = loaded["stance", policy.stance_model_path] = StanceModel.from_file(policy.stance_model_path)
        return Detector(policy, matcher, stance, allowed_at_runtime=allowed)

    return make


def audit_entry(record: ControlRecord, verdict: str, why: str, recorded_at: float,
                where: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The audit topic's record of one control record: what it asked, who and why, and whether
    it was applied. Applied entries are the control log that replay takes."""
    document = orjson.loads(record.document)
    entry = {
        "control_id": record.control_id,
        "kind": document.get("kind") if isinstance(document, dict) else None,
        "verdict": verdict,
        "why": why,
        "actor": document.get("actor") if isinstance(document, dict) else None,
        "reason": document.get("reason") if isinstance(document, dict) else None,
        "effective_at": format_time(record.effective_at),
        "recorded_at": format_time(recorded_at),
        "record": document,
    }
    if where:
        entry["source"] = dict(where)
    return entry


def applied_records(entries: Sequence[Mapping[str, Any]]) -> list[ControlRecord]:
    """The control records an audit log says were applied, in its order (once each: a record
    read again after a restart is audited again, and the deciding sides apply it once)."""
    out, seen = [], set()
    for entry in entries:
        control_id = entry.get("control_id")
        if (not isinstance(control_id, str) or control_id in seen or entry.get("verdict") != APPLIED
                or not isinstance(entry.get("record"), dict)):
            continue
        try:
            at = parse_time(entry["effective_at"])
        except (TimeFormatError, KeyError):
            continue
        seen.add(control_id)
        out.append(ControlRecord(control_id, at, orjson.dumps(entry["record"]).decode()))
    return out


