"""Measuring a child process for the benchmarks: wall time and the peak resident memory of its whole
process tree (workers included), sampled from /proc. Shared by bench_audit.py and bench_js.py."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

__all__ = ["run_sampled", "tree_rss_kb"]


def tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants (via /proc/<pid>/task/*/children: cheap)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def run_sampled(
    argv: list[str], *, timeout: float = 3600, **kw: object
) -> tuple[subprocess.CompletedProcess[str], float, int]:
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[call-overload]
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), wall, peak
