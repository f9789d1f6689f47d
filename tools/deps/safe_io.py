"""The confined reader (`secaudit.tools.confined_io`) as dependency sources use it.

Its read policy applies: links followed only when they resolve inside the root, FIFOs and devices
refused without blocking, a size cap. Here every refusal becomes a `SourceError`, so one unusable
manifest is a per-file skip and the audit goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from secaudit.tools import confined_io
from secaudit.tools.errors import InvalidInput, PathNotAllowed
from secaudit.tools.paths import normalize_relpath

from .interface import SourceError

__all__ = ["MAX_MANIFEST_BYTES", "is_regular_within", "read_bytes_within", "read_text_within", "safe_relpath"]

MAX_MANIFEST_BYTES = confined_io.MAX_READ_BYTES


def safe_relpath(rel: str) -> str:
    """Normalise a repo-relative POSIX path (`paths.normalize_relpath`); SourceError if it leaves."""
    try:
        return normalize_relpath(rel)
    except PathNotAllowed:
        raise SourceError(f"{rel[:200]!r} points outside the audited root; not opened") from None
    except InvalidInput:
        raise SourceError(f"{rel[:200]!r} is not a path inside the audited root") from None


@contextlib.contextmanager
def _as_source_error() -> Iterator[None]:
    try:
        yield
    except InvalidInput as exc:
        raise SourceError(exc.message) from None


def read_bytes_within(root: Path, rel: str, max_bytes: int = MAX_MANIFEST_BYTES) -> bytes:
    with _as_source_error():
        return confined_io.read_bytes(root, safe_relpath(rel), max_bytes)


def read_text_within(root: Path, rel: str, max_bytes: int = MAX_MANIFEST_BYTES) -> str:
    with _as_source_error():
        return confined_io.read_text(root, safe_relpath(rel), max_bytes)


def is_regular_within(root: Path, rel: str) -> bool:
    return confined_io.is_regular(root, rel)
