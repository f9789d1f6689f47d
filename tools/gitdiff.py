"""What git says changed: the files of a diff-scoped audit, their base content, the changed lines.

Git runs as a subprocess (argv list, no shell, a timeout) with the options that keep a repository's
own configuration from running programs or rewriting output on our behalf: `--no-ext-diff`,
`--no-textconv`, `core.fsmonitor=false`, literal pathspecs, unquoted paths and `-z` output.

Paths: git speaks of paths from the repository's top folder; an audit may be rooted in a subfolder.
Everything this module returns is relative to the audit root (changes outside it are left out).

The modes (`DiffMode`):
    working   the working tree against HEAD, untracked files not ignored included
    staged    the index against HEAD (the content scanned is the staged blob, not the working file)
    since     the working tree against a commit (`--since REF`), untracked files included
"""

from __future__ import annotations

import enum
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from secaudit.tools.errors import InvalidInput, SecauditError
from secaudit.tools.paths import check_relpath

__all__ = [
    "Change",
    "DiffMode",
    "DiffScope",
    "GitError",
    "GitRepo",
    "check_ref",
    "parse_hunks",
]

GIT_TIMEOUT_SECONDS = 120.0
MAX_REF_CHARS = 256
_PATHSPEC_CHUNK = 400
_REGULAR_MODES = ("100644", "100755")
# A ref as git accepts it, minus what would confuse an argv (a leading `-`) or a terminal.
_REF_RE = re.compile(r"^[A-Za-z0-9_./@{}^~:+-]+$")
_HUNK_RE = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(SecauditError):
    """git is missing, the folder is not in a git repository, or a git command failed."""

    code = "git_error"


class DiffMode(enum.StrEnum):
    WORKING = "working"
    STAGED = "staged"
    SINCE = "since"


@dataclass(frozen=True)
class Change:
    """One changed file that exists on the new side (deleted files are counted, not listed)."""

    path: str  # relative to the audit root
    status: str  # git's letter: A, M, R, T, U (unmerged), or "?" for untracked
    old_path: str | None  # the base side's path (a rename's old path); None when added


@dataclass(frozen=True)
class DiffScope:
    mode: DiffMode
    base_ref: str  # as the caller named it ("HEAD" for working and staged)
    base_commit: str | None  # the resolved commit; None when HEAD is unborn (no commit yet)
    changes: list[Change] = field(default_factory=list)
    deleted: int = 0

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]


def check_ref(ref: str) -> str:
    """A base ref the caller typed: bounded, no leading `-`, no space or control character."""
    if not ref or len(ref) > MAX_REF_CHARS or ref.startswith("-") or not _REF_RE.match(ref):
        raise InvalidInput(
            f"the base ref must be 1 to {MAX_REF_CHARS} characters of a branch, tag or commit name "
            "(letters, digits and ./_@{}^~:+-), not starting with '-'"
        )
    return ref


def _unquote(raw: bytes) -> bytes:
    """git's C-style quoting of a path in patch headers (used for tabs, newlines, quotes)."""
    if not raw.startswith(b'"') or not raw.endswith(b'"') or len(raw) < 2:
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    simple = {b"n": 10, b"t": 9, b'"': 34, b"\\": 92, b"a": 7, b"b": 8, b"f": 12, b"r": 13, b"v": 11}
    while i < len(body):
        ch = body[i : i + 1]
        if ch == b"\\" and i + 1 < len(body):
            nxt = body[i + 1 : i + 2]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            if body[i + 1 : i + 4].isdigit():
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
        out += ch
        i += 1
    return bytes(out)


