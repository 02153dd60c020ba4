"""The acceptance bar on the default simulation (≥ 200 accounts, ≥ 20,000 messages)."""

from __future__ import annotations

import orjson
import pytest

from streams.core.policy import load_policy
from streams.offline.evaluate import evaluate
from streams.offline.replay import replay
from streams.offline.simulate import simulate

NEVER_ACT = ("news_regulator", "compliance_notice", "stock_commentary", "secondhand_goods", "licensed_primary")


@pytest.mark.slow
def test_default_simulation_meets_the_bar():
    simulation = simulate()  # the defaults of `tradewatch simulate`
    assert len(simulation.labels) >= 200 and len(simulation.records) >= 20_000
    lines = [(str(i), orjson.dumps(record)) for i, record in enumerate(simulation.records)]
    result = replay(lines, load_policy(), until="end")
    labels = {label["account_id"]: label for label in simulation.labels}
    evaluation = evaluate(result, labels)
    for score in (evaluation.suspend, evaluation.reminder_or_stronger):
        assert score.precision >= 0.98 and score.recall >= 0.95, score
    touched = {a["account_id"] for a in result.actions}
    assert not [a for a in touched if labels[a]["archetype"] in NEVER_ACT]
