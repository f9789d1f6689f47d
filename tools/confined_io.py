"""Reading and atomically replacing files under a root (a repository), in one place.

Every access walks from the root one component at a time with `openat`-style calls (`dir_fd=`,
`O_NOFOLLOW`, `O_DIRECTORY`), so a link is judged at the moment of use, not when it was checked:
a swap between planning and writing cannot redirect anything. The final open adds `O_NONBLOCK`
and `O_NOCTTY` (a FIFO or a terminal under a file's name never blocks or adopts us), `fstat` then
refuses anything that is not a regular file, and no read goes past its byte cap even if the file
grows meanwhile. The root itself must be a real path (`paths.confine` gives one).

Link policy, by what the access is for:

- Writes, and the reads a write is planned from (`open_parent`, `read_current`, `write_atomic`):
  no symbolic link anywhere on the path, and the target must have exactly one hard link (a
  hardlink would let a write show up under a name outside the root; `os.replace` would not write
  into the other name, but we refuse rather than silently split the two).
- Reads for auditing (`read_bytes`, `read_text`, `read_head`, `is_regular`): a symbolic link is
  followed only when its target resolves inside the root, and then the resolved path is opened by
  the same link-refusing walk, so a link swapped in between is refused, never followed. Refusing
  every link would lose real manifests (`requirements.txt -> requirements/prod.txt`) while
  protecting nothing more: what is read still lies inside the root. Pass `follow_links=False`
  where even that is unwanted (ignore files, files the walk already found to be regular). Hard
  links are not refused for reads: installers link files from their caches (uv, pnpm), and a hard
  link cannot be made to a file one could not read anyway.

A write goes: temp file in the same folder (`O_CREAT|O_EXCL|O_NOFOLLOW`, private until its mode is
set to the original's), write, `fsync`, `os.replace` onto the name, `fsync` the folder. A SIGKILL at
any point leaves either the old or the new file under the name; at worst a temp file stays behind,
named `.secaudit-tmp-<16 hex of the target name's sha256>-<random>`, which the next write of that
file (under its lock, `fixes.locks`) or the fix service's recovery removes.

Errors: `FileRefused` (an `InvalidInput`: not a regular file, too large, not text, cannot be
opened) and `LinkRefused` (also a `PathNotAllowed`: a link on the way, or one leading out of the
root, or a second hard link) carry the path and a `reason` without it, for callers that report
per-file skips. `WriteFailed`: the file system refused the write (full, over quota, read-only, an
immutable file or a read-only folder); the target keeps its previous bytes and no temp file stays,
and the message names the condition instead of a bare OSError becoming an "internal error".
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from secaudit.tools.errors import Conflict, InvalidInput, PathNotAllowed, SecauditError
from secaudit.tools.paths import check_relpath, is_within, normalize_relpath

__all__ = [
    "MAX_READ_BYTES",
    "MAX_WRITE_BYTES",
    "TEMP_MARK",
    "Current",
    "FileRefused",
    "LinkRefused",
    "MissingFolder",
    "WriteFailed",
    "cleanup_temps",
    "file_kind",
    "is_regular",
    "open_parent",
    "read_bytes",
    "read_current",
    "read_head",
    "read_text",
    "real_target",
    "sha256_bytes",
    "write_atomic",
]

MAX_READ_BYTES = 20 * 1024 * 1024
MAX_WRITE_BYTES = 32 * 1024 * 1024
TEMP_MARK = ".secaudit-tmp-"
_LINK_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


class FileRefused(InvalidInput):
    """A file under the root was not opened or read; `reason` says why, without the path."""

    code = "file_refused"

    def __init__(self, rel: str, reason: str) -> None:
        super().__init__(f"{rel}: {reason}")
        self.rel = rel
        self.reason = reason


class LinkRefused(FileRefused, PathNotAllowed):
    """A link on the way (writes), or one leading out of the root (reads), or a second hard link."""

    code = "path_not_allowed"


class MissingFolder(InvalidInput):
    """A folder on the path does not exist (a reader may treat the file as absent)."""


class WriteFailed(SecauditError):
    """The file system refused a write; `reason` names the condition. Nothing was replaced."""

    code = "write_failed"

    def __init__(self, rel: str, reason: str) -> None:
        super().__init__(
            f"{rel}: the write failed: {reason}; the file keeps its previous content and no "
            "temporary file was left"
        )
        self.rel = rel
        self.reason = reason


# What the caller can act on, by errno; anything else is named by its strerror.
_WRITE_CONDITIONS = {
    errno.ENOSPC: "no space left on the device; free some space and try again",
    errno.EDQUOT: "the disk quota is exhausted; free some space or raise the quota and try again",
    errno.EROFS: "the file system is read-only; remount it read-write or fix the file elsewhere",
    errno.EACCES: (
        "permission denied: the folder or the file is read-only for this user; make it writable "
        "(or run as its owner) and try again"
    ),
    errno.EPERM: (
        "operation not permitted: the file or its folder is immutable or append-only "
        "(`lsattr` shows it; `chattr -i` clears it) or owned by someone else"
    ),
}


def _write_failed(rel: str, exc: OSError) -> WriteFailed:
    reason = _WRITE_CONDITIONS.get(exc.errno or 0) or f"{exc.strerror or 'an I/O error'}"
    return WriteFailed(rel, reason)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def real_target(root: Path, rel: str) -> Path:
    """The path a lock is keyed on: the (real) root joined with the checked relative parts."""
    return root.joinpath(*check_relpath(rel, "a fix path"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, for a skip reason: "a FIFO (named pipe)", "a socket", ..."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def _read_fd(fd: int, rel: str, max_bytes: int, *, head: bool = False) -> tuple[bytes, os.stat_result]:
    """Read an open file: regular only; at most `max_bytes` (`head`: the first `max_bytes`, else a
    larger file is refused, also one that grew past the cap after fstat)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(rel, f"is {file_kind(st.st_mode)}; not read")
    if not head and st.st_size > max_bytes:
        raise FileRefused(rel, f"larger than {max_bytes} bytes; not read")
    chunks: list[bytes] = []
    remaining = max_bytes if head else max_bytes + 1
    while remaining > 0:
        block = os.read(fd, min(remaining, _CHUNK))
        if not block:
            break
        chunks.append(block)
        remaining -= len(block)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise FileRefused(rel, f"larger than {max_bytes} bytes; not read")
    return data, st


