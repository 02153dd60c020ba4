"""The versioned enforcement policy (TOML): loading and validation.

A policy file is the whole rule book: thresholds, weights, periods, allowlist, mode and a
pointer to the text vocabulary. It is validated completely at load so that a typo fails the
worker at start with the key that is wrong, instead of silently weakening enforcement.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.core.behaviour import BehaviourParams
from streams.core.signals import FRAUD_CODES, TRADING_CODES
from streams.core.timefmt import TimeFormatError, parse_time

DEFAULT_POLICY_PATH = Path(__file__).resolve().parent.parent / "data" / "policy.default.toml"

MODES = ("enforce", "shadow")


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the key and what is allowed."""


@dataclass(frozen=True, slots=True)
class Weight:
    weight: float
    cap: int


@dataclass(frozen=True)
class Policy:
    version: str
    mode: str
    vocabulary_path: Path
    window_hours: int
    trading_reminder_threshold: float
    trading_suspend_threshold: float
    fraud_threshold: float
    max_evidence: int
    editorial_min_posts: int
    min_offer_posts: int
    collectible_min_evidence: int
    trading_weights: Mapping[str, Weight]
    fraud_weights: Mapping[str, Weight]
    withdrawal_min_failures: int
    withdrawal_min_ratio: float
    grace_s: float
    campaign_deadline: float | None
    notice_s: float
    repeat_window_s: float
    repeat_grace_s: float
    stance_model_path: Path
    stance_min_offer: float
    required_licences: frozenset[str]
    allowlist: frozenset[str]
    max_suspensions_per_minute: int
    breaker_low_history_evidence: int
    max_recent_event_ids: int
    behaviour: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<memory>"

    @property
    def window_s(self) -> float:
        return self.window_hours * 3600.0

    def with_mode(self, mode: str) -> Policy:
        """The same policy with another mode (the TRADEWATCH_MODE override)."""
        if mode not in MODES:
            raise PolicyError(f"mode: {mode!r} is not allowed; use one of {', '.join(MODES)}")
        from dataclasses import replace

        return replace(self, mode=mode)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file (the shipped default when ``path`` is None)."""
    policy_path = Path(path) if path else DEFAULT_POLICY_PATH
    try:
        raw = tomllib.loads(policy_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {policy_path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{policy_path}: not valid TOML: {exc}") from None
    return policy_from_mapping(raw, base_dir=policy_path.parent, source=str(policy_path))


MAX_VERSION = 64


def policy_from_mapping(raw: Mapping[str, Any], base_dir: Path | None = None, source: str = "<memory>") -> Policy:
    """Validate a parsed policy; every error names the offending key."""
    reader = _Reader(raw)
    base_dir = base_dir or DEFAULT_POLICY_PATH.parent
    version = reader.string("policy_version")
    if len(version) > MAX_VERSION:  # the actions' schema bound; breaker trip ids are built from it
        raise PolicyError(f"policy_version: at most {MAX_VERSION} characters, not {len(version)}")
    mode = reader.choice("mode", MODES)
    vocabulary_path = (base_dir / reader.string("vocabulary")).resolve()
    if not vocabulary_path.is_file():
        raise PolicyError(f"vocabulary: file not found: {vocabulary_path}")

    scoring = reader.table("scoring")
    window_hours = scoring.integer("window_hours", minimum=1, maximum=24 * 90)
    reminder = scoring.unit("trading_reminder_threshold")
    suspend = scoring.unit("trading_suspend_threshold")
    fraud = scoring.unit("fraud_threshold")
    max_evidence = scoring.integer("max_evidence", minimum=1, maximum=20)
    editorial_min_posts = scoring.integer("editorial_min_posts", minimum=1, maximum=10_000)
    min_offer_posts = scoring.integer("min_offer_posts", minimum=1, maximum=10_000)
    collectible_min_evidence = scoring.integer("collectible_min_evidence", minimum=1, maximum=10_000)
    trading_weights = _weights(scoring.table("trading"), TRADING_CODES)
    fraud_weights = _weights(scoring.table("fraud"), FRAUD_CODES)
    ratio = scoring.table("withdrawal_failure_ratio")
    min_failures = ratio.integer("min_failures", minimum=1, maximum=10_000)
    min_ratio = ratio.unit("min_ratio")
    scoring.done({"trading", "fraud", "withdrawal_failure_ratio"})
    ratio.done()

    deadline = reader.table("deadline")
    grace_hours = deadline.number("grace_hours", minimum=1 / 60, maximum=24 * 365)
    campaign = deadline.optional_time("campaign_deadline")
    notice_hours = deadline.number("notice_hours", minimum=0, maximum=24 * 30)
    if notice_hours * 3600.0 >= grace_hours * 3600.0:
        raise PolicyError("deadline.notice_hours: must be shorter than deadline.grace_hours")
    repeat_window_hours = deadline.number("repeat_window_hours", minimum=0, maximum=24 * 365)
    repeat_grace_hours = deadline.number("repeat_grace_hours", minimum=0, maximum=24 * 365)
    deadline.done()

    stance = reader.table("stance")
    stance_model_path = (base_dir / stance.string("model")).resolve()
    if not stance_model_path.is_file():
        raise PolicyError(f"stance.model: file not found: {stance_model_path}")
    # below 0.5 the model itself names the post a discussion kind: a lower gate would never open
    stance_min_offer = stance.number("min_offer_probability", minimum=0.5, maximum=1.0)
    stance.done()

    qualification = reader.table("qualification")
    required = frozenset(qualification.strings("required_licences"))
    qualification.done()
    allowlist = reader.table("allowlist")
    allowed = frozenset(allowlist.strings("accounts"))
    allowlist.done()
    breaker = reader.table("circuit_breaker")
    max_per_minute = breaker.integer("max_suspensions_per_minute", minimum=0, maximum=1_000_000)
    low_history_evidence = breaker.integer("low_history_evidence", minimum=0, maximum=1_000)
    breaker.done()
    dedup = reader.table("dedup")
    max_ids = dedup.integer("max_recent_event_ids", minimum=16, maximum=1_000_000)
    dedup.done()
    behaviour = dict(reader.table("behaviour").raw)
    _check_behaviour(behaviour)
    reader.done({"scoring", "deadline", "stance", "qualification", "allowlist", "circuit_breaker", "dedup", "behaviour"})

    return Policy(
        version=version,
        mode=mode,
        vocabulary_path=vocabulary_path,
        window_hours=window_hours,
        trading_reminder_threshold=reminder,
        trading_suspend_threshold=suspend,
        fraud_threshold=fraud,
        max_evidence=max_evidence,
        editorial_min_posts=editorial_min_posts,
        min_offer_posts=min_offer_posts,
        collectible_min_evidence=collectible_min_evidence,
        trading_weights=trading_weights,
        fraud_weights=fraud_weights,
        withdrawal_min_failures=min_failures,
        withdrawal_min_ratio=min_ratio,
        grace_s=grace_hours * 3600.0,
        campaign_deadline=campaign,
        notice_s=notice_hours * 3600.0,
        repeat_window_s=repeat_window_hours * 3600.0,
        repeat_grace_s=repeat_grace_hours * 3600.0,
        stance_model_path=stance_model_path,
        stance_min_offer=stance_min_offer,
        required_licences=required,
        allowlist=allowed,
        max_suspensions_per_minute=max_per_minute,
        breaker_low_history_evidence=low_history_evidence,
        max_recent_event_ids=max_ids,
        behaviour=behaviour,
        source=source,
    )


def _check_behaviour(behaviour: Mapping[str, Any]) -> None:
    try:
        BehaviourParams.from_mapping(behaviour)
    except ValueError as exc:
        message = str(exc)
        raise PolicyError(message if message.startswith("behaviour.") else f"behaviour: {message}") from None


def _weights(table: _Reader, codes: tuple[str, ...]) -> dict[str, Weight]:
    weights: dict[str, Weight] = {}
    for code, value in table.raw.items():
        key = f"{table.prefix}{code}"
        if code not in codes:
            raise PolicyError(f"{key}: unknown signal code; allowed: {', '.join(codes)}")
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not _is_number(value[0])
            or not isinstance(value[1], int)
            or isinstance(value[1], bool)
        ):
            raise PolicyError(f"{key}: must be [weight, cap], a number >= 0 and an integer >= 1")
        weight, cap = float(value[0]), value[1]
        if weight < 0 or weight > 10 or cap < 1 or cap > 1_000_000:
            raise PolicyError(f"{key}: weight must be in 0..10 and cap in 1..1000000")
        weights[code] = Weight(weight, cap)
    missing = [code for code in codes if code not in weights]
    if missing:
        raise PolicyError(
            f"{table.prefix}{missing[0]}: no weight for this signal; give every signal of the table "
            f"[weight, cap] (a weight of 0 turns it off); missing: {', '.join(missing)}"
        )
    return weights


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _Reader:
    """Typed access to one TOML table that remembers which keys were read."""

    def __init__(self, raw: Mapping[str, Any], prefix: str = "") -> None:
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{prefix.rstrip('.') or 'policy'}: must be a table")
        self.raw = raw
        self.prefix = prefix
        self.seen: set[str] = set()

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        if key not in self.raw:
            raise PolicyError(f"{self.prefix}{key}: missing")
        return self.raw[key]

    def table(self, key: str) -> _Reader:
        value = self._get(key)
        if not isinstance(value, Mapping):
            raise PolicyError(f"{self.prefix}{key}: must be a table")
        return _Reader(value, f"{self.prefix}{key}.")

    def string(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise PolicyError(f"{self.prefix}{key}: must be a non-empty string")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self._get(key)
        if value not in allowed:
            raise PolicyError(f"{self.prefix}{key}: {value!r} is not allowed; use one of {', '.join(allowed)}")
        return value

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise PolicyError(f"{self.prefix}{key}: must be true or false")
        return value

    def number(self, key: str, minimum: float, maximum: float) -> float:
        value = self._get(key)
        if not _is_number(value) or not minimum <= value <= maximum:
            raise PolicyError(f"{self.prefix}{key}: must be a number in {minimum:g}..{maximum:g}")
        return float(value)

    def unit(self, key: str) -> float:
        return self.number(key, 0.0, 1.0)

    def integer(self, key: str, minimum: int, maximum: int) -> int:
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            raise PolicyError(f"{self.prefix}{key}: must be an integer in {minimum}..{maximum}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise PolicyError(f"{self.prefix}{key}: must be a list of non-empty strings")
        return value

    def optional_time(self, key: str) -> float | None:
        self.seen.add(key)
        if key not in self.raw:
            return None
        value = self.raw[key]
        try:
            return parse_time(value)
        except TimeFormatError:
            raise PolicyError(f"{self.prefix}{key}: must be an RFC 3339 time with an offset") from None

    def done(self, subtables: set[str] | None = None) -> None:
        unknown = set(self.raw) - self.seen - (subtables or set())
        if unknown:
            first = sorted(unknown)[0]
            raise PolicyError(f"{self.prefix}{first}: unknown key")
