"""The README documents what the code does: its configuration table is the code's."""

from __future__ import annotations

import re
from pathlib import Path

from streams.cli import settings_table
from streams.config import SETTINGS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_configuration_table_matches_the_settings():
    text = README.read_text(encoding="utf-8")
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", text, re.S)
    assert table, "README lost its settings table markers"
    assert table.group(1) == settings_table()
    for setting in SETTINGS:
        assert setting.env in text


def test_readme_names_the_two_commands_and_they_exist():
    text = README.read_text(encoding="utf-8")
    root = README.parent
    for command in ("scripts/demo", "scripts/test"):
        assert command in text
        assert (root / command).stat().st_mode & 0o111, f"{command} is not executable"


def test_metrics_table_matches_the_registry():
    from streams.metrics import metrics_table

    text = README.read_text(encoding="utf-8")
    table = re.search(r"<!-- metrics-table -->\n(.*?)\n<!-- /metrics-table -->", text, re.S)
    assert table and table.group(1) == metrics_table()
