"""The scanner plug-in interface, with its base error beside it.

The audit engine knows scanners only through this module: it walks the repository once (regular
files under the root, ignore rules applied, sizes capped), hands each scanner the files it selects,
and stores what comes back. A scanner must say what it covered and what it skipped, with reasons:
a scanner that could not look is never reported as a clean result.

    ScannerError          the scanner as a whole failed (the run becomes partial or failed)
    └── ScannerUnavailable its backend is missing or does not answer (offline service, no database)
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from secaudit.tools.errors import SecauditError
from secaudit.tools.findings.model import Finding

__all__ = [
    "CancelToken",
    "FileRef",
    "FileSkip",
    "ResultCache",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerError",
    "ScannerUnavailable",
]


class ScannerError(SecauditError):
    code = "scanner_error"


class ScannerUnavailable(ScannerError):
    code = "scanner_unavailable"


@dataclass(frozen=True)
class FileRef:
    """A regular file inside the audited root, as the walker found it (never through a link)."""

    path: Path  # absolute, real
    rel: str  # repository-relative POSIX path
    size: int
    mode: int  # st_mode, for permission rules


@dataclass(frozen=True)
class FileSkip:
    path: str
    reason: str


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


class ResultCache(Protocol):
    """Per-scanner cache of per-file results, keyed by content hash + scanner version + config."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


@dataclass
class ScanContext:
    root: Path
    cancel: CancelToken
    deadline: float  # time.monotonic() value by which scan() must return
    cache: ResultCache | None = None
    progress: Callable[[int], None] = lambda _done: None  # called with files newly finished
    workers: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)  # rel paths actually examined
    skipped: list[FileSkip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # coverage notes, e.g. "advisory DB is empty"
    # False when the scanner stopped before covering every file it selected (cancelled, out of
    # time): the engine then marks nothing of this scanner fixed and the run partial.
    complete: bool = True


class Scanner(abc.ABC):
    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abc.abstractmethod
    def version(self) -> str:
        """Scanner + backend version; part of every cache key."""

    @abc.abstractmethod
    def selects(self, file: FileRef) -> bool:
        """Whether this scanner looks at `file` (cheap: name and size only)."""

    @abc.abstractmethod
    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        """Scan `files`; check `ctx.cancel` between units of work and return by `ctx.deadline`."""
