"""The CI files at the repository root: `.pre-commit-hooks.yaml` and `action.yml` parse, use only
flags `secaudit audit --help` lists, and the pre-commit hook's entry command does what it says on a
real git repository (a staged secret fails the commit, a clean one passes); with `pre-commit`
installed, the hook runs through `pre-commit try-repo` too."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.git import Repo, needs_git, secret_line

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(data, list)
    return data


def _action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text())
    assert isinstance(data, dict)
    return data


def _help(*command: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", *command, "--help"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return proc.stdout


def test_hooks_are_well_formed_and_use_real_flags() -> None:
    hooks = _hooks()
    assert {h["id"] for h in hooks} == {"secaudit-secrets", "secaudit-audit"}
    known = set(_FLAG.findall(_help("audit")))
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        argv = shlex.split(hook["entry"])
        assert argv[:2] == ["secaudit", "audit"] and "--staged" in argv
        assert set(_FLAG.findall(hook["entry"])) <= known, hook["entry"]


def test_action_is_composite_and_uses_real_flags() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name in (
        "path",
        "fail-on",
        "scanners",
        "advisories-dump",
        "base-ref",
        "sarif-category",
        "python-version",
    ):
        assert name in inputs
    scripts = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    # Inputs reach the scripts through the environment, never pasted into the shell text.
    assert "${{" not in scripts
    audit_flags = set(_FLAG.findall(_help("audit")))
    # The audit's argv is built in `args=(audit ...)` / `args+=(...)`; other commands (git) aside.
    built = " ".join(m for m in re.findall(r"args\+?=\(([^)]*)\)", scripts))
    used = set(_FLAG.findall(built))
    assert used and used <= audit_flags, used - audit_flags
    assert {"--since", "--format", "--fail-on"} <= used
    assert "secaudit db import" in scripts and "secaudit db update" in scripts
    upload = [s for s in action["runs"]["steps"] if "upload-sarif" in str(s.get("uses", ""))]
    assert len(upload) == 1 and upload[0]["with"]["category"] == "${{ inputs.sarif-category }}"


@needs_git
def test_hook_entry_on_a_real_repository(settings: Settings, workspace: Path, tmp_path: Path) -> None:
    repo = Repo(workspace, tmp_path / "home")
    repo.write("app.py", "def add(a, b):\n    return a + b\n")
    repo.commit("base")
    env = {**cli_env(settings), **repo.env}
    env.pop("SECAUDIT_ALLOWED_ROOTS")  # as in a hook: the folder named on the command line is the root
    env.pop("CI", None)
    entry = shlex.split(next(h for h in _hooks() if h["id"] == "secaudit-secrets")["entry"])
    argv = [sys.executable, "-m", "secaudit.server", *entry[1:]]

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=repo.path, env=env, capture_output=True, text=True, timeout=300)

    repo.write("notes.py", "GREETING = 'hello'\n")
    repo.git("add", "notes.py")
    clean = hook()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    repo.write("config.py", secret_line())
    repo.git("add", "config.py")
    dirty = hook()
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "config.py" in dirty.stdout


@needs_git
@pytest.mark.skipif(
    shutil.which("pre-commit") is None, reason="pre-commit is not installed (pip install pre-commit)"
)
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """The whole path a user takes: pre-commit builds the hook's environment from this repository
    (its committed HEAD) and runs the hook on a staged secret. Slow (it installs secaudit)."""
    repo = Repo(tmp_path / "project", tmp_path / "home")
    repo.write("app.py", "x = 1\n")
    repo.commit("base")
    repo.write("config.py", secret_line())
    repo.git("add", "config.py")
    env = {**repo.env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    env.pop("CI", None)
    proc = subprocess.run(
        ["pre-commit", "try-repo", str(ROOT), "secaudit-secrets", "--verbose"],
        cwd=repo.path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "config.py" in proc.stdout and "Failed" in proc.stdout
