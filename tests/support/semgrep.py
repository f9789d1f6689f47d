"""Finding the real semgrep for tests, and small helpers around the semgrep scanner.

Order: SECAUDIT_SEMGREP, the private install in the default engines folder (what `.ci/run`
installs with `secaudit engines install semgrep`), /opt/semgrep-venv, PATH. When `CI` is set and
none is found the tests fail; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import shutil
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
