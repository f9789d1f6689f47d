"""`secaudit tasks ...` as a real subprocess: output, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import cli_env

pytestmark = pytest.mark.slow


def run(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        env=cli_env(settings),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_add_list_claim_done(settings: Settings) -> None:
    added = run(settings, "tasks", "add", "-", "--order", "2", "--json", stdin="multi\nline 'prompt'")
    assert added.returncode == 0, added.stderr
    task = json.loads(added.stdout)
    assert task["prompt"] == "multi\nline 'prompt'"

    listed = run(settings, "tasks", "list")
    assert listed.returncode == 0 and f"#{task['id']}" in listed.stdout

    claimed = run(settings, "tasks", "claim", "--worker", "cli", "--json")
    assert json.loads(claimed.stdout)["task"]["id"] == task["id"]

    done = run(settings, "tasks", "done", str(task["id"]), "--json")
    assert json.loads(done.stdout)["status"] == 1
    assert run(settings, "tasks", "show", task["uuid"], "--json").returncode == 0


def test_errors_exit_2_without_traceback(settings: Settings) -> None:
    for args in (("tasks", "show", "999"), ("tasks", "update", "1", "--status", "9"), ("tasks", "bogus")):
        proc = run(settings, *args)
        assert proc.returncode == 2, args
        assert "Traceback" not in proc.stderr
        assert proc.stdout == ""


def test_invalid_setting_fails_fast_naming_the_variable(settings: Settings) -> None:
    env = cli_env(settings, SECAUDIT_MAX_PROMPT_BYTES="lots")
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "tasks", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "SECAUDIT_MAX_PROMPT_BYTES" in proc.stderr and "whole number" in proc.stderr


def test_settings_flags_work_before_the_command_and_after_the_action(
    settings: Settings, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    before = run(settings, "--store", str(other), "--json", "tasks", "add", "in the other store")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["prompt"] == "in the other store"
    # After the action it counts too, and wins over the one before the command.
    after = run(
        settings, "--store", str(tmp_path / "unused.db"), "tasks", "list", "--store", str(other), "--json"
    )
    assert [t["prompt"] for t in json.loads(after.stdout)["items"]] == ["in the other store"]
    assert not (tmp_path / "unused.db").exists()
    # The environment's store (cli_env) was not touched.
    assert json.loads(run(settings, "tasks", "list", "--json").stdout)["items"] == []
