"""The documentation says what the code does: its tables are generated from the code, and
nothing in the repository points at a file the repository does not contain."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from streams.cli import settings_table
from streams.core.signals import signals_table
from streams.metrics import metrics_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
REFERENCE = ROOT / "docs" / "reference.md"


def marked(text: str, name: str) -> str:
    found = re.search(rf"<!-- {name} -->\n(.*?)\n<!-- /{name} -->", text, re.S)
    assert found, f"docs/reference.md lost its {name} markers"
    return found.group(1)


@pytest.mark.parametrize(("name", "render"), [
    ("settings-table", settings_table),
    ("metrics-table", metrics_table),
    ("signals-table", signals_table),
])
def test_reference_tables_are_generated_from_the_code(name, render):
    assert marked(REFERENCE.read_text(encoding="utf-8"), name) == render(), (
        f"docs/reference.md is out of date: paste {render.__name__}() between the {name} markers"
    )


def test_readme_names_the_two_commands_and_they_exist():
    text = README.read_text(encoding="utf-8")
    for command in ("scripts/demo", "scripts/test"):
        assert command in text
        assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"


def test_readme_fits_on_a_few_screens():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


# ---------------------------------------------------------------- references

TOP = ("streams", "tests", "docs", "deploy", "bench", "scripts", "corpus", ".ci")
# a path in the repository: starts at a top-level directory, or is a root file
TOPS = "|".join(re.escape(top) for top in TOP)
PATH = re.compile(rf"(?<![\w./-])((?:{TOPS})/[\w./@+-]*[\w/]|[A-Z][A-Z_]+\.md)")
WRITTEN_BY_COMMANDS = {"bench/results/latest.json"}  # python -m bench
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    keep = (".py", ".md", ".toml", ".yml", ".yaml", ".json", ".sh", ".cfg", ".txt")
    return [ROOT / name for name in listed
            if (name.endswith(keep) or name.startswith(("scripts/", ".ci/"))) and (ROOT / name).is_file()
            and not name.endswith(("vectors.json", ".jsonl")) and "/results/" not in name]


def resolves(reference: str, where: Path) -> bool:
    reference = reference.rstrip(".,:;").split(":")[0]
    if any(mark in reference for mark in ("<", "*", "{", "$")):
        return True  # a pattern or a placeholder, not a file
    for base in (ROOT, where.parent):
        candidate = base / reference
        if candidate.exists():
            return True
    # the stem of a name built in code (f"kafka-{version}-jars.sha256"), or a file a command writes
    return bool(list(ROOT.glob(reference + "*"))) or reference in WRITTEN_BY_COMMANDS


def test_no_reference_points_at_a_file_the_repository_does_not_contain():
    missing = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        found = set(PATH.findall(text))
        if path.suffix == ".md":
            found |= {link for link in LINK.findall(text) if "://" not in link and not link.startswith("mailto:")}
        for reference in sorted(found):
            if not resolves(reference, path):
                missing.append(f"{path.relative_to(ROOT)}: {reference}")
    assert not missing, "references to files that do not exist:\n" + "\n".join(missing)


# how code came to be written is not what a reader of the code needs
PROVENANCE = re.compile(
    r"\b(the lead|the worker brief|this session|an earlier session|subagent|as instructed|we were asked|"
    r"the issue says|issue \d+\b(?!\s*\())", re.I)


def test_no_comment_speaks_of_how_the_code_was_written():
    said = []
    for path in tracked_text_files():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if PROVENANCE.search(line):
                said.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not said, "\n".join(said)


def test_every_topic_is_in_the_reference_and_the_design():
    from streams.topics import TOPIC_SPECS

    reference = REFERENCE.read_text(encoding="utf-8")
    design = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    for spec in TOPIC_SPECS:
        assert f"| `{spec.name}` |" in reference, f"docs/reference.md: no row for {spec.name} in the topics table"
        assert spec.name in design, f"docs/design.md: {spec.name} is not described"


def test_every_test_a_recipe_names_exists():
    """CONTRIBUTING.md's recipes name the test that fails when a step is forgotten: each must exist."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)(?:\[[^\]]*\])?`", text)
    assert len(named) >= 8, "the recipes lost their named tests"
    for path, test in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^def {test}\(", source, re.M), f"CONTRIBUTING.md names {path}::{test}, which does not exist"
