"""Severity, in one place: the levels, their order, and the reading of other tools' vocabularies.

`Severity` is the level of a finding: critical > high > medium > low > info. An advisory's level is
a `Severity` value too, or `UNKNOWN` when the publisher gave none that could be read: a level is
never guessed (`ADVISORY_LEVELS`). Everything else is read through two functions:

- `severity_from_label`: a word from another vocabulary, case-insensitively: ours, bandit's
  (`HIGH`), GitHub's and npm's (`moderate`), Red Hat's (`important`). None when it is not one.
- `severity_from_score`: a CVSS base score on the CVSS qualitative scale (0.0 is "None": info).
- `severity_from_sarif_level`: a SARIF result's `level` (error, warning, note, none).
"""

from __future__ import annotations

import enum
from typing import Literal

__all__ = [
    "ADVISORY_LEVELS",
    "UNKNOWN",
    "Severity",
    "SeverityName",
    "level_rank",
    "severity_from_label",
    "severity_from_sarif_level",
    "severity_from_score",
]


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        """One of our own names (any case, surrounding blanks ignored); ValueError otherwise."""
        return cls(value.strip().lower())


# The same names as a type for strict input models (a pydantic Literal, not the enum: strict
# validation of a plain string against an enum would refuse it). A test pins it to the enum.
SeverityName = Literal["critical", "high", "medium", "low", "info"]

_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}

UNKNOWN = "unknown"
ADVISORY_LEVELS = ("critical", "high", "medium", "low", UNKNOWN)

_LABELS = {
    **{s.value: s for s in Severity},
    "important": Severity.HIGH,
    "moderate": Severity.MEDIUM,
}


def severity_from_label(label: object) -> Severity | None:
    if not isinstance(label, str):
        return None
    return _LABELS.get(label.strip().lower())


def severity_from_score(score: float) -> Severity:
    """CVSS v3/v4 qualitative rating: >= 9 critical, >= 7 high, >= 4 medium, > 0 low, 0 info."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


_SARIF_LEVELS = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "note": Severity.LOW,
    "none": Severity.INFO,
}


def severity_from_sarif_level(level: object) -> Severity:
    """SARIF's level, which is the tool's judgement of the result rather than a severity: `error`
    reads as high, not critical. An absent level is SARIF's default, `warning`; an unknown one
    reads as medium too."""
    if level is None:
        level = "warning"
    return _SARIF_LEVELS.get(level, Severity.MEDIUM) if isinstance(level, str) else Severity.MEDIUM


def level_rank(level: str) -> int:
    """Order of a level given as text (an advisory's): a Severity's rank; `unknown` (or anything
    unreadable) below every known level."""
    found = _LABELS.get(level)
    return -1 if found is None else found.rank
