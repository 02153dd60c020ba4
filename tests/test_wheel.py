"""The wheel is the product: built from the repository, installed into a clean virtualenv
outside it, its commands run with nothing from the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    [built] = out.glob("tradewatch-*.whl")
    return built


def test_the_wheel_carries_its_data_files_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("streams/schemas/posts.v1.schema.json", "streams/schemas/enforcement.actions.v1.schema.json",
                   "streams/schemas/tradewatch.control.v1.schema.json",
                   "streams/data/policy.default.toml", "streams/data/vocabulary.toml",
                   "streams/data/stance_model.json.gz"):
        assert needed in names
    assert any(name.endswith("licenses/LICENSE") for name in names)


def test_the_installed_wheel_runs_from_a_clean_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    tradewatch = str(venv / "bin" / "tradewatch")

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([tradewatch, *args], cwd=work, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done

    run("simulate", "--accounts", "30", "--days", "4", "--out", "rec.jsonl", "--labels", "labels.jsonl")
    replayed = run("replay", "rec.jsonl", "--out", "actions.jsonl")
    assert "0 invalid" in replayed.stderr and (work / "actions.jsonl").stat().st_size > 0
    assert "precision" in run("evaluate", "--recording", "rec.jsonl", "--labels", "labels.jsonl").stdout
    assert "usage" in run("worker", "--help").stdout
    # a policy change validated as the workers will, with the data files the package ships
    shipped = run("policy", "publish", "--dry-run", "--actor", "bob", "--reason", "r",
                  str(ROOT / "streams" / "data" / "policy.default.toml"))
    assert '"kind":"policy"' in shipped.stdout
    control = ('{"control_id":"a","kind":"allowlist","effective_at":"2026-01-01T00:00:00Z","actor":"a",'
               '"reason":"r","account_id":"gh_x","op":"remove"}')
    decoded = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; from streams.decode import decode_input; "
                              "print(decode_input('tradewatch.control.v1', sys.argv[1]).control_id)", control],
                             cwd=work, capture_output=True, text=True, timeout=60)
    assert decoded.stdout.strip() == "a", decoded.stderr
    assert run("--version").stdout.strip() == "tradewatch 0.1.0"
