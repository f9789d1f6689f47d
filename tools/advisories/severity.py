"""Severity of an advisory: a CVSS vector scored with the `cvss` library, else the publisher's own
label, else "unknown". A level is never guessed from prose. Scores and labels are read by
`secaudit.tools.severity`, the one home of the vocabularies."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache

import cvss  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from secaudit.tools.severity import Severity, severity_from_label, severity_from_score

from .model import AdvisorySeverity

__all__ = ["level_from_label", "level_from_score", "score_vector", "severity_of"]

log = logging.getLogger(__name__)

# Prefer the newest CVSS version the publisher gave: it is their most recent assessment.
_CVSS_PREFERENCE = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


def level_from_score(score: float) -> str:
    """CVSS qualitative rating scale. 0.0 ("None") maps to low: a published advisory is kept visible."""
    level = severity_from_score(score)
    return Severity.LOW.value if level is Severity.INFO else level.value


def level_from_label(label: object) -> str | None:
    """A publisher's word for the level; "info" is not an assessment of a vulnerability: unknown."""
    level = severity_from_label(label)
    return None if level is None or level is Severity.INFO else level.value


@lru_cache(maxsize=4096)
def score_vector(kind: str, vector: str) -> float | None:
    """Base score of a CVSS vector, or None when the library refuses it. Memoised: a dump repeats a
    few thousand vectors over hundreds of thousands of records."""
    try:
        if kind == "CVSS_V4":
            return float(cvss.CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(cvss.CVSS3(vector).scores()[0])
        if kind == "CVSS_V2":
            return float(cvss.CVSS2(vector).scores()[0])
    except (CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError):
        return None
    return None


def severity_of(
    entries: Iterable[tuple[str, str]], database_specific: Iterable[Mapping[str, object]]
) -> AdvisorySeverity:
    """`entries`: (type, vector) pairs from the record's `severity` lists (top level, then affected).

    `database_specific`: the record's and its affected entries' `database_specific` /
    `ecosystem_specific` mappings, searched for a `severity` label.
    """
    by_kind: dict[str, list[str]] = {}
    for kind, vector in entries:
        by_kind.setdefault(kind, []).append(vector)
    for kind in _CVSS_PREFERENCE:
        for vector in by_kind.get(kind, ()):
            score = score_vector(kind, vector)
            if score is not None:
                return AdvisorySeverity(
                    level=level_from_score(score), score=score, vector=vector, source=kind
                )
    for mapping in database_specific:
        level = level_from_label(mapping.get("severity"))
        if level is not None:
            return AdvisorySeverity(level=level, source="database_specific")
    return AdvisorySeverity()
