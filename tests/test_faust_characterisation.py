"""What tradewatch relies on in faust-streaming's internals, pinned so an upgrade that changes it fails here."""

from __future__ import annotations

import inspect

import faust
from faust.app.base import App

from streams.app import WatermarkApp


def test_faust_asks_the_app_hook_before_committing_at_every_rebalance_and_at_shutdown():
    """WatermarkApp overrides ``_consumer_wait_empty``: Faust must still call it on revoke and stop."""
    assert inspect.iscoroutinefunction(App._consumer_wait_empty)
    assert "_consumer_wait_empty" in inspect.getsource(App._on_partitions_revoked)
    assert "_consumer_wait_empty" in inspect.getsource(App._stop_consumer)
    assert WatermarkApp._consumer_wait_empty is not App._consumer_wait_empty


def test_the_pinned_faust_version():
    assert faust.__version__ == "0.15.3"
