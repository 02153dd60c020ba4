"""The signing core stays sans-I/O: a downstream verifier imports it without the CLI, Kafka or configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import streams.signing.core

FORBIDDEN_MODULES = ("argparse", "asyncio", "aiokafka", "faust", "streams.config")


def test_importing_the_core_loads_no_cli_kafka_or_configuration_modules():
    probe = (
        "import sys, streams.signing.core\n"
        f"print(','.join(name for name in {FORBIDDEN_MODULES!r} if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_core_reads_no_environment_and_opens_no_files():
    source = Path(streams.signing.core.__file__).read_text()
    assert "os.environ" not in source
    assert "open(" not in source
