"""Real git repositories for the diff-scope tests: git run as a subprocess, isolated from the
machine's and the user's configuration (no system config, HOME in the test's folder)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.canary import Canaries

__all__ = ["Repo", "git_env", "needs_git", "secret_line"]

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git_env(home: Path) -> dict[str, str]:
    """The environment git (and `secaudit`, which runs git) sees in a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SECAUDIT_"))}
    env.update(GIT_CONFIG_NOSYSTEM="1", HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def secret_line() -> str:
    """A line holding a fresh, realistic GitHub token (random each call; never a known example)."""
    return f'TOKEN = "{Canaries().github("diff")}"\n'


class Repo:
    """A git repository in `path` (created), with a committer identity given per command."""

    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.env = git_env(home)
        home.mkdir(parents=True, exist_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return proc.stdout

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str = "commit") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()
