"""The --fail-on gate: which findings fail a build, and the audit's exit code."""

from __future__ import annotations

import pytest

from secaudit.tools.findings import Confidence, FindingSummary, RunStatus, Severity
from secaudit.tools.findings.gate import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_PARTIAL,
    FAIL_ON_CHOICES,
    blocking,
    gate,
)


def _summary(severity: str, status: str = "open", *, nosec: bool = False, n: int = 0) -> FindingSummary:
    return FindingSummary(
        id=f"{n:016x}",
        run_id=1,
        scanner="bandit",
        rule_id="B000",
        severity=Severity(severity),
        confidence=Confidence.HIGH,
        path="app.py",
        start_line=n + 1,
        end_line=n + 1,
        title="a finding",
        status=status,
        lifecycle="fixed" if status == "fixed" else "open",
        suppressed_in_code=nosec,
    )


def test_choices_run_from_most_severe_to_none() -> None:
    assert FAIL_ON_CHOICES == ("critical", "high", "medium", "low", "info", "none")


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [("critical", []), ("high", [0]), ("medium", [0, 1]), ("info", [0, 1, 2]), ("none", [])],
)
def test_threshold(fail_on: str, expected: list[int]) -> None:
    items = [_summary("high", n=0), _summary("medium", "new", n=1), _summary("info", n=2)]
    assert [int(f.id, 16) for f in blocking(items, fail_on)] == expected


def test_only_open_unsuppressed_findings_block() -> None:
    items = [
        _summary("critical", "fixed", n=0),
        _summary("critical", "accepted_risk", n=1),
        _summary("critical", "false_positive", n=2),
        _summary("critical", nosec=True, n=3),
        _summary("critical", "new", n=4),
    ]
    assert [int(f.id, 16) for f in blocking(items, "low")] == [4]


@pytest.mark.parametrize(
    ("status", "items", "fail_on_partial", "code"),
    [
        (RunStatus.SUCCEEDED, [], False, EXIT_OK),
        (RunStatus.SUCCEEDED, [], True, EXIT_OK),
        (RunStatus.SUCCEEDED, ["high"], False, EXIT_FINDINGS),
        (RunStatus.PARTIAL, [], False, EXIT_OK),
        (RunStatus.PARTIAL, [], True, EXIT_PARTIAL),
        (RunStatus.PARTIAL, ["info"], True, EXIT_PARTIAL),  # below the level: partial decides
        (RunStatus.PARTIAL, ["high"], True, EXIT_FINDINGS),  # findings win over partial
        (RunStatus.FAILED, ["high"], True, EXIT_ERROR),
        (RunStatus.CANCELLED, [], False, EXIT_ERROR),
    ],
)
def test_exit_codes(status: RunStatus, items: list[str], fail_on_partial: bool, code: int) -> None:
    found = [_summary(sev, n=i) for i, sev in enumerate(items)]
    verdict = gate(status, found, "medium", fail_on_partial=fail_on_partial)
    assert verdict.exit_code == code
    assert verdict.as_dict()["partial"] is (status is RunStatus.PARTIAL)
    assert verdict.blocking == sum(1 for sev in items if sev == "high")
