"""Reading and atomically replacing files under an allowed root without ever following a link.

Every access walks from the root one component at a time with `openat`-style calls
(`dir_fd=`, `O_NOFOLLOW`, `O_DIRECTORY`), so a symlink anywhere on the path is refused at the moment
of use, not just when it was checked; a swap between planning and writing cannot redirect a write.
The target must be a regular file with one link (a hardlink would let a write show up under a
name outside the root; `os.replace` would not write into the other name, but we refuse rather than
silently split the two).

A write goes: temp file in the same folder (`O_CREAT|O_EXCL|O_NOFOLLOW`, private until its mode is
set to the original's), write, `fsync`, `os.replace` onto the name, `fsync` the folder. A SIGKILL at
any point leaves either the old or the new file under the name; at worst a temp file stays behind,
named `.secaudit-tmp-<16 hex of the target name's sha256>-<random>`, which the next write of that
file (under its lock) or the service's recovery removes.
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

from secaudit.tools.errors import Conflict, InvalidInput, PathNotAllowed
from secaudit.tools.paths import check_relpath

__all__ = [
    "TEMP_MARK",
    "Current",
    "MissingFolder",
    "check_rel_path",
    "cleanup_temps",
    "open_parent",
    "read_current",
    "real_target",
    "sha256_bytes",
    "write_atomic",
]

TEMP_MARK = ".secaudit-tmp-"
_MAX_BYTES = 32 * 1024 * 1024
_LINK_ERRNOS = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_rel_path(rel: str) -> tuple[str, ...]:
    """Split a repository-relative POSIX path; refuse absolute paths, `..` and empty parts."""
    return check_relpath(rel, "a fix path")


def real_target(root: Path, rel: str) -> Path:
    """The path a lock is keyed on: the (real) root joined with the checked relative parts."""
    return root.joinpath(*check_rel_path(rel))


class MissingFolder(InvalidInput):
    """A folder on the path does not exist (a reader may treat the file as absent)."""


def _link_refusal(rel: str) -> PathNotAllowed:
    return PathNotAllowed(
        f"{rel}: the path goes through a symbolic link or is not a plain folder/file; fixes never write "
        "through links. Replace the link with the real file, or fix the file where it really lives."
    )


@contextlib.contextmanager
def open_parent(root: Path, rel: str) -> Iterator[tuple[int, str]]:
    """Yield (fd of the folder holding `rel`, file name), walking down from `root` without links."""
    parts = check_rel_path(rel)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                raise MissingFolder(f"{rel}: a folder on the path does not exist") from None
            except OSError as exc:
                if exc.errno in _LINK_ERRNOS:
                    raise _link_refusal(rel) from None
                raise
            os.close(fd)
            fd = nxt
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
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return Current(None)
    except OSError as exc:
        if exc.errno in _LINK_ERRNOS:
            raise _link_refusal(rel) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{rel}: not a regular file; only regular files are fixed")
        if st.st_nlink > 1:
            raise PathNotAllowed(
                f"{rel}: the file has {st.st_nlink} hard links; a fix would no longer reach the other "
                "names. Break the link (copy the file over itself) and plan again."
            )
        if st.st_size > _MAX_BYTES:
            raise InvalidInput(f"{rel}: larger than {_MAX_BYTES} bytes; not fixed automatically")
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return Current(b"".join(chunks), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
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
        os.unlink(name, dir_fd=dir_fd)
        os.fsync(dir_fd)
        return
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
            os.unlink(tmp, dir_fd=dir_fd)
        else:
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _umask() -> int:
    # os.umask can only be read by setting it; this is the documented way, racy only with other
    # threads changing the umask, which nothing in secaudit does.
    current = os.umask(0o022)
    os.umask(current)
    return current