def parse_hunks(patch: bytes) -> dict[str, list[tuple[int, int]]]:
    """New-side changed line ranges per file (paths from the top folder) of a `git diff -U0` patch.

    A pure deletion (`+c,0`) changes no line on the new side and is left out."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    current: str | None = None
    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            current = None
        elif line.startswith(b"+++ "):
            target = _unquote(line[4:].rstrip(b"\r"))
            current = None if target == b"/dev/null" else os.fsdecode(target.removeprefix(b"b/"))
            if current is not None:
                ranges.setdefault(current, [])
        elif current is not None and line.startswith(b"@@"):
            m = _HUNK_RE.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) if m.group(2) is not None else b"1")
                if count > 0:
                    ranges[current].append((start, start + count - 1))
    return ranges


class GitRepo:
    """The git repository holding an audit root."""

    def __init__(self, root: Path, *, timeout: float = GIT_TIMEOUT_SECONDS) -> None:
        self.root = root
        self.timeout = timeout
        exe = shutil.which("git")
        if exe is None:
            raise GitError("git is not installed or not on PATH; diff-scoped audits need it")
        self.exe = exe
        top = self._git("rev-parse", "--show-toplevel", cwd=root, what="find the repository").strip()
        if not top:
            raise GitError("the audited folder is not inside a git repository working tree")
        self.top = Path(os.fsdecode(top)).resolve()
        try:
            rel = root.resolve().relative_to(self.top).as_posix()
        except ValueError as exc:
            raise GitError("the audited folder is not inside its repository's working tree") from exc
        self.prefix = "" if rel == "." else rel + "/"

    # -- running git ---------------------------------------------------------------------------

    def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        what: str,
        stdin: bytes | None = None,
        ok: Sequence[int] = (0,),
        literal: bool = True,
    ) -> bytes:
        """`literal`: paths are never pathspec patterns (`--literal-pathspecs`); off only for a
        command that takes plain paths and refuses the flag (check-ignore)."""
        argv = [
            self.exe,
            "--no-pager",
            *(["--literal-pathspecs"] if literal else []),
            "-c", "core.quotepath=off",
            "-c", "core.fsmonitor=false",
            "-c", "diff.noprefix=false",
            *args,
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd or self.top,
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git did not answer within {self.timeout:.0f} s ({what})") from exc
        except OSError as exc:
            raise GitError(f"git could not be started ({exc.strerror or 'error'})") from exc
        if proc.returncode not in ok:
            first = os.fsdecode(proc.stderr).strip().splitlines()[:1]
            detail = first[0][:200] if first else f"exit {proc.returncode}"
            if "not a git repository" in detail:
                raise GitError("the audited folder is not in a git repository; diff-scoped audits need one")
            raise GitError(f"git could not {what}: {detail}")
        return proc.stdout

    # -- refs ----------------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The commit id `ref` names; GitError when it names none."""
        check_ref(ref)
        out = self._git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
            what=f"resolve {ref!r}", ok=(0, 1),
        ).strip()  # fmt: skip
        if not out:
            raise GitError(f"{ref!r} names no commit in this repository (fetch it, or check the name)")
        return out.decode("ascii")

    def head(self) -> str | None:
        """HEAD's commit, None in a repository without a commit yet."""
        out = self._git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", what="read HEAD", ok=(0, 1))
        return out.strip().decode("ascii") or None

    def is_ignored(self, rel: str) -> bool:
        """Whether git ignores `rel` (relative to the audit root), by any of its ignore rules."""
        return bool(
            self._git(
                "check-ignore",
                "--",
                self.prefix + rel,
                what=f"check whether {rel!r} is ignored",
                ok=(0, 1),
                literal=False,
            )
        )

    def git_path(self, name: str) -> Path:
        """The absolute path of `name` inside the repository's git folder (`info/exclude`: a
        worktree's may lie outside the work tree)."""
        out = self._git("rev-parse", "--path-format=absolute", "--git-path", name, what=f"locate {name}")
        return Path(os.fsdecode(out.strip()))

    def _empty_tree(self) -> str:
        return self._git("hash-object", "-t", "tree", "--stdin", what="name the empty tree").strip().decode()

    # -- what changed --------------------------------------------------------------------------

    def _local(self, full: str) -> str | None:
        """A top-folder path made relative to the audit root; None when outside it."""
        if not full.startswith(self.prefix):
            return None
        rel = full[len(self.prefix) :]
        try:
            check_relpath(rel)
        except SecauditError:
            return None
        return rel

    def scope(self, mode: DiffMode, ref: str | None = None) -> DiffScope:
        commit: str | None
        if mode is DiffMode.SINCE:
            if ref is None:
                raise InvalidInput("a `since` diff needs the base ref")
            base_ref, commit = ref, self.resolve(ref)
        else:
            base_ref, commit = "HEAD", self.head()
        base = commit if commit is not None else self._empty_tree()
        cached = ["--cached"] if mode is DiffMode.STAGED else []
        out = self._git(
            "diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--no-color",
            *cached, base, "--", *([self.prefix] if self.prefix else []),
            what="list the changed files",
        )  # fmt: skip
        changes: dict[str, Change] = {}
        deleted = 0
        fields = [os.fsdecode(f) for f in out.split(b"\0")]
        i = 0
        while i < len(fields) and fields[i]:
            status = fields[i][:1]
            if status in ("R", "C"):
                old, new = fields[i + 1], fields[i + 2]
                i += 3
            else:
                old = new = fields[i + 1]
                i += 2
            if status == "D":
                deleted += 1 if self._local(new) is not None else 0
                continue
            local = self._local(new)
            if local is None:
                continue
            old_local = None if status in ("A", "C") else self._local(old)
            changes[local] = Change(path=local, status=status, old_path=old_local)
        if mode is not DiffMode.STAGED:
            listed = self._git(
                "ls-files", "-z", "--others", "--exclude-standard", "--",
                *([self.prefix] if self.prefix else []), what="list the untracked files",
            )  # fmt: skip
            for raw in listed.split(b"\0"):
                local = self._local(os.fsdecode(raw)) if raw else None
                if local is not None and local not in changes:
                    changes[local] = Change(path=local, status="?", old_path=None)
        return DiffScope(
            mode=mode,
            base_ref=base_ref,
            base_commit=commit,
            changes=sorted(changes.values(), key=lambda c: c.path),
            deleted=deleted,
        )

    def changed_lines(self, scope: DiffScope) -> dict[str, list[tuple[int, int]]]:
        """Per changed path (audit-root relative), the new side's changed line ranges. Added and
        untracked files are wholly changed and are not in the map (callers treat absent as all);
        a tracked file without a hunk maps to no range."""
        base = scope.base_commit or self._empty_tree()
        cached = ["--cached"] if scope.mode is DiffMode.STAGED else []
        tracked = [c for c in scope.changes if c.old_path is not None]
        # A tracked file git shows no hunk for (a pure rename, a mode change) changed no line.
        ranges: dict[str, list[tuple[int, int]]] = {c.path: [] for c in tracked}
        # Both sides of a rename go in the pathspec, so git pairs them and diffs the content.
        specs = [self.prefix + c.path for c in tracked]
        specs += [self.prefix + c.old_path for c in tracked if c.old_path and c.old_path != c.path]
        for chunk in _chunks(specs):
            patch = self._git(
                "diff", "-U0", "-M", "--no-ext-diff", "--no-textconv", "--no-color",
                "--src-prefix=a/", "--dst-prefix=b/", *cached, base, "--", *chunk,
                what="read the changed lines",
            )  # fmt: skip
            for full, spans in parse_hunks(patch).items():
                local = self._local(full)
                if local is not None:
                    ranges.setdefault(local, []).extend(spans)
        return ranges

    # -- content -------------------------------------------------------------------------------

    def materialize_base(self, scope: DiffScope, dest: Path, *, max_bytes: int) -> list[str]:
        """Write the base version of each changed file into `dest`, at its NEW path (so a renamed
        file's findings get the fingerprints they would have had under that name); returns the
        paths written. Files absent from the base (added, untracked) are not written."""
        if scope.base_commit is None:
            return []
        wanted = {self.prefix + c.old_path: c.path for c in scope.changes if c.old_path is not None}
        command = ("ls-tree", "-r", "-z", "--full-tree", scope.base_commit)
        entries = self._regular_blobs(command, wanted, staged=False, what="list the base files")
        return self._write_blobs(entries, dest, max_bytes)

    def materialize_index(self, scope: DiffScope, dest: Path, *, max_bytes: int) -> list[str]:
        """Write the staged (index, stage 0) version of each changed file into `dest`."""
        wanted = {self.prefix + c.path: c.path for c in scope.changes}
        command = ("ls-files", "-s", "-z")
        entries = self._regular_blobs(command, wanted, staged=True, what="list the staged files")
        return self._write_blobs(entries, dest, max_bytes)

    def _regular_blobs(
        self, command: Sequence[str], wanted: Mapping[str, str], *, staged: bool, what: str
    ) -> list[tuple[str, str]]:
        """(blob id, audit-root path) of the regular files `command` lists among `wanted` (top-folder
        path -> audit-root path). Lines: `ls-tree` "mode type oid\tpath", `ls-files -s` "mode oid
        stage\tpath" (stage 0 only: an unmerged path has no single staged version)."""
        entries: list[tuple[str, str]] = []
        for chunk in _chunks(list(wanted)):
            out = self._git(*command, "--", *chunk, what=what)
            for rec in out.split(b"\0"):
                meta, _, name = rec.partition(b"\t")
                parts = meta.decode("ascii", "replace").split(" ")
                if len(parts) < 3:
                    continue
                mode, oid, usable = (
                    (parts[0], parts[1], parts[2] == "0") if staged else (parts[0], parts[2], True)
                )
                target = wanted.get(os.fsdecode(name))
                if target is not None and usable and mode in _REGULAR_MODES:
                    entries.append((oid, target))
        return entries

    def _write_blobs(self, entries: list[tuple[str, str]], dest: Path, max_bytes: int) -> list[str]:
        if not entries:
            return []
        # Sizes first, so a blob over the cap is never read (the walk would skip it anyway).
        sizes = self._git(
            "cat-file", "--batch-check", stdin="".join(f"{oid}\n" for oid, _ in entries).encode(),
            what="read the blob sizes",
        ).splitlines()  # fmt: skip
        small = [e for e, line in zip(entries, sizes, strict=False) if 0 <= _size(line) <= max_bytes]
        if not small:
            return []
        data = self._git(
            "cat-file", "--batch", stdin="".join(f"{oid}\n" for oid, _ in small).encode(),
            what="read the blobs",
        )  # fmt: skip
        written: list[str] = []
        pos = 0
        for _oid, rel in small:
            end = data.index(b"\n", pos)
            size = _size(data[pos:end])
            body = data[end + 1 : end + 1 + size]
            pos = end + 1 + size + 1
            if _write_private(dest, rel, body):
                written.append(rel)
        return written


def _size(header: bytes) -> int:
    """A `cat-file --batch` header's size: `<oid> <type> <size>`; -1 for `<oid> missing`."""
    parts = header.split()
    return int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else -1


def _write_private(dest: Path, rel: str, body: bytes) -> bool:
    """Write one file under our own fresh private temp folder. `rel` is held to the relative-path
    rule first; the folder holds nothing we did not create, so no link can be on the way."""
    parts = check_relpath(rel)
    target = dest.joinpath(*parts)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return False  # e.g. a path that is a folder on one side and a file on the other
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    return True


def _chunks(items: Iterable[str]) -> list[list[str]]:
    seq = list(items)
    return [seq[i : i + _PATHSPEC_CHUNK] for i in range(0, len(seq), _PATHSPEC_CHUNK)]