def _descend(root: Path, parts: tuple[str, ...]) -> int:
    """An fd of the folder holding `parts[-1]`, every folder opened without following a link."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_nofollow(root: Path, parts: tuple[str, ...]) -> int:
    dir_fd = _descend(root, parts)
    try:
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _cannot_open(rel: str, exc: OSError) -> FileRefused:
    return FileRefused(rel, f"cannot be opened ({exc.strerror or 'error'})")


def _open_for_read(root: Path, rel: str, follow_links: bool) -> tuple[str, int]:
    """(the normalised path, an fd of the file); links followed only inside the root, if at all."""
    rel = normalize_relpath(rel)
    try:
        return rel, _open_nofollow(root, check_relpath(rel))
    except OSError as exc:
        if exc.errno not in _LINK_ERRNOS:
            raise _cannot_open(rel, exc) from None
    if not follow_links:
        raise LinkRefused(rel, "is a symbolic link or goes through one; not followed")
    # A symlink somewhere on the way: allowed only when it resolves inside the root, and then the
    # resolved path is opened by the same link-refusing walk (a swap meanwhile is refused).
    real = Path(os.path.realpath(root / rel))
    if not is_within(real, root):
        raise LinkRefused(rel, "is a symbolic link leading outside the audited root; not opened")
    if real == root:
        raise FileRefused(rel, "is not a regular file; not read")
    try:
        return rel, _open_nofollow(root, check_relpath(real.relative_to(root).as_posix()))
    except OSError as exc:
        raise _cannot_open(rel, exc) from None


def read_bytes(root: Path, rel: str, max_bytes: int = MAX_READ_BYTES, *, follow_links: bool = True) -> bytes:
    """The content of regular file `rel` under `root`; FileRefused / LinkRefused otherwise."""
    rel, fd = _open_for_read(root, rel, follow_links)
    try:
        return _read_fd(fd, rel, max_bytes)[0]
    finally:
        os.close(fd)


def read_head(root: Path, rel: str, max_bytes: int, *, follow_links: bool = True) -> bytes:
    """The first `max_bytes` of regular file `rel` (a larger file is not refused)."""
    rel, fd = _open_for_read(root, rel, follow_links)
    try:
        return _read_fd(fd, rel, max_bytes, head=True)[0]
    finally:
        os.close(fd)


def read_text(root: Path, rel: str, max_bytes: int = MAX_READ_BYTES, *, follow_links: bool = True) -> str:
    """`read_bytes` decoded as UTF-8 (a BOM dropped); FileRefused when it is not UTF-8."""
    data = read_bytes(root, rel, max_bytes, follow_links=follow_links)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(normalize_relpath(rel), "is not valid UTF-8 text; not parsed") from None


def is_regular(root: Path, rel: str, *, follow_links: bool = True) -> bool:
    """Whether `rel` opens, under the read policy, as a regular file."""
    try:
        _rel, fd = _open_for_read(root, rel, follow_links)
    except InvalidInput:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


# -- writes: no link at all ------------------------------------------------------------------------


def _write_link_refusal(rel: str) -> LinkRefused:
    return LinkRefused(
        rel,
        "the path goes through a symbolic link or is not a plain folder/file; fixes never write "
        "through links. Replace the link with the real file, or fix the file where it really lives.",
    )


@contextlib.contextmanager
def open_parent(root: Path, rel: str) -> Iterator[tuple[int, str]]:
    """Yield (fd of the folder holding `rel`, file name), walking down from `root` without links."""
    parts = check_relpath(rel, "a fix path")
    try:
        fd = _descend(root, parts)
    except FileNotFoundError:
        raise MissingFolder(f"{rel}: a folder on the path does not exist") from None
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _write_link_refusal(rel) from None
        raise
    try:
        yield fd, parts[-1]
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Current:
    """What is under the name right now: None content means the file does not exist."""

    content: bytes | None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def sha256(self) -> str | None:
        return None if self.content is None else sha256_bytes(self.content)


def read_current(dir_fd: int, name: str, rel: str) -> Current:
    """The file a write would replace: no link, regular, one hard link, at most MAX_WRITE_BYTES."""
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return Current(None)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _write_link_refusal(rel) from None
        raise
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            raise LinkRefused(
                rel,
                f"the file has {st.st_nlink} hard links; a fix would no longer reach the other "
                "names. Break the link (copy the file over itself) and plan again.",
            )
        data, st = _read_fd(fd, rel, MAX_WRITE_BYTES)
        return Current(data, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    finally:
        os.close(fd)


def _temp_prefix(name: str) -> str:
    return TEMP_MARK + hashlib.sha256(os.fsencode(name)).hexdigest()[:16] + "-"


def cleanup_temps(dir_fd: int, name: str) -> int:
    """Remove temp files a killed writer of `name` left in its folder; call under the file's lock."""
    prefix = _temp_prefix(name)
    removed = 0
    for entry in os.listdir(dir_fd):
        if not entry.startswith(prefix):
            continue
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                os.unlink(entry, dir_fd=dir_fd)
                removed += 1
    return removed


