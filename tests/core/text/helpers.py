"""Candidates and posts for testing one context rule at a time."""

from __future__ import annotations

from streams.core.text.candidate import ALIVE, Candidate


def candidate(start: int, end: int | None = None, *, code: str = "trading_venue", clause: int = 0,
              sentence: int = 0, solicits: bool = False) -> Candidate:
    """A live candidate, laid out as the matcher builds it."""
    return [code, code, start, start + 2 if end is None else end, clause, True, solicits, sentence]


def alive(candidates: list[Candidate]) -> list[bool]:
    return [c[ALIVE] for c in candidates]


CRACKDOWN_NEWS = (
    "十余家数字藏品平台公众号被封禁",
    "据新华社报道，3月下旬，某社交平台封禁了十余家数字藏品平台的公众号，此前已下架其小程序。"
    "记者调查发现，这些平台大多开放二级市场，允许用户寄售、转售藏品，部分藏品地板价较发售价溢价"
    "上百倍，一日牛熊，炒作明显，还有人在群内私下交易，用USDT结算。业内专家表示，监管部门已明确"
    "数字藏品不得开展二级交易，提醒广大投资者谨防炒作，远离场外交易。",
)
