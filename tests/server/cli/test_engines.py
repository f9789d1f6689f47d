"""`secaudit engines status|install` as a subprocess: what a user sees, and what --json says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from secaudit.tools.engines import PINNED_VERSION
from tests.support.semgrep import fake_private_install

SECAUDIT = [sys.executable, "-m", "secaudit.server"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
    bare = tmp_path / "bin"
    bare.mkdir(exist_ok=True)
    env["PATH"] = f"{bare}{os.pathsep}{Path(sys.executable).parent}"  # no semgrep on PATH
    env["SECAUDIT_ENGINES_DIR"] = str(tmp_path / "engines")
    env["SECAUDIT_STORE"] = str(tmp_path / "store" / "secaudit.db")
    env.update(extra)
    return env


def _secaudit(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SECAUDIT, *args], capture_output=True, text=True, timeout=120, env=_env(tmp_path, **extra),
        cwd=tmp_path, check=False,
    )  # fmt: skip


def _fake_private(engines: Path) -> Path:
    return fake_private_install(engines, PINNED_VERSION)


def test_status_without_any_semgrep(tmp_path: Path) -> None:
    out = _secaudit(tmp_path, "engines", "status")
    assert out.returncode == 0, out.stderr
    assert "semgrep: UNAVAILABLE" in out.stdout
    assert "secaudit engines install semgrep" in out.stdout
    data = json.loads(_secaudit(tmp_path, "engines", "status", "--json").stdout)
    [engine] = data["engines"]
    assert engine["available"] is False and engine["private"] is None
    assert engine["pinned_version"] == PINNED_VERSION and "install semgrep" in engine["reason"]
    assert not (tmp_path / "store").exists()  # a read-only command opens no store


def test_status_shows_the_private_install_and_secaudit_semgrep_wins(tmp_path: Path) -> None:
    exe = _fake_private(tmp_path / "engines")
    data = json.loads(_secaudit(tmp_path, "engines", "status", "--json").stdout)
    [engine] = data["engines"]
    assert (engine["available"], engine["source"], engine["executable"]) == (
        True,
        "private environment",
        str(exe),
    )
    assert engine["private"]["installed_at"] == "2026-01-01T00:00:00.000Z"

    other = tmp_path / "other" / "semgrep"
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho 1.170.1\n", encoding="utf-8")
    other.chmod(0o755)
    out = _secaudit(tmp_path, "engines", "status", SECAUDIT_SEMGREP=str(other))
    assert f"semgrep: available, 1.170.1 (SECAUDIT_SEMGREP) at {other}" in out.stdout


def test_install_keeps_an_intact_install(tmp_path: Path) -> None:
    _fake_private(tmp_path / "engines")
    out = _secaudit(tmp_path, "engines", "install", "semgrep")
    assert out.returncode == 0, out.stderr
    assert f"semgrep {PINNED_VERSION} is already installed" in out.stdout


def test_invalid_secaudit_semgrep_stops_with_the_variable_named(tmp_path: Path) -> None:
    out = _secaudit(tmp_path, "engines", "status", SECAUDIT_SEMGREP=str(tmp_path / "missing"))
    assert out.returncode == 2
    assert "SECAUDIT_SEMGREP: not accepted" in out.stderr and "Traceback" not in out.stderr
