"""`secaudit audit --changed/--staged/--since` and the exit codes, as real subprocesses on real git
repositories: new findings only, the diff summary in every format, 0/1/2/3, output for logs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.git import Repo, needs_git, secret_line

pytestmark = [pytest.mark.slow, needs_git]

OLD_BUG = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
NEW_BUG = "\n\ndef ev(text):\n    return eval(text)\n"


@pytest.fixture
def repo(workspace: Path, tmp_path: Path) -> Repo:
    r = Repo(workspace, tmp_path / "home")
    r.write("app.py", OLD_BUG)
    r.write("clean.py", "def add(a, b):\n    return a + b\n")
    r.commit("base")
    return r


def secaudit(settings: Settings, repo: Repo, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **cli_env(settings),
        **{k: v for k, v in repo.env.items() if k.startswith(("GIT_", "HOME", "XDG"))},
    }
    full.pop("CI", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        env=full,
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_changed_reports_only_new_findings(settings: Settings, repo: Repo) -> None:
    clean = secaudit(settings, repo, "audit", ".", "--changed", "--scanners", "bandit")
    assert clean.returncode == 0, clean.stderr
    assert "No new findings." in clean.stdout and "diff-scoped: working tree against HEAD" in clean.stdout
    repo.write("app.py", OLD_BUG + NEW_BUG)
    proc = secaudit(settings, repo, "audit", ".", "--changed", "--scanners", "bandit", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [f["rule_id"] for f in data["findings"]] == ["B307"]
    assert data["diff"]["mode"] == "working" and data["diff"]["findings_preexisting"] >= 1
    assert data["exit_code"] == 1 and data["gate"]["blocking"] == 1
    # The pre-existing finding alone does not fail the gate.
    repo.commit("eval")
    assert secaudit(settings, repo, "audit", ".", "--changed", "--scanners", "bandit").returncode == 0


def test_staged_secret_fails_and_clean_index_passes(settings: Settings, repo: Repo) -> None:
    repo.write("settings.py", secret_line())
    repo.git("add", "settings.py")
    proc = secaudit(settings, repo, "audit", ".", "--staged", "--scanners", "secrets")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "settings.py" in proc.stdout and "staged changes against HEAD" in proc.stdout
    repo.git("reset", "-q")
    repo.write("notes.txt", "nothing secret\n")
    repo.git("add", "notes.txt")
    ok = secaudit(settings, repo, "audit", ".", "--staged", "--scanners", "secrets")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_since_and_sarif(settings: Settings, repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("app.py", OLD_BUG + NEW_BUG)
    repo.commit("eval")
    proc = secaudit(
        settings, repo, "audit", ".", "--since", base, "--scanners", "bandit", "--format", "sarif"
    )
    assert proc.returncode == 1, proc.stderr
    run = json.loads(proc.stdout)["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["bandit/B307"]
    assert run["results"][0]["baselineState"] == "new"
    assert run["properties"]["secaudit"]["diff"]["base_commit"] == base
    assert "diff-scoped" in proc.stderr  # the summary goes with the coverage, on stderr


def test_diff_errors_exit_2(settings: Settings, repo: Repo, workspace: Path, tmp_path: Path) -> None:
    bad = secaudit(settings, repo, "audit", ".", "--since", "no-such-ref")
    assert bad.returncode == 2 and "names no commit" in bad.stderr
    dash = secaudit(settings, repo, "audit", ".", "--since=--output=x")
    assert dash.returncode == 2 and "base ref" in dash.stderr
    mixed = secaudit(settings, repo, "audit", ".", "--changed", "--paths", "app.py")
    assert mixed.returncode == 2 and "paths cannot be combined" in mixed.stderr
    both = secaudit(settings, repo, "audit", ".", "--changed", "--staged")
    assert both.returncode == 2
    plain = workspace / "plain"
    plain.mkdir()
    (workspace / ".git").rename(tmp_path / "moved-git")
    gone = secaudit(settings, repo, "audit", str(plain), "--changed", GIT_CEILING_DIRECTORIES=str(tmp_path))
    assert gone.returncode == 2 and "not in a git repository" in gone.stderr


# -- exit codes -------------------------------------------------------------------------------


def test_partial_run_exit_3_only_with_fail_on_partial(settings: Settings, repo: Repo) -> None:
    limit = {"SECAUDIT_MAX_FILES": "1"}  # two files: the walk is cut, the run is partial
    args = ("audit", ".", "--scanners", "bandit", "--fail-on", "none")
    assert secaudit(settings, repo, *args, **limit).returncode == 0
    strict = secaudit(settings, repo, *args, "--fail-on-partial", "--format", "json", **limit)
    assert strict.returncode == 3, strict.stderr
    data = json.loads(strict.stdout)
    assert data["run"]["status"] == "partial" and data["exit_code"] == 3 and data["gate"]["partial"]
    # On by default when CI is true; --no-fail-on-partial turns it off again.
    assert secaudit(settings, repo, *args, CI="true", **limit).returncode == 3
    assert secaudit(settings, repo, *args, CI="0", **limit).returncode == 0
    assert secaudit(settings, repo, *args, "--no-fail-on-partial", CI="true", **limit).returncode == 0
    # A finding at or above --fail-on wins over partial.
    found = secaudit(settings, repo, "audit", ".", "--scanners", "bandit", "--fail-on-partial", **limit)
    assert found.returncode == 1
    # The SARIF of a partial run says so.
    sarif = secaudit(settings, repo, *args, "--format", "sarif", **limit)
    invocation = json.loads(sarif.stdout)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any("partial" in n["message"]["text"] for n in invocation["toolExecutionNotifications"])


def test_help_documents_exit_codes(settings: Settings, repo: Repo) -> None:
    text = " ".join(secaudit(settings, repo, "audit", "--help").stdout.split())
    for needle in (
        "--changed",
        "--staged",
        "--since",
        "--changed-lines",
        "--fail-on-partial",
        "3 the run is partial",
    ):
        assert needle in text


# -- output for logs --------------------------------------------------------------------------


def test_long_lines_are_not_wrapped_when_not_a_terminal(settings: Settings, repo: Repo) -> None:
    deep = "/".join(["a_rather_long_folder_name_for_wrapping"] * 4) + "/module_with_a_long_name.py"
    repo.write(deep, "x = eval(input())\n" * 205)
    table = secaudit(settings, repo, "audit", ".", "--scanners", "bandit", COLUMNS="80")
    assert table.returncode == 1
    rows = [line for line in table.stdout.splitlines() if "B307" in line]
    assert len(rows) > 190 and all(deep in row for row in rows)
    # Every line is a whole one: a finding, the coverage report (indented), or the hint.
    starts = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "Run ", "  ", "... ", "diff-scoped")
    assert all(line.startswith(starts) for line in table.stdout.splitlines() if line)
    assert max(len(line) for line in table.stdout.splitlines()) > 200
    coverage = [line for line in table.stdout.splitlines() if line.startswith("Run ")]
    assert len(coverage) == 1 and "fixed since last run)" in coverage[0]
    run_id = coverage[0].split()[1]
    assert f"more: secaudit findings list --run {run_id}" in table.stdout
    # SARIF: the coverage report goes to stderr, unwrapped too.
    sarif = secaudit(settings, repo, "audit", ".", "--scanners", "bandit", "--format", "sarif", COLUMNS="80")
    lines = sarif.stderr.splitlines()
    assert any(line.startswith("Run ") and "fixed since last run)" in line for line in lines)
