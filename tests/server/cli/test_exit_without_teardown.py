"""The hook commands end their process without the interpreter's teardown (server/cli/__init__.py),
and lose nothing by it: non-daemon threads finish, exit handlers run, buffered output is written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROGRAM = r"""
import atexit, sys, threading
from pathlib import Path
from secaudit.server.cli import _exit_without_teardown

out = Path(sys.argv[1])
# Not a daemon, and still waiting to fire when the exit begins: the exit must wait for it.
threading.Timer(0.3, lambda: (out / "thread").write_text("finished")).start()
atexit.register(lambda: (out / "atexit").write_text("ran"))
sys.stdout.write("buffered output")  # no newline, no flush
_exit_without_teardown(7)
"""


def test_threads_exit_handlers_and_output_survive(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "buffered output"
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "atexit").read_text() == "ran"


def test_a_live_executor_does_not_hang_the_exit(tmp_path: Path) -> None:
    # concurrent.futures ends its (non-daemon) worker threads from a threading exit hook, not from
    # atexit: joining them before that hook ran would wait forever.
    program = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from secaudit.server.cli import _exit_without_teardown\n"
        "pool = ThreadPoolExecutor(1)\n"
        "assert pool.submit(lambda: 41 + 1).result() == 42\n"
        "_exit_without_teardown(5)\n"
    )
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5, proc.stderr


def test_only_the_hook_commands_skip_the_teardown() -> None:
    from secaudit.server.cli import parse_args

    hook = parse_args(["hook", "claude", "post-tool-use"])
    assert hook.exit_without_teardown is True
    assert not getattr(parse_args(["findings", "list"]), "exit_without_teardown", False)
