"""The rejection reasons: one registry, used by every module that rejects a message, and the
reference docs' table of them is the registry's own."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from streams.core import rejections
from streams.core.rejections import REJECTION_CODES, REJECTION_REASONS, rejection_reasons_table

ROOT = Path(__file__).resolve().parent.parent
STREAMS = ROOT / "streams"
REGISTRY_MODULE = "streams.core.rejections"
REFERENCE = ROOT / "docs" / "reference.md"

# Reasons some modules still spell out as string literals (or as a literal constant of their
# own). Each must be a registered code; no other module may add one.
LITERAL_SITES: set[tuple[str, str]] = set()


class Site:
    """One place a rejection reason is given: the file, the line, and the reason's source."""

    def __init__(self, path: str, line: int, code: str, literal: bool) -> None:
        self.path, self.line, self.code, self.literal = path, line, code, literal

    def __repr__(self) -> str:
        return f"{self.path}:{self.line}: {self.code!r}{' (literal)' if self.literal else ''}"


def _bindings(tree: ast.Module) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """Module-level names bound to registry constants, names bound to string literals, and
    names bound to the registry module itself."""
    registered: dict[str, str] = {}
    literals: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == REGISTRY_MODULE:
            for alias in node.names:
                registered[alias.asname or alias.name] = getattr(rejections, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "streams.core":
            modules.update(alias.asname or alias.name for alias in node.names if alias.name == "rejections")
        elif isinstance(node, ast.Import):
            modules.update(alias.asname for alias in node.names if alias.name == REGISTRY_MODULE and alias.asname)
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    literals[target.id] = node.value.value
    return registered, literals, modules


def _direct_reason_expressions(tree: ast.AST) -> Iterator[ast.expr]:
    """The first argument of DecodeError(...), the reason of dead_letter_headers(...) and of
    INVALID_EVENTS.labels(...), and the first item of ``….rejected = (reason, detail)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "DecodeError" and node.args:
                yield node.args[0]
            elif name == "dead_letter_headers" and len(node.args) >= 2:
                yield node.args[1]
            elif (name == "labels" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute)
                  and func.value.attr == "INVALID_EVENTS" and len(node.args) >= 2):
                yield node.args[1]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple) and node.value.elts:
            if any(isinstance(target, ast.Attribute) and target.attr == "rejected" for target in node.targets):
                yield node.value.elts[0]


def _assigned_to_reason(function: ast.AST) -> Iterator[ast.expr]:
    """What a variable named ``reason`` is set to in a function."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "reason":
                    yield node.value
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for item, value in zip(target.elts, node.value.elts):
                        if isinstance(item, ast.Name) and item.id == "reason":
                            yield value


def _reason_expressions(tree: ast.Module) -> Iterator[ast.expr]:
    """Every expression that gives a rejection reason: the direct ones, and what ``reason`` is
    set to in a function that gives a variable named ``reason`` as one."""
    yield from _direct_reason_expressions(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(expression, ast.Name) and expression.id == "reason"
            for expression in _direct_reason_expressions(node)
        ):
            yield from _assigned_to_reason(node)


def sites_in(relative: str, source: str) -> tuple[list[Site], list[str]]:
    """The reasons a module gives whose value is known statically, and the places where one
    is given that the scan cannot tell (anything but a reason passed on from where it was
    raised: ``error.reason``, or a variable named ``reason``)."""
    tree = ast.parse(source, filename=relative)
    registered, literals, modules = _bindings(tree)
    sites: list[Site] = []
    unknown: list[str] = []
    pending = list(_reason_expressions(tree))
    while pending:
        expression = pending.pop()
        line = expression.lineno
        if isinstance(expression, ast.IfExp):
            pending += [expression.body, expression.orelse]
        elif isinstance(expression, ast.Constant) and isinstance(expression.value, str):
            sites.append(Site(relative, line, expression.value, literal=True))
        elif isinstance(expression, ast.Name) and expression.id in registered:
            sites.append(Site(relative, line, registered[expression.id], literal=False))
        elif isinstance(expression, ast.Name) and expression.id in literals:
            sites.append(Site(relative, line, literals[expression.id], literal=True))
        elif (isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name)
              and expression.value.id in modules):
            sites.append(Site(relative, line, getattr(rejections, expression.attr, expression.attr), literal=False))
        elif not ((isinstance(expression, ast.Name) and expression.id == "reason")
                  or (isinstance(expression, ast.Attribute) and expression.attr == "reason")):
            unknown.append(f"{relative}:{line}: {ast.unparse(expression)}")
    return sites, unknown


def reason_sites() -> list[Site]:
    """Every rejection reason given in streams/ whose value is known statically."""
    sites: list[Site] = []
    for path in sorted(STREAMS.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative != "streams/core/rejections.py":
            sites += sites_in(relative, path.read_text(encoding="utf-8"))[0]
    return sites


def test_every_reason_given_in_streams_is_known_to_the_scan() -> None:
    unknown = [where for path in sorted(STREAMS.rglob("*.py"))
               for where in sites_in(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))[1]]
    assert unknown == []


def test_the_scan_finds_literals_constants_and_unknowns() -> None:
    source = """
from streams.core.rejections import SCHEMA as S
from streams.core import rejections
OWN = "own_reason"
def f(error, ok):
    raise DecodeError("made_up", "x")
    DecodeError(S if ok else OWN, "x")
    outcome.rejected = (rejections.TOO_DEEP, "x")
    metrics.INVALID_EVENTS.labels(topic, compute()).inc()
    reason, detail = error.reason, error.message
    dead_letter_headers(message, reason, detail)
"""
    sites, unknown = sites_in("m.py", source)
    assert sorted((site.code, site.literal) for site in sites) == [
        ("made_up", True), ("own_reason", True), ("schema", False), ("too_deep", False)]
    assert unknown == ["m.py:9: compute()"]


def test_every_reason_given_in_streams_is_registered() -> None:
    sites = reason_sites()
    assert [site for site in sites if site.code not in REJECTION_CODES] == []


def test_every_registered_reason_is_given_somewhere() -> None:
    assert {site.code for site in reason_sites()} == REJECTION_CODES


def test_reasons_are_registry_constants_outside_the_known_literal_sites() -> None:
    literal = {(site.path, site.code) for site in reason_sites() if site.literal}
    assert literal <= LITERAL_SITES, sorted(literal - LITERAL_SITES)


def test_the_scan_sees_the_modules_that_reject() -> None:
    paths = {site.path for site in reason_sites() if not site.literal}
    assert {"streams/decode/limits.py", "streams/decode/schemas.py", "streams/decode/decoder.py", "streams/intake.py",
            "streams/appeals.py", "streams/app.py", "streams/core/engine.py"} <= paths


def test_the_registry_names_each_reason_once_with_a_one_line_meaning() -> None:
    codes = [reason.code for reason in REJECTION_REASONS]
    assert len(codes) == len(set(codes)) == len(REJECTION_CODES)
    for reason in REJECTION_REASONS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", reason.code), reason
        assert reason.meaning and "\n" not in reason.meaning and "|" not in reason.meaning, reason
    constants = {name: value for name, value in vars(rejections).items() if name.isupper() and isinstance(value, str)}
    assert constants == {code.upper(): code for code in codes}


def test_reference_docs_list_the_registry() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    found = re.search(r"<!-- rejection-reasons -->\n(.*?)\n<!-- /rejection-reasons -->", text, re.DOTALL)
    assert found, f"{REFERENCE} has no rejection-reasons section"
    assert found.group(1) == rejection_reasons_table(), (
        "docs/reference.md is out of date: paste rejection_reasons_table() between the markers"
    )
