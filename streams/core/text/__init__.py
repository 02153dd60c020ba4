"""Text signals: which trading or fraud cues a post's title and body carry.

:mod:`~streams.core.text.normalise` folds disguised spellings, :mod:`~streams.core.text.matching`
finds vocabulary terms (``TextMatcher``), and one module per context rule decides which found
terms count: negation, business contacts, quotation, collectible context and reporting.
"""
