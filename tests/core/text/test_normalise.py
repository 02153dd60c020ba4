"""Normalisation: disguised spellings fold into the form the vocabulary is matched in."""

from __future__ import annotations

import pytest

from streams.core.text.normalise import BREAK_CHARS, is_word_char, normalise, normalised_title


@pytest.mark.parametrize(
    "disguised",
    ["二 级 市 场", "二*级*市*场", "二·级-市_场", "二❤级😀市|场", "二\u200b级\u200d市场",
     "二，级，市，场", "二级 市场"],
)
def test_normaliser_removes_separators_hiding_a_chinese_word(disguised: str) -> None:
    assert "二级市场" in normalise(disguised)


def test_normaliser_folds_full_width_and_case() -> None:
    assert normalise("ＵＳＤＴ结算，ＮＦＴ") == "usdt结算,nft"


def test_normaliser_keeps_clause_breaks_and_english_word_spaces() -> None:
    assert normalise("不开放二级市场。欢迎 交易") == "不开放二级市场。欢迎交易"
    assert normalise("secondary  market,\tnow open") == "secondary market, now open"


def test_normaliser_collapses_letter_by_letter_spelling() -> None:
    assert "usdt" in normalise("支持 U S D T 支付")


def test_normaliser_reads_tone_marked_pinyin_as_plain_letters() -> None:
    assert normalise("jì售") == "ji售"


def test_normaliser_joins_english_compounds_with_a_space() -> None:
    assert normalise("Buy-back guaranteed") == "buy back guaranteed"


def test_normaliser_keeps_quotation_marks() -> None:
    assert normalise("“保本回购”是骗局") == "“保本回购”是骗局"


@pytest.mark.parametrize("mark", list(BREAK_CHARS))
def test_clause_breaks_are_never_disguise_separators(mark: str) -> None:
    assert normalise(f"甲{mark}乙") == f"甲{mark}乙"


def test_titles_normalise_like_text() -> None:
    assert normalised_title("ＮＦＴ 新 品") == normalise("ＮＦＴ 新 品")


@pytest.mark.parametrize(("ch", "expected"), [("a", True), ("7", True), ("二", False), ("é", False), (",", False)])
def test_word_characters_are_latin_letters_and_digits(ch: str, expected: bool) -> None:
    assert is_word_char(ch) is expected
