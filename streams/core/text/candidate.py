"""A signal term found in a post, as the context rules see it.

A candidate is a plain list (cheaper than an object on the per-post hot path). The matcher
builds it; each context rule reads its fields by these indexes and clears ``ALIVE`` to cancel it.
"""

from __future__ import annotations

from typing import Any

Candidate = list[Any]

CODE = 0  # the signal code (one of TEXT_SIGNAL_CODES)
DISPLAY = 1  # the term as written in the vocabulary, or the pattern's name
START = 2  # span in the normalised "title\ntext"
END = 3
CLAUSE = 4  # index of the clause (text between clause breaks) the term is in
ALIVE = 5  # False once a context rule has cancelled the term
SOLICITS = 6  # a concrete contact handle or wallet address
SENTENCE = 7  # index of the sentence (clause breaks other than the comma) the term is in
