"""Policy files: the shipped default loads, and every mistake names its key."""

from __future__ import annotations

import tomllib

import pytest

from streams.core.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, policy_from_mapping
from streams.core.signals import FRAUD_CODES, TRADING_CODES


def default_mapping() -> dict:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def test_shipped_policy_loads_with_a_version_and_enforce_mode():
    policy = load_policy()
    assert policy.version and policy.mode == "enforce"
    assert policy.notice_s < policy.grace_s
    assert policy.vocabulary_path.is_file()


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda m: m.update(mode="enforcing"), "mode"),
        (lambda m: m.update(policy_version="v" * 65), "policy_version"),  # the actions' schema allows 64
        (lambda m: m["scoring"].update(fraud_threshold=1.5), "scoring.fraud_threshold"),
        (lambda m: m["scoring"].update(window_hours="168"), "scoring.window_hours"),
        (lambda m: m["scoring"]["trading"].update(resale_vibes=[0.1, 3]), "scoring.trading.resale_vibes"),
        (lambda m: m["scoring"]["trading"].update(secondary_sale=0.2), "scoring.trading.secondary_sale"),
        (lambda m: m["deadline"].update(grace_hours=-1), "deadline.grace_hours"),
        (lambda m: m["deadline"].update(campaign_deadline="April 1st"), "deadline.campaign_deadline"),
        (lambda m: m["allowlist"].update(accounts="gh_1"), "allowlist.accounts"),
        (lambda m: m["circuit_breaker"].pop("max_suspensions_per_minute"), "circuit_breaker.max_suspensions_per_minute"),
        (lambda m: m.update(thresholds={}), "thresholds"),
        (lambda m: m["behaviour"].update(lockup_s="one day"), "behaviour.lockup_s"),
        (lambda m: m.update(vocabulary="missing.toml"), "vocabulary"),
    ],
)
def test_bad_policy_is_rejected_naming_the_key(mutate, key):
    mapping = default_mapping()
    mutate(mapping)
    with pytest.raises(PolicyError) as error:
        policy_from_mapping(mapping, base_dir=DEFAULT_POLICY_PATH.parent)
    assert str(error.value).startswith(key), str(error.value)


def test_not_toml_and_missing_file_are_clear(tmp_path):
    broken = tmp_path / "policy.toml"
    broken.write_text("mode = [", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(broken)
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")


def test_mode_override():
    assert load_policy().with_mode("shadow").mode == "shadow"
    with pytest.raises(PolicyError, match="mode"):
        load_policy().with_mode("loud")


def test_a_stance_gate_below_one_half_is_refused_naming_the_key(tmp_path):
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace("min_offer_probability = 0.6", "min_offer_probability = 0.4")
    for name in ("vocabulary.toml", "stance_model.json.gz"):
        text = text.replace(f'"{name}"', f'"{DEFAULT_POLICY_PATH.parent / name}"')
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="stance.min_offer_probability"):
        load_policy(path)


def test_default_policy_weighs_every_registered_signal():
    """A signal registered in streams/core/signals.py needs a weight in the shipped policy;
    without one the worker refuses to start."""
    policy = load_policy()
    assert set(policy.trading_weights) == set(TRADING_CODES)
    assert set(policy.fraud_weights) == set(FRAUD_CODES)


@pytest.mark.parametrize("table, code", [("trading", "middleman"), ("trading", "offer_stance"), ("fraud", "scheme_stance")])
def test_a_registered_signal_without_a_weight_is_refused_naming_it(table, code):
    mapping = default_mapping()
    del mapping["scoring"][table][code]
    with pytest.raises(PolicyError) as error:
        policy_from_mapping(mapping, base_dir=DEFAULT_POLICY_PATH.parent)
    assert str(error.value).startswith(f"scoring.{table}.{code}: no weight"), str(error.value)


def test_an_explicit_zero_weight_turns_a_signal_off():
    mapping = default_mapping()
    mapping["scoring"]["trading"]["middleman"] = [0, 1]
    policy = policy_from_mapping(mapping, base_dir=DEFAULT_POLICY_PATH.parent)
    assert policy.trading_weights["middleman"].weight == 0.0


def test_a_signal_weighed_in_the_wrong_family_is_refused():
    mapping = default_mapping()
    mapping["scoring"]["fraud"]["middleman"] = [0.3, 4]
    with pytest.raises(PolicyError) as error:
        policy_from_mapping(mapping, base_dir=DEFAULT_POLICY_PATH.parent)
    assert str(error.value).startswith("scoring.fraud.middleman: unknown signal code")
