"""Running `secaudit` as a subprocess in tests: its environment points at the test's store and roots."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from secaudit.server.settings import Settings
from tests.support import REPO_ROOT

__all__ = ["cli_env", "secaudit", "secaudit_in"]


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a `secaudit` subprocess pointing at the test's store and roots."""
    # Without CI: `secaudit audit` reads it for its --fail-on-partial default, and a test's exit
    # codes must not depend on where the suite runs (a test that wants it passes it in `extra`).
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_") and k != "CI"}
    env["SECAUDIT_STORE"] = str(settings.store_path)
    env["SECAUDIT_ALLOWED_ROOTS"] = os.pathsep.join(str(r) for r in settings.allowed_roots)
    env.update(extra)
    return env


def secaudit(
    settings: Settings, *args: str, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """`secaudit ARGS` as a subprocess against the test's store and roots, with `env` on top (for
    example SECAUDIT_STORE for another store). Output decoded as UTF-8, whatever it holds (a hostile
    byte shows as a surrogate, never a decode error)."""
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        env=cli_env(settings, **env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        timeout=timeout,
    )


def secaudit_in(env: Mapping[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`secaudit ARGS` run from `cwd` with `env`; the package is found through PYTHONPATH, not the
    working folder."""
    env = {**env, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
