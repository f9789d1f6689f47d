"""semgrep processes started ahead of the scan that will want them (`SemgrepScanner.start_early`).

An agent hook scans one just-edited file in a fresh process, and most of that process's life goes
to importing Python modules and opening the store; semgrep is a separate program that needs none of
it. So the hook starts semgrep on that file first, and the scan, when its turn comes, takes the
running process instead of starting its own, but only when it would have run the very same
command line over the very same content (the file's sha256 as read before the start, and the
file's stat then equal to the one the scan's walk took): anything
else (the file edited again, other options, the Python command line) discards it and the scan
starts semgrep as usual. What was started and never taken is killed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from secaudit.tools.engines.semgrep import kill_group

__all__ = ["EarlyRun", "discard_all", "register", "take"]


@dataclass
class EarlyRun:
    root: str  # the audited root, as the scan's context names it
    rel: str  # the one target
    digest: str  # sha256 of the target's content when semgrep was started
    # The target's lstat right after that read. The scan's walk must have seen the very same one:
    # any write since moves ctime, so content that changed and changed back (the digest alone would
    # match) is not taken for the content semgrep read.
    stat: os.stat_result
    argv: list[str]  # the command line as the scanner builds it (before Engine.launch)
    proc: subprocess.Popen[bytes]
    scratch: Path  # its private HOME and output files, removed with it
    out: Path
    err: Path

    def discard(self) -> None:
        """End it (unless already reaped: its pid may be another process's by now) and its files."""
        if self.proc.returncode is None:
            kill_group(self.proc)
        shutil.rmtree(self.scratch, ignore_errors=True)


_lock = threading.Lock()
_runs: dict[tuple[str, str], EarlyRun] = {}
_at_exit = False


def register(run: EarlyRun) -> None:
    """Hold `run` for the scan of its file (replacing, and ending, an older one for that file)."""
    global _at_exit
    with _lock:
        old = _runs.pop((run.root, run.rel), None)
        _runs[(run.root, run.rel)] = run
        if not _at_exit:
            atexit.register(discard_all)
            _at_exit = True
    if old is not None:
        old.discard()


def take(root: str, rel: str) -> EarlyRun | None:
    """The run started for `rel` of `root`, now the caller's (to use or discard), or None."""
    with _lock:
        return _runs.pop((root, rel), None)


def discard_all() -> None:
    """End every run nobody took (at exit)."""
    with _lock:
        runs = list(_runs.values())
        _runs.clear()
    for run in runs:
        run.discard()
