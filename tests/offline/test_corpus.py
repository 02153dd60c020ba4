"""The corpus written blind: what the shipped detector does on it, and where its model comes from."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from streams.cli import main
from streams.core.policy import load_policy
from streams.core.stance import DEFAULT_MODEL_PATH
from streams.core.timefmt import parse_time
from streams.offline.evaluate import evaluate, read_labels
from streams.offline.replay import read_recording, replay
from streams.offline.train_stance import read_posts, simulated_posts, train

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
UNTIL = parse_time("2022-04-20T00:00:00+08:00")


@pytest.fixture(scope="module", params=["dev", "sealed"])
def judged(request):
    part = request.param
    labels = read_labels(CORPUS / f"timelines.{part}.labels.jsonl")
    result = replay(read_recording([CORPUS / f"timelines.{part}.jsonl.gz"]), load_policy(), until=UNTIL)
    return part, labels, result


def test_no_benign_account_gets_any_action(judged):
    _, labels, result = judged
    benign = {account for account, label in labels.items() if label["expected"] == "none"}
    assert len(benign) >= 25
    assert [a for a in result.actions if a["account_id"] in benign] == []


def test_accounts_that_trade_or_defraud_are_found(judged):
    part, labels, result = judged
    evaluation = evaluate(result, labels)
    assert evaluation.suspend.precision >= 0.98 and evaluation.suspend.recall >= 0.95, part
    assert evaluation.reminder_or_stronger.precision >= 0.98 and evaluation.reminder_or_stronger.recall >= 0.95, part


def test_every_post_an_action_cites_is_named_as_an_offer_with_its_stance(judged):
    part, _, result = judged
    posts = {orjson.loads(raw)["value"]["event_id"] for _, raw in read_recording([CORPUS / f"timelines.{part}.jsonl.gz"])
             if raw.startswith(b'{"topic": "posts.v1"')}
    assert posts
    cited_somewhere = False
    for action in result.actions:
        stance = {e for r in action["reasons"] if r["code"] in ("offer_stance", "scheme_stance") for e in r["evidence"]}
        cited = {e for r in action["reasons"] for e in r["evidence"]} & posts
        assert cited <= stance
        cited_somewhere |= bool(cited)
    assert cited_somewhere


@pytest.mark.slow
def test_the_shipped_model_is_what_training_on_the_development_part_builds():
    posts = read_posts(CORPUS / "posts.dev.jsonl") + simulated_posts()
    shipped = orjson.loads(gzip.decompress(DEFAULT_MODEL_PATH.read_bytes()))
    model = train(posts, version=shipped["version"])
    assert orjson.loads(orjson.dumps(model.to_mapping())) == shipped


def test_training_refuses_the_sealed_part(tmp_path, capsys):
    code = main(["train-stance", str(CORPUS / "posts.sealed.jsonl"), "--out", str(tmp_path / "m.json.gz"),
                 "--version", "x"])
    assert code == 2 and "sealed" in capsys.readouterr().err
    assert not (tmp_path / "m.json.gz").exists()
