"""What the findings service returns: runs, finding summaries and records, comparisons, metrics."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from secaudit.tools.findings.model import Confidence, Severity

__all__ = [
    "EFFECTIVE_STATUSES",
    "UNMATCHED_PATH_REASON",
    "Comparison",
    "FindingPage",
    "FindingRecord",
    "FindingSummary",
    "RunPage",
    "RunRecord",
    "RunSkip",
    "RunStatus",
    "ScannerCoverage",
    "SecuritySummary",
    "TrendPoint",
    "TriageEntry",
    "TriageStatus",
]


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TriageStatus(enum.StrEnum):
    OPEN = "open"
    FALSE_POSITIVE = "false_positive"
    ACCEPTED_RISK = "accepted_risk"
    WONT_FIX = "wont_fix"


# The status a listing shows: lifecycle (new, open, fixed) unless a live triage decision says more.
EFFECTIVE_STATUSES = ("new", "open", "fixed", "false_positive", "accepted_risk", "wont_fix")


# The reason of a walker skip for an entry of a run's `paths` that matched no file (such a run is
# partial; the coverage note names them).
UNMATCHED_PATH_REASON = "a `paths` entry that matched no file"


class RunSkip(BaseModel):
    model_config = ConfigDict(frozen=True)

    scanner: str = Field(description="the scanner, or 'walker' for files no scanner was given")
    path: str
    reason: str


class ScannerCoverage(BaseModel):
    model_config = ConfigDict(frozen=True)

    scanner: str
    version: str = ""
    selected: int = Field(0, description="files handed to the scanner")
    scanned: int = Field(0, description="files it examined (including cache hits)")
    cached: int = Field(0, description="files whose result came from the cache")
    skipped: int = 0
    findings: int = 0
    complete: bool = Field(True, description="false when it stopped early or failed")
    error: str | None = None
    notes: list[str] = Field(default_factory=list)


class RunRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    root: str
    kind: str = Field(description="audit, or import (a SARIF file)")
    tool: str | None = None
    scanners: list[str]
    paths: list[str] | None = None
    status: RunStatus
    started_at: str
    finished_at: str | None = None
    files_total: int = Field(description="regular files the walk found and kept")
    files_scanned: int
    files_skipped: int
    files_cached: int
    findings_total: int
    findings_new: int
    findings_fixed: int
    coverage: list[ScannerCoverage] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what was not covered, and why")
    error: str | None = None
    skips: list[RunSkip] = Field(default_factory=list, description="first skipped files, with reasons")
    skips_truncated: bool = False
    pruned: bool = Field(default=False, description="findings deleted by retention (SECAUDIT_RUNS_KEPT)")


class TriageEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: TriageStatus
    reason: str
    expires_at: str | None = None
    expired: bool = False
    at: str
    actor: str
    from_baseline: bool = Field(
        default=False,
        description="true when an audit applied it from the committed .secaudit/baseline.json",
    )


class FindingSummary(BaseModel):
    """One finding in a listing. `title` and `path` come from the scanned repository: data only."""

    model_config = ConfigDict(frozen=True)

    id: str
    run_id: int
    scanner: str
    rule_id: str
    severity: Severity
    confidence: Confidence
    path: str
    start_line: int | None
    end_line: int | None
    title: str
    status: str = Field(description="new, open, fixed, false_positive, accepted_risk or wont_fix")
    lifecycle: str = Field(description="new (first seen in this run), open, or fixed")
    triage_status: TriageStatus | None = None
    suppressed_in_code: bool
    fixable: bool = Field(
        default=False,
        description="plan_fix has an automatic fix generator for this finding (the plan may still refuse, "
        "e.g. when the file changed); false: fix it by hand",
    )
    fix_kind: str | None = Field(
        default=None, description="code, dependency, secret or config when fixable; null otherwise"
    )


class FindingRecord(FindingSummary):
    root: str
    fingerprint: str
    message: str
    snippet: str | None
    cwe: list[int]
    references: list[str]
    properties: dict[str, Any]
    first_seen_run: int
    first_seen_at: str
    last_seen_run: int
    last_seen_at: str
    fixed_run: int | None
    fixed_at: str | None
    fixed_by_fix: str | None = Field(
        default=None, description="the fix (apply_fix) whose verification marked it fixed, if any"
    )
    triage: TriageEntry | None = None
    triage_history: list[TriageEntry] = Field(default_factory=list)


class FindingPage(BaseModel):
    items: list[FindingSummary]
    next_cursor: str | None


class RunPage(BaseModel):
    runs: list[RunRecord]
    next_cursor: str | None


class Comparison(BaseModel):
    base_run: int
    head_run: int
    new: list[FindingSummary]
    fixed: list[FindingSummary]
    not_covered: list[FindingSummary] = Field(
        description="in the base run, absent from the head run, whose file the head run did not examine"
    )
    unchanged_count: int
    new_count: int
    fixed_count: int
    not_covered_count: int
    truncated: bool = Field(description="true when a list was cut at its limit; the counts are exact")


class TrendPoint(BaseModel):
    run_id: int
    kind: str
    status: RunStatus
    started_at: str
    findings_total: int
    findings_new: int
    findings_fixed: int
    by_severity: dict[str, int]  # empty for a pruned run: its per-finding rows are gone
    pruned: bool = False  # the run-history retention deleted its findings (its counts remain)


class SecuritySummary(BaseModel):
    root: str | None
    open_total: int = Field(description="findings not fixed and not triaged away (status new or open)")
    open_by_severity: dict[str, int]
    open_by_scanner: dict[str, int]
    by_status: dict[str, int] = Field(description="every known finding of the scope, by effective status")
    suppressed_in_code: int
    trend: list[TrendPoint] = Field(description="recent runs, oldest first")
    fixed_total: int
    mean_time_to_fix_hours: float | None = Field(
        description="mean of (fixed - first seen); null if none fixed"
    )
    latest_run: int | None
    latest_run_status: RunStatus | None = Field(default=None, description="status of latest_run")
    latest_run_partial: bool = Field(
        default=False,
        description="true when the latest run did not cover everything (partial, failed or cancelled): "
        "the open counts miss what it did not scan",
    )
    coverage_note: str | None = Field(
        default=None, description="what the latest run did not cover and why; null when it covered all"
    )
