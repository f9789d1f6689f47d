"""The one walk of an audited tree: regular files only, ignore rules applied, sizes and counts capped.

It is also the one home of what every walk of a repository shares: the folders left out by default
(`DEFAULT_EXCLUDED_DIRS`) and git's ignore rules (`GitIgnore`, `gitignore_ignores`). The
dependency audit's manifest discovery, the config scanner and the .gitignore fix all use these.

Why it works the way it does:
- `lstat` only, never `stat`: a symbolic link is reported and not followed, so no link can lead the
  audit out of the root, and a link loop cannot make it spin.
- FIFOs, sockets and devices are skipped with their kind: opening a FIFO would block the audit.
- `.gitignore` files are read in every folder (and `.git/info/exclude`), with git's own matching
  rules (pathspec's GitIgnoreSpec), deeper files overriding shallower ones and a folder's
  `.gitignore` overriding `.git/info/exclude`, as in git. An ignore file is read through the
  confined reader without following any link, at most 1 MiB; bytes that are not UTF-8 are
  replaced (git reads bytes: the other lines still apply).
- Ignored files are counted, not listed: a `node_modules` can hold a million of them.
- A project's `exclude` patterns (`.secaudit.toml`, `PathGlobs`) are gitignore-style too and
  matched by the same pathspec engine; a folder they match is not entered. `PathGlobs` is also what
  the project's per-path rules match finding paths with: one matcher for every glob of a project.
- A fault on one entry (ENAMETOOLONG for a path deeper than the OS allows, ELOOP, EACCES, any
  OSError) is a skip of that entry with the reason, never the end of the walk. Faults are counted
  (`faults`): the engine makes such a run partial, and never takes an unseen file as gone.
"""

from __future__ import annotations

import errno
import operator
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from secaudit.tools.confined_io import file_kind, read_bytes
from secaudit.tools.errors import InvalidInput
from secaudit.tools.paths import path_in_scope
from secaudit.tools.text import first_few

__all__ = [
    "DEFAULT_EXCLUDED_DIRS",
    "CancelToken",
    "FileRef",
    "FileSkip",
    "GitIgnore",
    "PathGlobs",
    "WalkResult",
    "gitignore_ignores",
    "is_excluded_dir",
    "walk",
]


@dataclass(frozen=True)
class FileRef:
    """A regular file inside the audited root, as the walker found it (never through a link)."""

    path: Path  # absolute, real
    rel: str  # repository-relative POSIX path
    size: int
    mode: int  # st_mode, for permission rules
    # The rest of the walk's lstat, for the stat-first re-audit (tools/audit/filestats.py): 0 when
    # unknown (a FileRef built without a walk), and a file with no stat is always read and hashed.
    mtime_ns: int = 0
    ctime_ns: int = 0
    ino: int = 0
    dev: int = 0

    def same_stat(self, st: os.stat_result) -> bool:
        """Whether `st` (e.g. an fstat of the opened file) is the stat the walk recorded."""
        return bool(self.mtime_ns) and (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev) == (
            self.size,
            self.mtime_ns,
            self.ctime_ns,
            self.ino,
            self.dev,
        )


_new_object = object.__new__
_set_attribute = object.__setattr__


def _walked_ref(
    path: Path, rel: str, size: int, mode: int, mtime_ns: int, ctime_ns: int, ino: int, dev: int
) -> FileRef:
    """`FileRef(path, rel, ...)`, the same object (fields, equality, hash, `vars`), made in one
    assignment instead of the frozen dataclass's eight `object.__setattr__` calls: the walk makes
    one per file on every audit, and this is a fifth of the cost."""
    ref: FileRef = _new_object(FileRef)
    _set_attribute(
        ref,
        "__dict__",
        {
            "path": path, "rel": rel, "size": size, "mode": mode, "mtime_ns": mtime_ns,
            "ctime_ns": ctime_ns, "ino": ino, "dev": dev,
        },
    )  # fmt: skip
    return ref


def _slash_child(folder: Path, name: str) -> Path:
    return folder / name


