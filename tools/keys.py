"""Random keys kept in files beside the store (0600), created on first use and never overwritten.

A key lives outside the database on purpose: a copy of the database alone then cannot open sealed
backups or test guesses against keyed hashes of secrets.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from secaudit.tools.errors import ConfigError

__all__ = ["load_or_create_key"]


def load_or_create_key(path: Path, size: int = 32, *, what: str = "key") -> bytes:
    """Read a random key file (0600), creating it atomically on first use; never overwrite one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, secrets.token_bytes(size))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() never overwrites: if another process created the key first, we use theirs.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        return load_or_create_key(path, size, what=what)
    except OSError as exc:
        raise ConfigError(f"cannot open the {what} {path.name}: {exc.strerror or 'error'}") from None
    try:
        key = os.read(fd, size + 1)
    finally:
        os.close(fd)
    if len(key) != size:
        raise ConfigError(
            f"the {what} {path.name} is not {size} bytes; it was left untouched. Move it away to "
            "start a new one (what was sealed or hashed with it can then no longer be matched)"
        )
    return key
