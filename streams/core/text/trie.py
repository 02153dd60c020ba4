"""One regex for many literal terms, shaped as a trie for CPython's regex engine.

Every vocabulary term is found in a single pass over a post; a flat alternation of hundreds of
terms would try each of them at every position.
"""

from __future__ import annotations

import re
from typing import Any

from streams.core.text.normalise import is_word_char

# Characters most frequent in Chinese text, then English letters by frequency: the trie's first
# level is tried in this order, and the regex engine checks alternatives one by one.
_FREQUENT_FIRST = (
    "，。,、的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于"
    "着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小"
    "部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又"
    "关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月"
    "话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口"
    "认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直"
    "德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思"
    "王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候"
    "带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存"
    "未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病"
    "息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧"
    "阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半"
    "节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型"
    "料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千"
    "值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰"
    "etaoinshrdlcumwfgypbvkjxqz0123456789"
)
_FREQUENT_RANK = {ch: rank for rank, ch in enumerate(_FREQUENT_FIRST)}


def trie_regex(terms: list[str], group_size: int = 64) -> str:
    """One regex for many literals, factored as a trie so each position costs one branch per
    character instead of one per term; greedy, so the longest term at a position wins.

    Shaped for CPython's regex engine: every top-level alternative starts with a plain
    character, so the engine can skip positions no term starts at, and the first level is
    ordered by character frequency. Latin words match whole words only ("no" not in "now"):
    a look-behind after the first character and a look-ahead at the end of the term.
    """
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict[str, Any], last_char: str) -> str:
        branches = [re.escape(ch) + build(child, ch)
                    for ch, child in sorted(node.items()) if ch != ""]
        if "" in node:
            end = "(?![a-z0-9])" if is_word_char(last_char) else ""
            return "(?:" + "|".join(branches + [end]) + ")" if branches else end
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    first_level = sorted((ch for ch in root if ch != ""),
                         key=lambda ch: (_FREQUENT_RANK.get(ch, len(_FREQUENT_RANK)), ch))
    alternatives = []
    for ch in first_level:
        guard = "(?<![a-z0-9].)" if is_word_char(ch) else ""
        alternatives.append(re.escape(ch) + guard + build(root[ch], ch))
    if len(alternatives) <= group_size:
        return "|".join(alternatives)
    # Hundreds of first characters (the CJK trie): the engine would try them one by one at
    # every position that starts a term. In groups of group_size, each behind a look-ahead
    # for its first characters, a position tries one look-ahead per group and then one
    # group. Each alternative starts with its own first character, so at most one of them
    # can match at a position, wherever it is listed: the matches are the same. The outer
    # look-ahead lets positions that start no term fail at once.
    groups = []
    for index in range(0, len(alternatives), group_size):
        chars = first_level[index:index + group_size]
        groups.append(f"(?={_char_class(chars)})(?:{'|'.join(alternatives[index:index + group_size])})")
    return f"(?={_char_class(first_level)})(?:{'|'.join(groups)})"


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(re.escape(ch) for ch in chars) + "]"

