"""`secaudit ... | head`: a reader that stops early is not an internal error.

Whether a write to a closed pipe raises EPIPE or delivers SIGPIPE first depends on the kernel
(this sandbox's does the latter, and the process then exits 0), so these tests give the CLI a
stdout that fails the way a closed pipe does in Python, and check what the CLI makes of it.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from secaudit.server.cli import EXIT_BROKEN_PIPE, entry, main
from secaudit.server.settings import Settings
from tests.support.cli import cli_env


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key, value in cli_env(settings).items():
        if key.startswith("SECAUDIT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.stdin", io.StringIO("text without secrets\n" * 100))
    return monkeypatch


def test_a_write_to_a_closed_stdout_exits_141_without_an_error(
    cli: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.setattr("sys.stdout", ClosedPipe())
    assert main(["mask"]) == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""  # no "internal error", no traceback


def test_output_still_buffered_at_exit_meets_the_closed_pipe_in_entry(
    cli: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class FailsOnFlush(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    cli.setattr("sys.stdout", FailsOnFlush())
    cli.setattr("sys.argv", ["secaudit", "mask"])
    with pytest.raises(SystemExit) as exited:
        entry()
    assert exited.value.code == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_the_audit_table_into_a_closed_pipe_exits_141_not_1(settings: Settings) -> None:
    # rich's own answer to a closed pipe is exit 1, which reads as "findings found"
    # (server/cli/console.py). A real pipe whose reader stopped after one line, as `| head -1`.
    root = settings.allowed_roots[0]
    (root / "app.py").write_text("".join(f"eval(input({n}))\n" for n in range(2000)))  # > a pipe buffer
    env = {**os.environ, **cli_env(settings)}
    command = [
        sys.executable,
        "-m",
        "secaudit.server",
        "audit",
        str(root),
        "--scanners",
        "bandit",
        "--fail-on",
        "none",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader is gone
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err and "internal error" not in err
