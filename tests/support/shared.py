"""Where `../shared` (the real advisory databases, the schemas) lives, for the tests that need it.

Every test that needs something from it asks `require_shared(relative)`, directly or through a
fixture. The folder is looked up as `<repo root>/../shared`, then `$SECAUDIT_SHARED_DIR`; the first
that holds the path wins. When none does, the test cannot check what it is for: in CI (the `CI`
environment variable set, as `.ci/run` does) it fails with the reason, so a green run never hides an
unchecked database; elsewhere it skips with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

__all__ = ["require_shared", "shared_candidates", "shared_dir"]


def shared_candidates() -> list[Path]:
    """The places `../shared` may be, in the order they are tried."""
    candidates = [REPO_ROOT.parent / "shared"]
    env = os.environ.get("SECAUDIT_SHARED_DIR")
    if env:
        candidates.append(Path(env))
    return candidates


def shared_dir() -> Path | None:
    """The first candidate that is a folder, or None."""
    return next((c for c in shared_candidates() if c.is_dir()), None)


def require_shared(relative: str) -> Path:
    """`<shared>/<relative>` from the first candidate that has it; else fail (in CI) or skip."""
    candidates = shared_candidates()
    for base in candidates:
        path = base / relative
        if path.exists():
            return path
    looked = ", ".join(str(c / relative) for c in candidates)
    reason = (
        f"../shared/{relative} is absent (looked for {looked}); set SECAUDIT_SHARED_DIR to the shared folder"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so a missing shared folder is an error, not a skip", pytrace=False)
    pytest.skip(reason)
