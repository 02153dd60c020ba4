"""Reading a process's memory from /proc (Linux): current and peak resident set size."""

from __future__ import annotations

from pathlib import Path


def status_bytes(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (``VmRSS``, ``VmHWM``) in bytes; 0 if unavailable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmRSS")


def peak_rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmHWM")
