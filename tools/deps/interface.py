"""The dependency-source plug-in interface, with its base error beside it.

A source reads one kind of manifest or lockfile (found by file name) and yields the dependencies it
declares. It never installs, builds, executes or fetches anything: it only reads files inside the
audited root, through `SourceContext.read_text`, which refuses links leading out of the root, FIFOs
and devices, and oversized files.

    SourceError                 one file cannot be used (malformed, unreadable, unsafe); the audit goes on
    AdvisoryBackendUnavailable  an online advisory backend (pip-audit's services, `npm audit`) did not
                                answer or cannot run; the offline result stands

The dependency audit knows nothing of scanners: the `deps` scanner (`tools/scanners/deps.py`) turns
these errors into coverage notes or `ScannerUnavailable`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from secaudit.tools.errors import SecauditError

__all__ = [
    "AdvisoryBackendUnavailable",
    "Dependency",
    "DependencySource",
    "FileNote",
    "SourceContext",
    "SourceError",
    "SourceResult",
]


class SourceError(SecauditError):
    """One manifest or lockfile could not be used; the message says which and why."""

    code = "dependency_source_error"


class AdvisoryBackendUnavailable(SecauditError):
    """An online advisory backend did not answer or cannot run; the message says why, in one line."""

    code = "advisory_backend_unavailable"


@dataclass(frozen=True)
class Dependency:
    """One declared or locked package version. Text fields come from the audited repo (cleaned)."""

    ecosystem: str
    name: str  # as written
    normalized_name: str  # PEP 503 for PyPI, exact for npm
    version: str | None  # the exact pinned version, or None when not pinned
    specifier: str | None  # the constraint as written (e.g. ">=2,<3", "^1.2"), None when absent
    direct: bool | None  # None: the source cannot tell
    manifest: str  # repo-relative POSIX path of the file listing it
    line: int | None  # 1-based line in `manifest`, None when not locatable
    source: str  # the plug-in that read it
    declared_in: str | None = None  # for a locked direct dependency: the manifest declaring it
    declared_line: int | None = None
    extras: tuple[str, ...] = ()
    marker: str | None = None
    hashed: bool = False  # pinned with --hash (a fixer must not edit the line by hand)
    groups: tuple[str, ...] = ()  # e.g. "dev", an optional-dependency group
    notes: tuple[str, ...] = ()

    @property
    def pinned(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class FileNote:
    path: str
    message: str


@dataclass
class SourceResult:
    dependencies: list[Dependency] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read (includes, sibling manifests)
    notes: list[FileNote] = field(default_factory=list)


@dataclass(frozen=True)
class SourceContext:
    """What a source may touch: the root, and a reader confined to it."""

    root: Path
    read_text: Callable[[str], str]  # repo-relative POSIX path -> text; raises SourceError
    exists: Callable[[str], bool]  # a regular file at that repo-relative path, not through a link out


class DependencySource(abc.ABC):
    name: ClassVar[str]
    ecosystem: ClassVar[str]
    # Lockfiles describe what is installed; manifests declare ranges. When a lockfile of the same
    # ecosystem sits beside a manifest, the audit takes versions from the lockfile.
    is_lockfile: ClassVar[bool] = False

    @abc.abstractmethod
    def matches(self, rel: str) -> bool:
        """Whether this source reads the file at repo-relative `rel` (by name only)."""

    @abc.abstractmethod
    def parse(self, ctx: SourceContext, rel: str) -> SourceResult:
        """Dependencies of `rel`; SourceError when the file as a whole cannot be used."""
