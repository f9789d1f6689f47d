"""Findings: what scanners report, with stable fingerprints, stored runs and triage."""

from secaudit.tools.findings.model import (
    Confidence,
    Finding,
    Severity,
    fingerprint,
    normalise_context,
)
from secaudit.tools.findings.records import (
    EFFECTIVE_STATUSES,
    Comparison,
    FindingPage,
    FindingRecord,
    FindingSummary,
    RunPage,
    RunRecord,
    RunSkip,
    RunStatus,
    ScannerCoverage,
    SecuritySummary,
    TriageStatus,
)
from secaudit.tools.findings.schema import MIGRATIONS
from secaudit.tools.findings.service import FindingsService, RunCoverage

__all__ = [
    "EFFECTIVE_STATUSES",
    "MIGRATIONS",
    "Comparison",
    "Confidence",
    "Finding",
    "FindingPage",
    "FindingRecord",
    "FindingSummary",
    "FindingsService",
    "RunCoverage",
    "RunPage",
    "RunRecord",
    "RunSkip",
    "RunStatus",
    "ScannerCoverage",
    "SecuritySummary",
    "Severity",
    "TriageStatus",
    "fingerprint",
    "normalise_context",
]
