"""Where `../shared` (real advisory databases, schemas) lives, for tests that need it.

Looked up as `<repo root>/../shared` (and beside each ancestor, for a git worktree that sits deeper),
then `$SECAUDIT_SHARED_DIR`, then `/work/shared`. When it is absent, a test that needs it skips with
the reason, except in CI (`CI` set to anything but "", "0" or "false"): there a missing `../shared`
FAILS the test, so a CI run can never pass by silently skipping the real-data tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def shared_dir() -> Path | None:
    candidates = [parent / "shared" for parent in REPO_ROOT.parents]
    env = os.environ.get("SECAUDIT_SHARED_DIR")
    if env:
        candidates.insert(1, Path(env))
    candidates.append(Path("/work/shared"))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path | None:
    """`../shared/<parts>` when it exists, else None."""
    base = shared_dir()
    if base is None:
        return None
    path = base.joinpath(*parts)
    return path if path.exists() else None


def require_shared(*parts: str) -> Path:
    """`../shared/<parts>`, or (when absent) fail the calling test in CI and skip it elsewhere."""
    path = shared_path(*parts)
    if path is not None:
        return path
    reason = f"../shared/{'/'.join(parts)} is absent (set SECAUDIT_SHARED_DIR to the shared folder)"
    if in_ci():
        pytest.fail(f"{reason}; CI must run the tests on the real shared data", pytrace=False)
    pytest.skip(reason)


def sarif_schema_path() -> Path | None:
    return shared_path("schemas", "sarif-schema-2.1.0.json")
