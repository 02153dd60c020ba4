"""Terminal columns for text that mixes Chinese and Latin: a CJK character takes two cells."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Cells the text takes on a terminal (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, cells: int) -> str:
    """``text`` left-aligned in ``cells`` terminal cells (as ``f"{text:<cells}"`` does for ASCII)."""
    return text + " " * max(0, cells - width(text))
