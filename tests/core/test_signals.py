"""The signal registry: one list every signal set comes from, and nothing that emits or
weighs a signal outside it."""

from __future__ import annotations

import inspect
import re
import tomllib

from streams.core import behaviour
from streams.core.behaviour import BEHAVIOUR_RULES
from streams.core.policy import load_policy
from streams.core.signals import (
    BEHAVIOUR_SIGNAL_CODES,
    FAMILIES,
    SIGNALS,
    SOURCES,
    STANCE_SIGNAL_CODES,
    TEXT_SIGNAL_CODES,
)
from streams.core.stance import OFFER_STANCE, SCHEME_STANCE


def test_codes_are_unique_and_each_has_a_family_a_source_and_a_summary():
    assert len({s.code for s in SIGNALS}) == len(SIGNALS)
    for signal in SIGNALS:
        assert re.fullmatch(r"[a-z][a-z_]*", signal.code), signal.code
        assert signal.family in FAMILIES, signal.code
        assert signal.sources and set(signal.sources) <= set(SOURCES), signal.code
        assert signal.summary and len(signal.summary) <= 100, signal.code


def test_every_behaviour_signal_is_emitted_by_exactly_one_rule():
    emitted = [code for rule in BEHAVIOUR_RULES for code in rule.emits]
    assert sorted(emitted) == sorted(BEHAVIOUR_SIGNAL_CODES), (
        "register each behaviour signal in streams/core/signals.py and list it in the "
        "`emits` of the BehaviourRule whose function produces it"
    )


def test_behaviour_rules_emit_only_what_they_declare():
    source = inspect.getsource(behaviour)
    written = set(re.findall(r'hits\["([a-z_]+)"\]', source))
    declared = {code for rule in BEHAVIOUR_RULES for code in rule.emits}
    assert written == declared, f"written but not declared: {written - declared}; declared, never written: {declared - written}"
    for rule in BEHAVIOUR_RULES:
        assert rule.name and callable(rule.apply)
        assert rule.event_types is None or rule.event_types, rule.name


def test_every_text_signal_has_terms_in_the_shipped_vocabulary():
    vocabulary = tomllib.loads(load_policy().vocabulary_path.read_text(encoding="utf-8"))
    without = [code for code in TEXT_SIGNAL_CODES if not vocabulary.get(code, {}).get("terms")]
    assert not without, f"text signals with no terms in the vocabulary: {without}"


def test_the_stance_codes_are_registered():
    assert set(STANCE_SIGNAL_CODES) == {OFFER_STANCE, SCHEME_STANCE}