# `folder / name` parses `name` as a path again; a listed name is one plain component, and CPython's
# pathlib (3.11, 3.12) has the constructor that appends it as is (glob and Path.walk use it), 8
# times cheaper. Where it is gone, the operator, same result.
_child: Callable[[Path, str], Path] = getattr(Path, "_make_child_relpath", _slash_child)
_name_of = operator.attrgetter("name")
_S_IFMT = 0o170000  # the file-type bits of st_mode (stat.S_IFMT as a mask)


@dataclass(frozen=True)
class FileSkip:
    path: str
    reason: str
    # True when the file is one the scanner should have examined and could not (source it cannot
    # parse, a crash, a size cap): the run is then partial. False for files with nothing to examine
    # (binary content where text was expected).
    partial: bool = False


class CancelToken:
    """Set by the engine when the caller cancels or the time budget runs out."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


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
    excluded: int = 0  # files and folders left out by the project's `exclude` patterns
    excluded_dirs: list[str] = field(default_factory=list)  # default excludes that were present
    capped: bool = False
    cancelled: bool = False
    seen: set[str] = field(default_factory=set)  # every path met, kept or skipped
    # Regular files over the size cap (also listed in `skips`): the engine asks the scanners whether
    # they would have examined them, and such a run is partial.
    oversize: list[FileRef] = field(default_factory=list)
    faults: int = 0  # entries (files or folders) the walk could not examine because of an OS error
    # With `paths`: the entries that named nothing in the tree (no such file or folder), and those
    # that named only what .gitignore, the exclude patterns or the default excludes leave out.
    unmatched: list[str] = field(default_factory=list)
    left_out_only: list[str] = field(default_factory=list)


def _glob_at(entry: str) -> int:
    """Where the first glob character of a `paths` entry is, or -1 for a plain path."""
    return next((i for i, c in enumerate(entry) if c in "*?["), -1)


def _wanted(rel: str, paths: list[str] | None) -> bool:
    return path_in_scope(rel, paths)


def _unmatched(paths: list[str], seen: set[str]) -> list[str]:
    """The entries of `paths` under which no path of `seen` falls (`path_in_scope`'s rule), in order."""
    folders: set[str] | None = None
    left: list[str] = []
    for p in dict.fromkeys(paths):
        if _glob_at(p) >= 0:
            if not any(path_in_scope(rel, (p,)) for rel in seen):
                left.append(p)
            continue
        if p in seen:
            continue
        if folders is None:  # every folder above a seen path, built once
            folders = {rel[:i] for rel in seen for i, c in enumerate(rel) if c == "/"}
        if p not in folders:
            left.append(p)
    return left


def _below_left_out(entry: str, left_out: set[str]) -> bool:
    """Whether `entry` lies in a folder the walk left out (`node_modules/lib`, `dist/**/*.js`): the
    folders its literal part (up to the first glob character) names, from the top."""
    glob = _glob_at(entry)
    parts = (entry if glob < 0 else entry[:glob]).split("/")
    return any("/".join(parts[:n]) in left_out for n in range(1, len(parts)))


def _dir_may_hold(rel: str, paths: list[str] | None) -> bool:
    if paths is None:
        return True
    for p in paths:
        if _glob_at(p) >= 0:
            return True  # a glob may match anywhere below
        if p == rel or p.startswith(rel + "/") or rel.startswith(p + "/"):
            return True
    return False


def _fault(exc: OSError) -> str:
    """Why an entry could not be examined, in words a user can act on."""
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is longer than the operating system allows (ENAMETOOLONG); not audited"
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (ELOOP); not audited"
    return f"{exc.strerror or type(exc).__name__}; not audited"


def _holds_venv_marker(entries: list[os.DirEntry[str]]) -> bool:
    """Whether a folder's listing has a `pyvenv.cfg` that is a file (a link only if it leads to
    one): a dangling link, a folder or a pipe by that name does not make the folder a virtualenv,
    so it cannot hide the code beside it from the audit."""
    if "pyvenv.cfg" not in map(_name_of, entries):  # nearly every folder: answered in C
        return False
    for entry in entries:
        if entry.name == "pyvenv.cfg":
            try:
                return entry.is_file()  # follows a link (one stat); a plain file costs nothing
            except OSError:
                return False
    return False


def is_excluded_dir(name: str) -> bool:
    """Whether a folder of this name is left out by default (VCS, virtualenvs, build output, caches)."""
    return name in DEFAULT_EXCLUDED_DIRS or name.endswith(".egg-info")


_Chain = tuple[tuple[str, pathspec.GitIgnoreSpec], ...]


def _spec(lines: list[str]) -> pathspec.GitIgnoreSpec | None:
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    return spec if len(spec) else None


def _matches(chain: _Chain, rel: str, is_dir: bool) -> bool:
    """git's verdict for `rel` under `chain` (outer files first): the last rule that matches wins."""
    verdict = False
    for base, spec in chain:
        sub = rel if not base else rel[len(base) + 1 :]
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            verdict = result.include
    return verdict


class PathGlobs:
    """gitignore-style patterns relative to the root (`vendor/**`, `*.min.js`, `tests/`), matched
    with git's rules by pathspec: a project's `exclude` and the paths of its per-path rules."""

    def __init__(self, patterns: tuple[str, ...] | list[str]) -> None:
        self.patterns = tuple(patterns)
        self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, rel: str, *, is_dir: bool = False) -> bool:
        """Whether `rel` (a file, or a folder with `is_dir`) or a folder above it is matched."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self._spec.check_file("/".join(parts[:depth]) + "/").include:
                return True
        return bool(self._spec.check_file(rel + "/" if is_dir else rel).include)


def gitignore_ignores(text: str, rel: str) -> bool:
    """Whether the text of a root `.gitignore` ignores file `rel` (git's semantics)."""
    spec = _spec(text.splitlines())
    return spec is not None and _matches((("", spec),), rel, False)


class GitIgnore:
    """The ignore files of a tree, read once per folder, applied as git applies them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._chains: dict[str, _Chain] = {}

    def _load(self, rel: str) -> pathspec.GitIgnoreSpec | None:
        try:
            data = read_bytes(self.root, rel, _MAX_IGNORE_FILE_BYTES, follow_links=False)
        except (InvalidInput, OSError):
            return None
        return _spec(data.decode("utf-8", errors="replace").splitlines())

    def chain(self, rel_dir: str, *, present: bool = True) -> _Chain:
        """The specs in force in folder `rel_dir`; `present=False`: it has no `.gitignore` of its own."""
        chain = self._chains.get(rel_dir)
        if chain is None:
            if not rel_dir:
                names = (".git/info/exclude", ".gitignore") if present else (".git/info/exclude",)
                chain = tuple(("", spec) for name in names if (spec := self._load(name)) is not None)
            else:
                chain = self.chain(rel_dir.rpartition("/")[0])
                spec = self._load(f"{rel_dir}/.gitignore") if present else None
                if spec is not None:
                    chain = (*chain, (rel_dir, spec))
            self._chains[rel_dir] = chain
        return chain

    def ignored(self, rel: str, *, is_dir: bool = False) -> bool:
        """Whether `rel` is ignored: by a rule of its own, or because a folder above it is."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if _matches(self.chain("/".join(parts[: depth - 1])), folder, True):
                return True
        return _matches(self.chain("/".join(parts[:-1])), rel, is_dir)


def walk(
    root: Path,
    *,
    max_files: int,
    max_file_bytes: int,
    paths: list[str] | None = None,
    cancel: CancelToken | None = None,
    exclude: PathGlobs | None = None,
) -> WalkResult:
    """`exclude`: the project's patterns; what they match is left out and counted (`excluded`)."""
    result = WalkResult()
    ignore = GitIgnore(root)
    # The loop below runs once per entry of the tree (10,000 on Django, on every re-audit): what it
    # calls is bound once here, and a folder's type comes from the listing (d_type), not an lstat.
    files, skips, seen = result.files, result.skips, result.seen
    # What the ignore rules and excludes left out (entries, not what lies below them): with `paths`,
    # it tells an entry naming nothing from one naming only such files.
    left_out: set[str] = set()
    excluding = exclude if exclude else None
    # (folder, its relative path, its path as a string: what scandir takes, with no Path.__str__)
    stack: list[tuple[Path, str, str]] = [(root, "", str(root))]
    while stack:
        if cancel is not None and cancel.is_cancelled():
            result.cancelled = True
            break
        folder, rel_dir, folder_str = stack.pop()
        try:
            with os.scandir(folder_str) as it:
                entries = sorted(it, key=_name_of)
        except OSError as exc:
            skips.append(FileSkip(rel_dir or ".", f"folder cannot be read: {_fault(exc)}"))
            result.faults += 1
            continue
        # A virtualenv under any name is known by its pyvenv.cfg: looked for in the folder's own
        # listing, where a probe from its parent would cost a stat per folder of the tree.
        if rel_dir and _holds_venv_marker(entries):
            result.excluded_dirs.append(rel_dir)
            left_out.add(rel_dir)
            continue
        # The listing says whether the folder has a .gitignore: no read is tried where it has none.
        specs = ignore.chain(rel_dir, present=".gitignore" in map(_name_of, entries))
        prefix = f"{rel_dir}/" if rel_dir else ""
        subdirs: list[tuple[Path, str, str]] = []
        for entry in entries:
            rel = prefix + entry.name
            try:
                st = None if entry.is_dir(follow_symlinks=False) else entry.stat(follow_symlinks=False)
            except OSError as exc:
                skips.append(FileSkip(rel, f"cannot be examined: {_fault(exc)}"))
                seen.add(rel)
                result.faults += 1
                continue
            if st is None:  # a folder
                if is_excluded_dir(entry.name):
                    result.excluded_dirs.append(rel)
                    left_out.add(rel)
                    continue
                if specs and _matches(specs, rel, True):
                    result.ignored += 1
                    left_out.add(rel)
                    continue
                if excluding is not None and excluding.matches(rel, is_dir=True):
                    result.excluded += 1
                    left_out.add(rel)
                    continue
                if paths is None or _dir_may_hold(rel, paths):
                    subdirs.append((_child(folder, entry.name), rel, entry.path))
                continue
            if paths is not None and not _wanted(rel, paths):
                continue
            if specs and _matches(specs, rel, False):
                result.ignored += 1
                left_out.add(rel)
                continue
            if excluding is not None and excluding.matches(rel):
                result.excluded += 1
                left_out.add(rel)
                continue
            seen.add(rel)
            mode = st.st_mode
            kind = mode & _S_IFMT
            if kind != stat.S_IFREG:
                if kind == stat.S_IFLNK:
                    skips.append(FileSkip(rel, "symbolic link, not followed"))
                else:
                    skips.append(FileSkip(rel, f"{file_kind(mode)}, not read"))
                continue
            size = st.st_size
            if size > max_file_bytes:
                skips.append(
                    FileSkip(rel, f"larger than the {max_file_bytes}-byte limit (SECAUDIT_MAX_FILE_BYTES)")
                )
                result.oversize.append(FileRef(_child(folder, entry.name), rel, size, mode))
                continue
            if len(files) >= max_files:
                result.capped = True
                seen.discard(rel)
                break
            files.append(
                _walked_ref(
                    _child(folder, entry.name), rel, size, mode, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                    st.st_dev,
                )
            )  # fmt: skip
        if result.capped:
            result.notes.append(
                f"file limit reached: only the first {max_files} files were examined "
                "(SECAUDIT_MAX_FILES); the rest of the tree was not audited"
            )
            break
        # Reverse so the stack pops folders in name order: the walk order is stable run to run.
        stack.extend(reversed(subdirs))
    if paths is not None and not (result.capped or result.cancelled):
        missed = _unmatched(paths, seen)
        if missed:
            result.unmatched = [p for p in _unmatched(missed, left_out) if not _below_left_out(p, left_out)]
            result.left_out_only = [p for p in missed if p not in result.unmatched]
    if result.ignored:
        result.notes.append(f"{result.ignored} files or folders left out by .gitignore rules")
    if result.excluded:
        result.notes.append(
            f"{result.excluded} files or folders left out by the project's exclude patterns "
            f"({', '.join(exclude.patterns[:10]) if exclude else ''})"
        )
    if result.excluded_dirs:
        shown = first_few(result.excluded_dirs, 10)
        result.notes.append(
            f"{len(result.excluded_dirs)} folders excluded by default (VCS, virtualenvs, build output,"
            f" caches): {shown}"
        )
    return result
