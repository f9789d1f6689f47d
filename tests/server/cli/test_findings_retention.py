"""`secaudit findings` on runs pruned by the run-history retention: real processes on a real store."""

from __future__ import annotations

import subprocess
import sys

from secaudit.server.context import build_context
from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.history import finding, record_run


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        env=cli_env(settings, SECAUDIT_RUNS_KEPT="1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_runs_show_the_pruned_state_and_a_pruned_runs_findings_exit_2_with_what_to_do(
    settings: Settings,
) -> None:
    app = build_context(settings.model_copy(update={"runs_kept": 1}))
    root = str(settings.allowed_roots[0])
    try:
        assert app.findings is not None
        runs = [record_run(app.findings, root, [finding(i) for i in range(3)]).id for _ in range(3)]
    finally:
        app.close()
    listed = _cli(settings, "findings", "runs")
    assert listed.returncode == 0
    marked = {int(line.split()[0]): "findings pruned" in line for line in listed.stdout.splitlines()}
    assert marked == {runs[0]: True, runs[1]: True, runs[2]: False}
    for args in (["findings", "export", str(runs[0])], ["findings", "list", "--run", str(runs[1])]):
        done = _cli(settings, *args)
        assert done.returncode == 2, args
        assert "run_pruned" in done.stderr and "SECAUDIT_RUNS_KEPT" in done.stderr, args
        assert f"run {runs[2]} is the newest" in done.stderr and "Traceback" not in done.stderr
    assert _cli(settings, "findings", "export", str(runs[2])).returncode == 0
