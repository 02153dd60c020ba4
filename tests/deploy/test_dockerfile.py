"""deploy/Dockerfile builds a small, non-root worker image. No Docker engine runs here, so the
instructions are checked as text."""

from __future__ import annotations

import json
import re

from .deploy_files import DEPLOY, DOCKERFILE


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    parsed = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            parsed.append((keyword.upper(), arguments.strip()))
    return parsed


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def arguments(keyword: str, steps: list[tuple[str, str]]) -> list[str]:
    return [args for key, args in steps if key == keyword]


def test_runtime_image_is_python_311_slim() -> None:
    assert final_stage()[0][1].split()[0] == "python:3.11-slim"
    assert all(args.split()[0] == "python:3.11-slim" for args in arguments("FROM", instructions()))


def test_runs_as_a_numeric_non_root_user() -> None:
    """Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd."""
    (user,) = arguments("USER", final_stage())
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_installs_the_built_wheel_with_the_locked_hashes() -> None:
    """The image runs what users install: the wheel, which carries every data file itself
    (tests/test_wheel.py shows a wheel runs from a clean venv), with every dependency checked
    against the hashes of requirements.lock."""
    runs = arguments("RUN", instructions())
    assert any(re.search(r"pip wheel --no-deps --no-build-isolation -w /wheels \.", args) for args in runs)
    assert any(re.search(r"install --require-hashes\s+-c requirements\.lock -r /wheels/tradewatch\.txt", args)
               for args in runs)
    assert not any("_schemas" in args for args in runs)


def test_starts_a_worker_through_the_tradewatch_command() -> None:
    (entrypoint,) = arguments("ENTRYPOINT", final_stage())
    (cmd,) = arguments("CMD", final_stage())
    assert json.loads(entrypoint) == ["tradewatch"]
    assert json.loads(cmd) == ["worker"]


def test_exposes_metrics_and_checks_health() -> None:
    assert "9464" in arguments("EXPOSE", final_stage())
    (healthcheck,) = arguments("HEALTHCHECK", final_stage())
    assert "/healthz" in healthcheck and "9464" in healthcheck
    env = " ".join(arguments("ENV", final_stage()))
    assert "TRADEWATCH_METRICS_ADDR=0.0.0.0:9464" in env


def test_build_context_leaves_out_local_state() -> None:
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "tests"} <= set(ignored)
