"""Finding the real semgrep for tests, and small helpers around the semgrep scanner.

Order: SECAUDIT_SEMGREP, the private install in the default engines folder (what `.ci/run`
installs with `secaudit engines install semgrep`), /opt/semgrep-venv, PATH. When `CI` is set and
none is found the tests fail; elsewhere they skip with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from secaudit.server.settings import default_engines_dir
from secaudit.tools.engines import EngineUnavailable, discover

FIXTURE_RULES = Path(__file__).resolve().parent / "data" / "semgrep" / "rules"
_OPT = Path("/opt/semgrep-venv/bin/semgrep")


def find_semgrep() -> Path | None:
    env = os.environ.get("SECAUDIT_SEMGREP")
    if env:
        return Path(env)
    try:
        return discover(explicit=None, engines_dir=default_engines_dir(), which=lambda _n: None).executable
    except EngineUnavailable:
        pass
    if _OPT.is_file():
        return _OPT
    found = shutil.which("semgrep")
    return Path(found) if found else None


def require_semgrep() -> Path:
    exe = find_semgrep()
    if exe is None:
        message = (
            "semgrep not found (SECAUDIT_SEMGREP, `secaudit engines install semgrep`, /opt/semgrep-venv, "
            "PATH)"
        )
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the semgrep tests")
        pytest.skip(message)
    return exe


class DictCache:
    """A ResultCache in memory."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.data.get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        return {k: self.data[k] for k in keys if k in self.data}

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value


def fake_semgrep(path: Path, version: str) -> Path:
    """A stand-in semgrep that only answers --version (a real executable, run as a subprocess)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{version}'\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def fake_private_install(engines: Path, version: str) -> Path:
    """A private install's layout under `engines` (what `secaudit engines install` makes): the
    virtualenv with its interpreter link and a stand-in semgrep, and the manifest. The semgrep."""
    venv = engines / "semgrep" / f"venv-{version}"
    exe = fake_semgrep(venv / "bin" / "semgrep", version)
    (venv / "bin" / "python").symlink_to(sys.executable)
    manifest = {
        "engine": "semgrep", "version": version, "path": str(venv), "executable": str(exe),
        "installed_at": "2026-01-01T00:00:00.000Z", "python": "3.11.7", "requirements_sha256": "x",
    }  # fmt: skip
    (engines / "semgrep" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return exe
