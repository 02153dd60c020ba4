"""Text normalisation: the one form that vocabulary terms and post text are both matched in.

Posters hide trading words from filters with full-width letters, separators inside words
("二*级市场", "数❤藏"), letter-by-letter spellings ("u s d t") and tone-marked pinyin; all of
that folds away here, while clause breaks (which bound negation) are kept.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
# Clause breaks (after NFKC): they bound negation scope, so they are never removed as disguise
# separators. A full stop counts only when followed by a space ("no. 1" vs "1.5").
BREAK_CHARS = "。!?;,\n"
BREAK_TERMS = tuple(BREAK_CHARS) + (". ",)
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u20e3\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]+"
)


def _separator_class() -> str:
    """A regex class of characters posters put inside words to hide them from filters.

    Whitespace, punctuation (except clause breaks and 、), symbols and emoji: computed from
    Unicode categories once, over the blocks where such characters live, so normalising stays
    a few C-level regex passes instead of a per-character Python loop.
    """
    blocks = [(0x20, 0x7F), (0xA0, 0x2BFF), (0x2E00, 0x2E7F), (0x3000, 0x303F),
              (0xFE10, 0xFE6F), (0xFF00, 0xFFEF)]
    # quotation marks are kept: they tell a mention ("保本回购"是骗局) from an offer
    keep = set(BREAK_CHARS) | set("，！？；") | {"、"} | set("\u201c\u201d\u300c\u300d\u300e\u300f()")
    members: list[int] = []
    for low, high in blocks:
        for cp in range(low, high + 1):
            ch = chr(cp)
            if ch in keep:
                continue
            cat = unicodedata.category(ch)
            if cat[0] in "PSZ" or cat in ("Cf", "Co") or (ch.isspace() and ch != "\n"):
                members.append(cp)
    ranges: list[str] = []
    start = prev = members[0]
    for cp in members[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        ranges.append(re.escape(chr(start)) if start == prev
                      else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
        start = prev = cp
    # Emoji planes as one range: the regex engine tests non-BMP ranges one by one, so many
    # small ranges there would make every character check slow.
    return "[" + "".join(ranges) + "\U0001f000-\U0001faff]"


_SEP = _separator_class()
# Separators between two Han characters, or between Han and a Latin letter/digit: "二 级 市 场",
# "二*级", "数❤藏", "薇❤ abc123". Between two Latin words a space is meaningful and stays.
_HAN_SEPARATOR_RE = re.compile(
    f"(?<=[{_HAN}]){_SEP}+(?=[{_HAN}a-z0-9])|(?<=[a-z0-9]){_SEP}+(?=[{_HAN}])"
)
# Single Han characters split by commas: "二，级，市，场" (three or more, never a real sentence).
_SPACED_HAN_RE = re.compile(f"(?<![{_HAN}])[{_HAN}](?:[,、.。]+[{_HAN}]){{2,}}(?![{_HAN}])")
# Single Latin letters/digits split by separators: "u s d t", "n.f.t".
_SPACED_LATIN_RE = re.compile(
    f"[a-z0-9](?<![a-z0-9]..)(?:{_SEP}+[a-z0-9]){{2,}}(?![a-z0-9])")
# Full-width forms are the only NFKC change most Chinese posts need; replacing just them and
# checking is_normalized is several times faster than a full NFKC of every post.
_FULLWIDTH_RE = re.compile("[\u3000\uff01-\uff5e]+")
_NON_WORD_RE = re.compile(f"[^{_HAN}a-z0-9]+")
_LATIN_HYPHEN_RE = re.compile(r"[-_](?<=[a-z].)[-_]*(?=[a-z])")
_SPACES_RE = re.compile(r"[^\S\n]+")


def _nfkc_match(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def _strip_non_word(match: re.Match[str]) -> str:
    return _NON_WORD_RE.sub("", match.group())


_TONE_MARKED_RE = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")


def _strip_marks(letter: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", letter) if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Return the form all matching runs on.

    NFKC (full-width → ASCII), lower case, invisible characters removed, curly apostrophes
    straightened, disguise separators inside CJK words removed, letter-by-letter spellings
    collapsed, hyphens inside English compounds turned into spaces ("buy-back" = "buy back"),
    whitespace runs collapsed. Clause breaks (。，!? and line breaks) are kept.
    """
    text = _FULLWIDTH_RE.sub(_nfkc_match, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE_RE.sub("", text.lower())
    if _TONE_MARKED_RE.search(text):  # pinyin with tone marks ("jì售") reads as plain letters
        text = _TONE_MARKED_RE.sub(lambda m: _strip_marks(m.group()), text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _HAN_SEPARATOR_RE.sub("", text)
    text = _SPACED_HAN_RE.sub(_strip_non_word, text)
    text = _SPACED_LATIN_RE.sub(_strip_non_word, text)
    if "-" in text or "_" in text:
        text = _LATIN_HYPHEN_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text)



@functools.lru_cache(maxsize=4096)
def normalised_title(title: str) -> str:
    """:func:`normalise` of a post title: accounts reuse a few titles ("新品上线", "空投")."""
    return normalise(title)


def is_word_char(ch: str) -> bool:
    """A Latin letter or digit: Latin terms match whole words only."""
    return ch.isascii() and ch.isalnum()
