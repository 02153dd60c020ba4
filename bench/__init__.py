"""Performance benchmark of tradewatch against a raw aiokafka loop and a bare Faust agent.

Run with ``python -m bench [--quick]``; see bench/README.md for what each number means.
"""
