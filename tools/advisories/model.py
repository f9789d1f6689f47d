"""The parsed, validated form of an OSV advisory record, and the errors of this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from secaudit.tools.errors import InvalidInput, SecauditError
from secaudit.tools.severity import UNKNOWN

__all__ = [
    "MALICIOUS_PREFIX",
    "RANGE_TYPES",
    "SKIP_INVALID",
    "SKIP_REASONS",
    "SKIP_TOO_LARGE",
    "SKIP_UNDECODABLE",
    "SKIP_UNREADABLE",
    "Advisory",
    "AdvisoryError",
    "AdvisoryFormatError",
    "AdvisorySeverity",
    "AffectedPackage",
    "AffectedRange",
    "DatabaseUpdateFailed",
    "Event",
    "EventKind",
    "Reference",
]

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
# Why an import skipped a record: the categories `ImportReport.skipped` counts by.
SKIP_TOO_LARGE = "larger than the per-record cap"
SKIP_UNDECODABLE = "not valid JSON or YAML"
SKIP_UNREADABLE = "cannot be read (damaged, encrypted, unsupported compression, not a regular file)"
SKIP_INVALID = "not a valid OSV record"
SKIP_REASONS = (SKIP_TOO_LARGE, SKIP_UNDECODABLE, SKIP_UNREADABLE, SKIP_INVALID)
# OSV's prefix for malicious-package reports (github.com/ossf/malicious-packages).
MALICIOUS_PREFIX = "MAL-"
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")


class AdvisoryError(SecauditError):
    """Base of the errors of the advisory database."""

    code = "advisory_error"


class AdvisoryFormatError(AdvisoryError, InvalidInput):
    """One OSV record is malformed; the import skips it and reports where.

    `reason` is the category an import report counts skips by (one of SKIP_REASONS).
    """

    code = "advisory_format"

    def __init__(self, message: str, reason: str = "not a valid OSV record") -> None:
        super().__init__(message)
        self.reason = reason


class DatabaseUpdateFailed(AdvisoryError):
    """`db update` could not download a dump (offline, timeout, bad answer); nothing was changed."""

    code = "advisory_update_failed"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    version: str


@dataclass(frozen=True, slots=True)
class AffectedRange:
    type: str
    events: tuple[Event, ...]
    repo: str | None = None

    def versions_of(self, kind: EventKind) -> tuple[str, ...]:
        return tuple(e.version for e in self.events if e.kind == kind)


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    ecosystem: str
    name: str
    normalized_name: str
    ranges: tuple[AffectedRange, ...] = ()
    versions: tuple[str, ...] = ()
    purl: str | None = None

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        """Fixed versions from the version-comparable ranges (GIT fixes are commits, not versions)."""
        seen: dict[str, None] = {}
        for rng in self.ranges:
            if rng.type != "GIT":
                for v in rng.versions_of("fixed"):
                    seen.setdefault(v, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Reference:
    type: str
    url: str


@dataclass(frozen=True, slots=True)
class AdvisorySeverity:
    """The publisher's assessment. `level` is a `secaudit.tools.severity.ADVISORY_LEVELS` name:
    "unknown" is a level of its own, a record without a usable severity is never given a guess."""

    level: str = UNKNOWN
    score: float | None = None
    vector: str | None = None
    # Where the level came from: "CVSS_V4", "CVSS_V3", "CVSS_V2", "database_specific" or "none".
    source: str = "none"


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    modified: str
    published: str | None = None
    withdrawn: str | None = None
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    affected: tuple[AffectedPackage, ...] = ()
    references: tuple[Reference, ...] = ()
    severity: AdvisorySeverity = field(default_factory=AdvisorySeverity)
    content_hash: str = ""

    @property
    def is_withdrawn(self) -> bool:
        return bool(self.withdrawn)

    @property
    def is_malicious(self) -> bool:
        """A malicious-package report: a `MAL-` id, or a record that names one as an alias."""
        return self.id.startswith(MALICIOUS_PREFIX) or any(
            a.startswith(MALICIOUS_PREFIX) for a in self.aliases
        )
