"""The scanner plug-in interface, with its base error beside it.

The audit engine knows scanners only through this module: it walks the repository once (regular
files under the root, ignore rules applied, sizes capped), hands each scanner the files it selects,
and stores what comes back. A scanner must say what it covered and what it skipped, with reasons:
a scanner that could not look is never reported as a clean result.

Options. A scanner that takes options declares them as a frozen model, `Options` (a
`ScannerOptions` subclass: typed fields with defaults, unknown keys refused). The engine validates
the configured values into it once, when it is built, and hands each scanner its own instance as
`ctx.options`; the scanner reads it with `ctx.options_as(MyOptions)`. What every scanner may use
(the store, the cache, the time budget) is a field of `ScanContext`, not an option.

    ScannerError               the scanner as a whole failed (the run becomes partial or failed)
    ├── ScannerUnavailable     its backend is missing or does not answer (offline service, no database)
    └── ScannerOptionsError    a configured option is unknown or invalid (also a ConfigError)
"""

from __future__ import annotations

import abc
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from secaudit.tools.errors import ConfigError, SecauditError
from secaudit.tools.findings.model import Finding
from secaudit.tools.store import Store

# The walk's own types: what a scanner is handed comes from the walk (tools/walker.py).
from secaudit.tools.walker import CancelToken, FileRef, FileSkip

__all__ = [
    "CancelToken",
    "Digested",
    "Digests",
    "FileRef",
    "FileSkip",
    "NoOptions",
    "ResultCache",
    "ScanContext",
    "ScanResult",
    "Scanner",
    "ScannerError",
    "ScannerOptions",
    "ScannerOptionsError",
    "ScannerUnavailable",
    "cached_many",
    "digest_file",
    "read_vouched",
]


class ScannerError(SecauditError):
    code = "scanner_error"


class ScannerUnavailable(ScannerError):
    code = "scanner_unavailable"


class ScannerOptionsError(ScannerError, ConfigError):
    code = "scanner_options_error"


class ScannerOptions(BaseModel):
    """Base of a scanner's options: frozen, typed, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    @classmethod
    def parse(cls, scanner: str, values: Mapping[str, object]) -> Self:
        """`values` validated into this model; ScannerOptionsError naming each problem (never a value:
        an option may be a key)."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            known = ", ".join(cls.model_fields) or "none"
            problems = []
            for error in exc.errors()[:10]:
                where = ".".join(str(part) for part in error["loc"]) or "options"
                if error["type"] == "extra_forbidden":
                    problems.append(f"unknown option {where[:60]!r} (known: {known})")
                else:
                    problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
            raise ScannerOptionsError(f"{scanner} scanner options: {'; '.join(problems)}") from None


class NoOptions(ScannerOptions):
    """The options of a scanner that takes none."""


_O = TypeVar("_O", bound=ScannerOptions)


class ResultCache(Protocol):
    """Per-scanner cache of per-file results, keyed by content hash + scanner version + config."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


def cached_many(cache: ResultCache, keys: Iterable[str]) -> dict[str, Any]:
    """The stored values of those of `keys` that have one. A cache with a `get_many` method (the
    store's: a few queries, not one per file) answers at once; any other, key by key."""
    many = getattr(cache, "get_many", None)
    if callable(many):
        found: dict[str, Any] = many(keys)
        return found
    out: dict[str, Any] = {}
    for key in keys:
        value = cache.get(key)
        if value is not None:
            out[key] = value
    return out


class Digests(Protocol):
    """The stat-first hash book of a run (tools/audit/filestats.py): a file whose walk stat matches
    the one its content hash was taken under is not read again."""

    def known(self, file: FileRef) -> str | None: ...

    def learn(self, file: FileRef, digest: str) -> None: ...


@dataclass
class Digested:
    """A file's content hash, with the bytes read for it (None: its stat vouched, nothing was read)."""

    file: FileRef
    digest: str
    content: bytes | None


def digest_file(digests: Digests | None, file: FileRef, limit: int) -> Digested:
    """sha256 of `file`'s first `limit + 1` bytes, the whole file when it is no larger than `limit`.
    Asks `digests` first (whole files only), tells it what was hashed; raises OSError."""
    if digests is not None and file.size <= limit:
        known = digests.known(file)
        if known is not None:
            return Digested(file, known, None)
    with open(file.path, "rb") as fh:
        content = fh.read(limit + 1)
    digest = hashlib.sha256(content).hexdigest()
    if digests is not None and len(content) <= min(limit, file.size):
        digests.learn(file, digest)  # the whole file, no larger than its walked size
    return Digested(file, digest, content)


def read_vouched(file: FileRef, limit: int) -> bytes | None:
    """The bytes of a file whose stat vouched for its hash, or None when the opened file's stat is
    no longer the walk's (it changed since): the caller then hashes what it reads."""
    try:
        with open(file.path, "rb") as fh:
            if not file.same_stat(os.fstat(fh.fileno())):
                return None
            return fh.read(limit + 1)
    except OSError:
        return None


@dataclass
class ScanContext:
    root: Path
    cancel: CancelToken
    deadline: float  # time.monotonic() value by which scan() must return
    cache: ResultCache | None = None
    progress: Callable[[int], None] = lambda _done: None  # called with files newly finished
    workers: int = 1
    options: ScannerOptions | None = None  # the scanner's own `Options`; None: its defaults
    store: Store | None = None  # the store the run is recorded in (e.g. it holds the advisory database)
    digests: Digests | None = None  # stat-first content hashes; None: hash every file read

    def options_as(self, kind: type[_O]) -> _O:
        """This scanner's options as its own `Options` type (defaults when none were given)."""
        if self.options is None:
            return kind()
        if not isinstance(self.options, kind):
            raise ScannerOptionsError(
                f"{type(self.options).__name__} handed to a scanner whose options are {kind.__name__}"
            )
        return self.options


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
    Options: ClassVar[type[ScannerOptions]] = NoOptions

    @abc.abstractmethod
    def version(self) -> str:
        """Scanner + backend version; part of every cache key."""

    @abc.abstractmethod
    def selects(self, file: FileRef) -> bool:
        """Whether this scanner looks at `file` (cheap: name and size only)."""

    @abc.abstractmethod
    def scan(self, ctx: ScanContext, files: Sequence[FileRef]) -> ScanResult:
        """Scan `files`; check `ctx.cancel` between units of work and return by `ctx.deadline`."""

    def prepare(self, ctx: ScanContext, files: Sequence[FileRef]) -> bool:
        """Optionally start slow set-up for `scan(ctx, files)` in the background (e.g. a worker
        process loading its libraries) and return at once; True when something was started. The
        engine calls it for every scanner with files before the first scan and runs the scanners
        that started something after the others, so that set-up overlaps their work. The default
        starts nothing."""
        return False
