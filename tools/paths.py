"""Path validation, in one place: caller paths confined to the allowed roots, and the one rule for
repository-relative paths.

- `confine` / `confine_dir`: a caller-supplied path (absolute, or relative to the first root) is
  resolved (every symlink followed, `..` folded) before it is compared with the roots, so neither
  `../` nor a link inside a root that points outside it gets through. `~` is never expanded: `~/x`
  is the folder `~` under the first root. Messages never echo a path
  that resolved outside the roots: that would tell a caller what exists elsewhere.
- `check_relpath`: the rule for a repository-relative path that is opened or written (a finding's
  path, a manifest, a fix target): POSIX separators, relative, no drive letter, no NUL or
  backslash, no empty, `.` or `..` component. Nothing is folded: `a/../b` is refused, not read as
  `b`, so what is checked is exactly what is opened.
- `normalize_relpath`: a reference written relative to another file (`-r ../base.txt`, a SARIF
  uri) is folded first, then held to the same rule; what still climbs out is refused.
- `check_paths`: a run's `paths` restriction (paths or globs), held to the same rule.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path

from secaudit.tools.errors import InvalidInput, PathNotAllowed

__all__ = [
    "check_paths",
    "check_relpath",
    "confine",
    "confine_dir",
    "is_within",
    "normalize_relpath",
    "path_in_scope",
    "relative_to_root",
]

_MAX_PATH_CHARS = 4096
_MAX_SCOPE_PATHS = 200
_MAX_SCOPE_CHARS = 1000
_DRIVE = re.compile(r"^[A-Za-z]:")


def is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def confine(path: str | os.PathLike[str], roots: Sequence[Path], *, must_exist: bool = True) -> Path:
    """Return the real path if it lies inside one of `roots` (themselves real paths)."""
    text = os.fspath(path)
    if not text or len(text) > _MAX_PATH_CHARS or "\x00" in text:
        raise InvalidInput(f"the path must be 1 to {_MAX_PATH_CHARS} characters with no NUL byte")
    # `~` is a name like any other here: expanding it would read the server's home, not a root.
    candidate = Path(text)
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


def check_relpath(rel: str, what: str = "the path") -> tuple[str, ...]:
    """Hold a repository-relative path to the one rule; return its components.

    InvalidInput for a malformed value (empty, too long, NUL, backslash), PathNotAllowed for one
    that would leave the root (absolute, a drive letter, `..`) or names no single file (`.` or an
    empty component). `what` names the value in the message ("a fix path", ...).
    """
    if not rel or len(rel) > _MAX_PATH_CHARS or "\x00" in rel or "\\" in rel:
        raise InvalidInput(
            f"{what} must be a repository-relative POSIX path of 1 to {_MAX_PATH_CHARS} characters "
            "without NUL or backslash"
        )
    parts = tuple(rel.split("/"))
    if rel.startswith("/") or _DRIVE.match(rel) or any(part in ("", ".", "..") for part in parts):
        raise PathNotAllowed(
            f"{what} must stay inside the repository root (no absolute path, no drive, no '.' or '..')"
        )
    return parts


def normalize_relpath(rel: str, what: str = "the path") -> str:
    """Fold `./` and `a/../` out of a path written relative to the root, then apply `check_relpath`."""
    if not rel or len(rel) > _MAX_PATH_CHARS or "\x00" in rel:
        check_relpath(rel, what)  # raises, with the rule's message
    norm = posixpath.normpath(rel)
    check_relpath(norm, what)
    return norm


def check_paths(paths: Sequence[str] | None) -> list[str] | None:
    """Validate a `paths` restriction: repository-relative paths or globs, never leaving the root.

    Separators are forgiven (a backslash becomes `/`, surrounding slashes and a leading `./` go),
    then each entry is held to `check_relpath`'s rule.
    """
    if paths is None:
        return None
    if len(paths) > _MAX_SCOPE_PATHS:
        raise InvalidInput(f"paths: at most {_MAX_SCOPE_PATHS} entries")
    out: list[str] = []
    for raw in paths:
        text = raw.strip().replace("\\", "/").strip("/").removeprefix("./")
        if not text or len(text) > _MAX_SCOPE_CHARS or "\x00" in raw:
            raise InvalidInput(
                f"paths: each entry is a relative path or glob of 1 to {_MAX_SCOPE_CHARS} characters"
            )
        if raw.strip().startswith("/") or _DRIVE.match(raw.strip()):
            raise InvalidInput(
                "paths: an entry is absolute; entries are relative to the audited folder (`path`), "
                "e.g. src/app.py or src/**/*.ts, not /home/me/repo/src/app.py"
            )
        try:
            check_relpath(text)
        except InvalidInput:
            raise InvalidInput(
                "paths: entries are relative to the audited folder and cannot contain '..', '.' or "
                "empty components"
            ) from None
        out.append(text)
    return out
