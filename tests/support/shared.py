"""Where `../shared` (real advisory database, schemas) lives, for tests that need it.

Looked up as `<repo root>/../shared`, then `$SECAUDIT_SHARED_DIR`, then `/work/shared`; a test that
needs it skips with a clear reason when none exists.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    candidates = [REPO_ROOT.parent / "shared"]
    env = os.environ.get("SECAUDIT_SHARED_DIR")
    if env:
        candidates.append(Path(env))
    candidates.append(Path("/work/shared"))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def sarif_schema_path() -> Path | None:
    base = shared_dir()
    if base is None:
        return None
    path = base / "schemas" / "sarif-schema-2.1.0.json"
    return path if path.is_file() else None
