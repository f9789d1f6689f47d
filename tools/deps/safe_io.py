"""Reading files of the audited repository without ever leaving it or blocking.

Each path is opened component by component from the root with O_NOFOLLOW, so no symlink is followed
implicitly and there is no window between a check and the open. A symlink is followed only when its
target resolves inside the root, and then it is re-opened the same way. The final open uses
O_NONBLOCK, so a FIFO named `requirements.txt` never blocks us; fstat then refuses anything that is
not a regular file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from secaudit.tools.errors import InvalidInput, PathNotAllowed
from secaudit.tools.paths import is_within, normalize_relpath

from .interface import SourceError

__all__ = ["MAX_MANIFEST_BYTES", "is_regular_within", "read_bytes_within", "read_text_within", "safe_relpath"]

MAX_MANIFEST_BYTES = 20 * 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOCTTY = getattr(os, "O_NOCTTY", 0)


def safe_relpath(rel: str) -> str:
    """Normalise a repo-relative POSIX path (`paths.normalize_relpath`); SourceError if it leaves."""
    try:
        return normalize_relpath(rel)
    except PathNotAllowed:
        raise SourceError(f"{rel[:200]!r} points outside the audited root; not opened") from None
    except InvalidInput:
        raise SourceError(f"{rel[:200]!r} is not a path inside the audited root") from None


def _open_nofollow(root: Path, rel: str) -> int:
    parts = rel.split("/")
    dir_fd = os.open(root, os.O_RDONLY | _DIRECTORY)
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = next_fd
        return os.open(parts[-1], os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _NOCTTY, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _open_within(root: Path, rel: str) -> int:
    rel = safe_relpath(rel)
    try:
        return _open_nofollow(root, rel)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise SourceError(f"{rel}: cannot be opened ({exc.strerror or 'error'})") from None
    # A symlink somewhere on the way: allowed only when it resolves inside the root.
    real = Path(os.path.realpath(root / rel))
    if not is_within(real, root):
        raise SourceError(f"{rel}: is a symbolic link leading outside the audited root; not opened")
    try:
        return _open_nofollow(root, real.relative_to(root).as_posix())
    except OSError as exc:
        raise SourceError(f"{rel}: cannot be opened ({exc.strerror or 'error'})") from None


def read_bytes_within(root: Path, rel: str, max_bytes: int = MAX_MANIFEST_BYTES) -> bytes:
    fd = _open_within(root, rel)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
            raise SourceError(f"{safe_relpath(rel)}: is {kind}; not read")
        if st.st_size > max_bytes:
            raise SourceError(f"{safe_relpath(rel)}: larger than {max_bytes} bytes; not read")
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            block = os.read(fd, min(remaining, 1 << 20))
            if not block:
                break
            chunks.append(block)
            remaining -= len(block)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise SourceError(f"{safe_relpath(rel)}: larger than {max_bytes} bytes; not read")
        return data
    finally:
        os.close(fd)


def read_text_within(root: Path, rel: str, max_bytes: int = MAX_MANIFEST_BYTES) -> str:
    data = read_bytes_within(root, rel, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError(f"{safe_relpath(rel)}: is not valid UTF-8 text; not parsed") from None


def is_regular_within(root: Path, rel: str) -> bool:
    try:
        fd = _open_within(root, rel)
    except SourceError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
