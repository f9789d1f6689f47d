"""One Severity and one reading of the other vocabularies (`secaudit.tools.severity`)."""

from __future__ import annotations

from typing import get_args

import pytest

import secaudit.tools.advisories as advisories
from secaudit.tools.advisories.severity import level_from_label, level_from_score
from secaudit.tools.findings import Severity as FindingSeverity
from secaudit.tools.severity import (
    ADVISORY_LEVELS,
    UNKNOWN,
    Severity,
    SeverityName,
    level_rank,
    severity_from_label,
    severity_from_sarif_level,
    severity_from_score,
)


def test_one_class_one_order() -> None:
    assert FindingSeverity is Severity
    assert not hasattr(advisories, "Severity") and advisories.AdvisorySeverity().level == UNKNOWN
    assert sorted(Severity, key=lambda s: s.rank, reverse=True) == list(Severity)
    assert get_args(SeverityName) == tuple(s.value for s in Severity)
    assert Severity.parse(" High ") is Severity.HIGH
    with pytest.raises(ValueError):
        Severity.parse("moderate")  # a foreign word: only severity_from_label reads those


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("HIGH", Severity.HIGH),  # bandit
        ("UNDEFINED", None),  # bandit, no rating
        ("moderate", Severity.MEDIUM),  # GitHub, npm
        ("Important", Severity.HIGH),  # Red Hat
        (" critical ", Severity.CRITICAL),
        ("info", Severity.INFO),
        ("unknown", None),
        ("", None),
        (7, None),
        (None, None),
    ],
)
def test_labels(label: object, expected: Severity | None) -> None:
    assert severity_from_label(label) is expected


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (10.0, "critical"),
        (9.0, "critical"),
        (8.9, "high"),
        (7.0, "high"),
        (6.9, "medium"),
        (4.0, "medium"),
        (3.9, "low"),
        (0.1, "low"),
        (0.0, "info"),
    ],
)
def test_cvss_scale(score: float, expected: str) -> None:
    assert severity_from_score(score).value == expected


def test_advisory_levels_keep_their_documented_exceptions() -> None:
    # A published advisory scored 0.0 stays visible as low; "info" is no assessment: unknown.
    assert level_from_score(0.0) == "low" and level_from_score(9.8) == "critical"
    assert level_from_label("info") is None and level_from_label("moderate") == "medium"
    assert set(ADVISORY_LEVELS) == {s.value for s in Severity} - {"info"} | {UNKNOWN}
    ranked = sorted(ADVISORY_LEVELS, key=level_rank)
    assert ranked == [UNKNOWN, "low", "medium", "high", "critical"]
    assert level_rank("nonsense") == level_rank(UNKNOWN) < level_rank("info")


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("note", Severity.LOW),
        ("none", Severity.INFO),
        (None, Severity.MEDIUM),
        ("bogus", Severity.MEDIUM),
        (3, Severity.MEDIUM),
    ],
)
def test_sarif_levels(level: object, expected: Severity) -> None:
    assert severity_from_sarif_level(level) is expected
