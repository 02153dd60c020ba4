"""docs/runbook.md, rendered from deploy/prometheus/alerts.yml: one section per alert, which
each alert's ``runbook_url`` points to. alerts.yml is the source; regenerate with

    .venv/bin/python -m tests.deploy.runbook
"""

from __future__ import annotations

import re
import textwrap
import tomllib
from typing import Any

from tests.deploy.deploy_files import REPO_ROOT, alert_rules

RUNBOOK = REPO_ROOT / "docs" / "runbook.md"


def runbook_url() -> str:
    """The runbook's published address, declared once in pyproject.toml ([project.urls])."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["urls"]["Runbook"]


def anchor(alert: str) -> str:
    """The heading anchor GitHub and most Markdown renderers give ``## Alert``."""
    return re.sub(r"[^a-z0-9-]", "", alert.lower())


def _paragraph(text: Any) -> str:
    return "\n".join(textwrap.wrap(" ".join(str(text).split()), 92))


def render(rules: list[dict[str, Any]] | None = None) -> str:
    rules = alert_rules() if rules is None else rules
    out = [
        "# Runbook: tradewatch alerts",
        "",
        "<!-- Generated from deploy/prometheus/alerts.yml by `python -m tests.deploy.runbook`; edit",
        "     the alert rules, not this file. -->",
        "",
        "Every alert in `deploy/prometheus/alerts.yml` links here (`runbook_url`). Severity",
        "`critical` pages the on-call; `warning` is for today. Each section says what fired and what",
        "to do first.",
        "",
    ]
    for rule in rules:
        notes = rule.get("annotations", {})
        out += [
            f"## {rule['alert']}",
            "",
            f"**Severity:** {rule.get('labels', {}).get('severity', '?')} · **fires after:** "
            f"{rule.get('for', '0m')} · **expression:** `{' '.join(str(rule['expr']).split())}`",
            "",
            "**What happened.** " + _paragraph(notes.get("description", "")),
            "",
            "**What to do.** " + _paragraph(notes.get("runbook", "")),
            "",
        ]
    return "\n".join(out)


if __name__ == "__main__":
    RUNBOOK.write_text(render(), encoding="utf-8")
    print(f"wrote {RUNBOOK.relative_to(REPO_ROOT)}")
