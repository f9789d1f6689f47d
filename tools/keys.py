"""Random keys kept in files beside the store (0600), created on first use and never overwritten.

A key lives outside the database on purpose: a copy of the database alone then cannot open sealed
backups or test guesses against keyed hashes of secrets.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from pathlib import Path

from secaudit.tools.errors import ConfigError

__all__ = ["MIN_KEY_BYTES", "key_from_text", "key_to_text", "load_or_create_key"]

MIN_KEY_BYTES = 16
_HEX_RE = re.compile(r"[0-9a-fA-F]{1,256}")
_B64_RE = re.compile(r"[A-Za-z0-9+/_-]{22,172}={0,2}")


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


def key_to_text(key: bytes) -> str:
    """A key as one line of text (base64url, no padding): what a CI secret holds."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def key_from_text(text: str) -> bytes:
    """The key a line of text holds: base64 (standard or URL-safe, padding optional, as
    `key_to_text` writes it) or hex, at least 16 bytes. ValueError (never quoting the text)
    otherwise."""
    value = text.strip()
    try:
        if _HEX_RE.fullmatch(value):
            key = bytes.fromhex(value)  # only hex digits: hex, never base64 (short hex is refused)
        elif _B64_RE.fullmatch(value):
            padded = value.rstrip("=")
            key = base64.urlsafe_b64decode(
                padded.replace("+", "-").replace("/", "_") + "=" * (-len(padded) % 4)
            )
        else:
            raise ValueError("not base64 or hex text")
    except (binascii.Error, ValueError):
        raise ValueError(
            f"must be base64 or hex text of at least {MIN_KEY_BYTES} bytes, as `secaudit baseline key` prints"
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"must hold at least {MIN_KEY_BYTES} bytes")
    return key