def write_atomic(
    dir_fd: int,
    name: str,
    rel: str,
    data: bytes | None,
    *,
    expected_sha256: str | None,
    expect_absent: bool = False,
    default_mode: int = 0o644,
) -> None:
    """Replace (or create, or with `data=None` remove) `name` if it still has the expected content.

    The caller holds the file's lock. `expect_absent` means the file must not exist (a plan that
    creates it); otherwise its sha256 must equal `expected_sha256`. On a mismatch nothing is
    written and Conflict is raised.
    """
    cleanup_temps(dir_fd, name)
    current = read_current(dir_fd, name, rel)
    if expect_absent:
        if current.content is not None:
            raise Conflict(f"{rel}: the file now exists, but the plan creates it; plan the fix again")
    elif current.content is None:
        raise Conflict(f"{rel}: the file was removed since the fix was planned; plan the fix again")
    elif current.sha256 != expected_sha256:
        raise Conflict(f"{rel}: the file changed since the fix was planned; nothing was written. Plan again.")
    if data is None:
        try:
            os.unlink(name, dir_fd=dir_fd)
        except OSError as exc:
            raise _write_failed(rel, exc) from None
        os.fsync(dir_fd)
        return
    try:
        tmp = _commit(
            dir_fd, name, rel, data, current, expect_absent=expect_absent, default_mode=default_mode
        )
    except OSError as exc:
        raise _write_failed(rel, exc) from None
    if expect_absent:
        # The new name is linked in place: a temp name that cannot go is the next write's to remove.
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
    # The new content is in place; a failing folder fsync (an I/O error) does not undo that, so it
    # is not reported as "the file keeps its previous content".
    os.fsync(dir_fd)


def _commit(
    dir_fd: int,
    name: str,
    rel: str,
    data: bytes,
    current: Current,
    *,
    expect_absent: bool,
    default_mode: int,
) -> str:
    """Write `data` to a fresh temp file and put it under `name` (returns the temp name); on any
    failure the temp file is removed and `name` is untouched."""
    tmp = _temp_prefix(name) + secrets.token_hex(8)
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd
    )
    try:
        try:
            mode = current.mode if current.mode is not None else default_mode & ~_umask()
            if current.uid is not None and current.gid is not None:
                # Only root (or the owner keeping its own group) may do this; otherwise the new file
                # is ours, exactly as an editor saving the file would leave it.
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, current.uid, current.gid)
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if expect_absent:
            # link() fails if the name appeared meanwhile (even from a writer that ignores our locks):
            # creating never overwrites.
            try:
                os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            except FileExistsError:
                raise Conflict(
                    f"{rel}: the file appeared while the fix was writing; nothing was written"
                ) from None
        else:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    return tmp


def _umask() -> int:
    # os.umask can only be read by setting it; this is the documented way, racy only with other
    # threads changing the umask, which nothing in secaudit does.
    current = os.umask(0o022)
    os.umask(current)
    return current
