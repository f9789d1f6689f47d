"""Confinement of caller-supplied paths to the allowed roots.

A path is resolved (every symlink followed, `..` folded) before it is compared with the roots, so
neither `../` nor a link inside a root that points outside it gets through. Messages never echo a
path that resolved outside the roots: that would tell a caller what exists elsewhere.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

from secaudit.tools.errors import InvalidInput, PathNotAllowed

__all__ = ["confine", "confine_dir", "is_within", "path_in_scope", "relative_to_root"]

_MAX_PATH_CHARS = 4096


def is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def confine(path: str | os.PathLike[str], roots: Sequence[Path], *, must_exist: bool = True) -> Path:
    """Return the real path if it lies inside one of `roots` (themselves real paths)."""
    text = os.fspath(path)
    if not text or len(text) > _MAX_PATH_CHARS or "\x00" in text:
        raise InvalidInput(f"the path must be 1 to {_MAX_PATH_CHARS} characters with no NUL byte")
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        # Relative paths are read against the first allowed root, not the process cwd, so the
        # answer does not depend on where the server happened to be started.
        candidate = roots[0] / candidate
    real = Path(os.path.realpath(candidate))
    if not any(is_within(real, root) for root in roots):
        raise PathNotAllowed(
            "the path is outside the allowed roots (after following links); allowed roots: "
            + ", ".join(str(r) for r in roots)
            + ". Set SECAUDIT_ALLOWED_ROOTS or --root to add one."
        )
    if must_exist and not real.exists():
        raise InvalidInput(f"the path {real} does not exist")
    return real


def confine_dir(path: str | os.PathLike[str], roots: Sequence[Path]) -> Path:
    real = confine(path, roots)
    if not real.is_dir():
        raise InvalidInput(f"the path {real} is not a folder; give the repository folder")
    return real


def relative_to_root(path: Path, root: Path) -> str:
    """Repository-relative POSIX path, as findings and SARIF carry it."""
    return path.relative_to(root).as_posix()


def path_in_scope(rel: str, paths: Sequence[str] | None) -> bool:
    """Whether repository-relative `rel` falls under a run's `paths` restriction (None: everything).

    An entry matches the file itself, everything below a folder, or as a glob.
    """
    if paths is None:
        return True
    return any(rel == p or rel.startswith(p + "/") or fnmatch.fnmatchcase(rel, p) for p in paths)
