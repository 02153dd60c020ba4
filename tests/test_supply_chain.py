"""Every third-party package is installed only as a file whose sha256 requirements.lock lists:
the lock pins what constraints.txt pins (plus the build tools), and bootstrap and the image
install from it with --require-hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
LOCK = ROOT / "requirements.lock"
BOOTSTRAP = ROOT / "scripts" / "bootstrap"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
LOCK_SCRIPT = ROOT / "scripts" / "lock"
# in the lock but not in constraints.txt: pip (bootstrap upgrades it) and the build backend
# (the project is installed with --no-build-isolation)
BUILD_TOOLS = {"pip", "setuptools", "wheel"}
HASH = re.compile(r"--hash=sha256:([0-9a-f]*)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0))


def constraints() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[normalise(name)] = version
    return pins


def lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 digests), from the lock's continuation-joined lines."""
    entries = {}
    for line in LOCK.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        assert version, f"requirements.lock: not pinned with ==: {requirement}"
        assert all(option.startswith("--hash=sha256:") for option in options), f"requirements.lock: {line[:80]}"
        assert normalise(name) not in entries, f"requirements.lock: {name} is listed twice"
        entries[normalise(name)] = (version, HASH.findall(line))
    return entries


def commands(path: Path, tool: str) -> list[str]:
    """Each `pip install` in a shell script or Dockerfile, continuation lines joined."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    return [" ".join(match.group(0).split()) for match in re.finditer(rf"{tool} (?:--python \S+ )?install\b[^;&|\n]*", text)]


def test_every_constraint_is_locked_in_the_same_version_with_a_hash():
    locked = lock()
    for name, version in constraints().items():
        assert name in locked, f"{name} is in constraints.txt but not in requirements.lock: run scripts/lock"
        assert locked[name][0] == version, (
            f"{name}: constraints.txt pins {version}, requirements.lock {locked[name][0]}: run scripts/lock")
        assert locked[name][1], f"requirements.lock: {name} has no sha256 hash"


def test_the_lock_pins_nothing_else_but_the_build_tools():
    extra = set(lock()) - set(constraints())
    assert extra == BUILD_TOOLS, f"in requirements.lock but not in constraints.txt: {sorted(extra - BUILD_TOOLS)}"


def test_every_hash_is_a_sha256_digest():
    for name, (_, digests) in lock().items():
        assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in digests), f"requirements.lock: {name}"
        assert len(set(digests)) == len(digests), f"requirements.lock: {name} lists a hash twice"


def test_the_build_tools_are_the_ones_scripts_lock_pins():
    listed = re.search(r"^BUILD_TOOLS = \[(.*)\]$", LOCK_SCRIPT.read_text(encoding="utf-8"), re.M)
    assert listed, "scripts/lock lost its BUILD_TOOLS list"
    pinned = {normalise(name): version for name, version in re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', listed.group(1))}
    assert set(pinned) == BUILD_TOOLS, f"scripts/lock pins {sorted(pinned)} as build tools"
    locked = lock()
    for name, version in pinned.items():
        assert locked[name][0] == version, f"{name}: scripts/lock pins {version}, requirements.lock {locked[name][0]}"


def test_the_lock_covers_the_declared_requirements_and_the_build_backend():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = [*project["build-system"]["requires"], *project["project"]["dependencies"],
                *(requirement for extra in project["project"]["optional-dependencies"].values() for requirement in extra)]
    missing = {requirement_name(requirement) for requirement in declared} - set(lock())
    assert not missing, f"pyproject.toml requires {sorted(missing)}, which requirements.lock does not pin"


def test_bootstrap_installs_third_party_packages_only_with_hashes():
    installs = commands(BOOTSTRAP, r"\.venv/bin/pip")
    assert ".venv/bin/pip install --require-hashes --no-deps -r requirements.lock" in installs, installs
    assert ".venv/bin/pip install --no-deps --no-build-isolation -e ." in installs, installs
    for install in installs:
        assert "--require-hashes" in install or install.split()[2:] == ["--no-deps", "--no-build-isolation", "-e", "."], install
    text = BOOTSTRAP.read_text(encoding="utf-8")
    assert ".venv/bin/pip check" in text, "scripts/bootstrap must run pip check after installing"
    assert re.search(r"stamp=.*cat pyproject\.toml constraints\.txt requirements\.lock \| sha256sum", text), (
        "scripts/bootstrap's stamp must change with requirements.lock")


def test_the_image_installs_only_with_hashes_from_the_lock():
    installs = commands(DOCKERFILE, r"/opt/\w+/bin/pip")
    assert installs, "deploy/Dockerfile installs nothing with pip"
    for install in installs:
        assert "--require-hashes" in install and "requirements.lock" in install, install
    assert "--no-build-isolation" in DOCKERFILE.read_text(encoding="utf-8"), "the wheel's build backend must come from the lock"
