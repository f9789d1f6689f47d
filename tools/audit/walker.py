"""The one walk of an audited tree: regular files only, ignore rules applied, sizes and counts capped.

Why it works the way it does:
- `lstat` only, never `stat`: a symbolic link is reported and not followed, so no link can lead the
  audit out of the root, and a link loop cannot make it spin.
- FIFOs, sockets and devices are skipped with their kind: opening a FIFO would block the audit.
- `.gitignore` files are read in every folder (and `.git/info/exclude`), with git's own matching
  rules (pathspec's GitIgnoreSpec), deeper files overriding shallower ones as in git.
- Ignored files are counted, not listed: a `node_modules` can hold a million of them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from secaudit.tools.paths import path_in_scope
from secaudit.tools.scanners.interface import CancelToken, FileRef, FileSkip

__all__ = ["DEFAULT_EXCLUDED_DIRS", "WalkResult", "walk"]

DEFAULT_EXCLUDED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", "CVS", "node_modules", "__pycache__", ".tox", ".nox", ".eggs",
        ".venv", "venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", "build", "dist",
        ".direnv",
    }
)  # fmt: skip
_MAX_IGNORE_FILE_BYTES = 1024 * 1024


@dataclass
class WalkResult:
    files: list[FileRef] = field(default_factory=list)
    skips: list[FileSkip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored: int = 0  # files and folders left out by .gitignore
    excluded_dirs: list[str] = field(default_factory=list)  # default excludes that were present
    capped: bool = False
    cancelled: bool = False
    seen: set[str] = field(default_factory=set)  # every path met, kept or skipped


def _wanted(rel: str, paths: list[str] | None) -> bool:
    return path_in_scope(rel, paths)


def _dir_may_hold(rel: str, paths: list[str] | None) -> bool:
    if paths is None:
        return True
    for p in paths:
        if any(c in p for c in "*?["):
            return True  # a glob may match anywhere below
        if p == rel or p.startswith(rel + "/") or rel.startswith(p + "/"):
            return True
    return False


def _load_ignore(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_IGNORE_FILE_BYTES:
            return None
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec if len(spec) else None


def _ignored(rel: str, is_dir: bool, specs: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
    verdict = False
    for base, spec in specs:
        sub = rel if not base else rel[len(base) + 1 :]
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            verdict = result.include
    return verdict


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def walk(
    root: Path,
    *,
    max_files: int,
    max_file_bytes: int,
    paths: list[str] | None = None,
    cancel: CancelToken | None = None,
) -> WalkResult:
    result = WalkResult()
    specs_root: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    for name in (".git/info/exclude", ".gitignore"):
        spec = _load_ignore(root / name)
        if spec is not None:
            specs_root.append(("", spec))
    stack: list[tuple[Path, str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = [(root, "", specs_root)]
    while stack:
        if cancel is not None and cancel.is_cancelled():
            result.cancelled = True
            break
        folder, rel_dir, specs = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            result.skips.append(
                FileSkip(rel_dir or ".", f"folder cannot be read: {exc.strerror or type(exc).__name__}")
            )
            continue
        if rel_dir:
            spec = _load_ignore(folder / ".gitignore")
            if spec is not None:
                specs = [*specs, (rel_dir, spec)]
        subdirs: list[tuple[Path, str, list[tuple[str, pathspec.GitIgnoreSpec]]]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                result.skips.append(FileSkip(rel, f"cannot be examined: {exc.strerror or 'error'}"))
                result.seen.add(rel)
                continue
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                if entry.name in DEFAULT_EXCLUDED_DIRS or entry.name.endswith(".egg-info"):
                    result.excluded_dirs.append(rel)
                    continue
                if (Path(entry.path) / "pyvenv.cfg").exists():
                    result.excluded_dirs.append(rel)  # a virtualenv under another name
                    continue
                if _ignored(rel, True, specs):
                    result.ignored += 1
                    continue
                if _dir_may_hold(rel, paths):
                    subdirs.append((Path(entry.path), rel, specs))
                continue
            if not _wanted(rel, paths):
                continue
            if _ignored(rel, False, specs):
                result.ignored += 1
                continue
            result.seen.add(rel)
            if stat.S_ISLNK(mode):
                result.skips.append(FileSkip(rel, "symbolic link, not followed"))
                continue
            if not stat.S_ISREG(mode):
                result.skips.append(FileSkip(rel, f"{_kind(mode)}, not read"))
                continue
            if st.st_size > max_file_bytes:
                result.skips.append(
                    FileSkip(rel, f"larger than the {max_file_bytes}-byte limit (SECAUDIT_MAX_FILE_BYTES)")
                )
                continue
            if len(result.files) >= max_files:
                result.capped = True
                result.seen.discard(rel)
                break
            result.files.append(FileRef(path=Path(entry.path), rel=rel, size=st.st_size, mode=mode))
        if result.capped:
            result.notes.append(
                f"file limit reached: only the first {max_files} files were examined "
                "(SECAUDIT_MAX_FILES); the rest of the tree was not audited"
            )
            break
        # Reverse so the stack pops folders in name order: the walk order is stable run to run.
        stack.extend(reversed(subdirs))
    if result.ignored:
        result.notes.append(f"{result.ignored} files or folders left out by .gitignore rules")
    if result.excluded_dirs:
        shown = ", ".join(result.excluded_dirs[:10]) + (" ..." if len(result.excluded_dirs) > 10 else "")
        result.notes.append(
            f"{len(result.excluded_dirs)} folders excluded by default (VCS, virtualenvs, build output,"
            f" caches): {shown}"
        )
    return result
