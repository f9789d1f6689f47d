"""Rows to records, and the SQL fragments every findings query shares.

A finding's effective status is its triage decision while that is live (not `open`, not expired),
else its lifecycle; "latest" also counts a finding fixed since its last occurrence as `fixed`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from secaudit.tools.findings.model import Severity
from secaudit.tools.findings.records import (
    FindingSummary,
    RunRecord,
    RunSkip,
    RunStatus,
    ScannerCoverage,
    TriageEntry,
    TriageStatus,
)

__all__ = [
    "BASELINE_SOURCE",
    "EFFECTIVE_IN_RUN",
    "EFFECTIVE_LATEST",
    "SUMMARY_COLUMNS",
    "FixClassifier",
    "filter_glob",
    "filter_in",
    "finding_id",
    "fix_fields",
    "occurrence_fields",
    "run_from_row",
    "summary_from_row",
    "triage_entry",
]


# `finding_triage.source` of a decision an audit applied from the committed baseline (baseline.py).
BASELINE_SOURCE = "baseline"


def filter_in(
    where: list[str], params: dict[str, Any], prefix: str, expr: str, values: Sequence[Any]
) -> None:
    """Add `expr IN (:prefix0, :prefix1, ...)` with its bound values, when there are any."""
    if not values:
        return
    keys = [f"{prefix}{i}" for i in range(len(values))]
    where.append(f"{expr} IN ({', '.join(':' + k for k in keys)})")
    params.update(dict(zip(keys, values, strict=True)))


def filter_glob(where: list[str], params: dict[str, Any], path_glob: str | None) -> None:
    """Add the path filter: SQLite's GLOB, where `*` already crosses folders, so `**` is `*`."""
    if path_glob:
        where.append("o.path GLOB :glob")
        params["glob"] = path_glob.replace("**", "*")


def finding_id(root: str, fp: str) -> str:
    """Short stable id: the same problem in the same root always gets the same id."""
    return hashlib.sha256(f"{root}\x00{fp}".encode()).hexdigest()[:16]


EFFECTIVE_IN_RUN = (
    "CASE WHEN t.status IS NOT NULL AND t.status != 'open' AND (t.expires_at IS NULL OR t.expires_at > :now)"
    " THEN t.status ELSE o.lifecycle END"
)
EFFECTIVE_LATEST = (
    "CASE WHEN f.fixed_at IS NOT NULL THEN 'fixed'"
    " WHEN t.status IS NOT NULL AND t.status != 'open' AND (t.expires_at IS NULL OR t.expires_at > :now)"
    " THEN t.status ELSE o.lifecycle END"
)
SUMMARY_COLUMNS = (
    "f.id AS id, o.run_id AS run_id, o.scanner, o.rule_id, o.severity, o.severity_rank, o.confidence,"
    " o.path, o.start_line, o.end_line, o.title, o.suppressed_in_code, o.lifecycle AS occ_lifecycle,"
    " f.fixed_at, t.status AS triage_status, t.expires_at AS triage_expires, o.properties AS properties"
)

# (scanner, rule id, path, properties) -> the kind of automatic fix, or None. The composition root
# passes `secaudit.tools.fixes.catalog.fix_kind`: findings cannot import fixes (fixes read findings).
FixClassifier = Callable[[str, str, str, Mapping[str, Any] | None], str | None]


def fix_fields(
    classify: FixClassifier | None,
    scanner: str,
    rule_id: str,
    path: str,
    properties: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """`fixable` and `fix_kind` of a finding; without a classifier, not fixable (nothing was asked)."""
    kind = None if classify is None else classify(scanner, rule_id, path, properties)
    return {"fixable": kind is not None, "fix_kind": kind}


def triage_entry(row: Any, now: str, *, log: bool = False) -> TriageEntry:
    expires = row["expires_at"]
    return TriageEntry(
        status=TriageStatus(row["status"]),
        reason=row["reason"],
        expires_at=expires,
        expired=expires is not None and expires <= now,
        at=row["at"] if log else row["updated_at"],
        actor=row["actor"],
        from_baseline=not log and row["source"] == BASELINE_SOURCE,
    )


def occurrence_fields(row: sqlite3.Row) -> dict[str, Any]:
    """The summary fields a finding takes from one occurrence row (a listing's or a full record's)."""
    return {
        "run_id": int(row["run_id"]),
        "scanner": row["scanner"],
        "rule_id": row["rule_id"],
        "severity": Severity(row["severity"]),
        "confidence": row["confidence"],
        "path": row["path"],
        "start_line": row["start_line"],
        "end_line": row["end_line"],
        "title": row["title"],
        "suppressed_in_code": bool(row["suppressed_in_code"]),
    }


def summary_from_row(row: sqlite3.Row, now: str, classify: FixClassifier | None = None) -> FindingSummary:
    triage_status = row["triage_status"]
    lifecycle = "fixed" if row["status"] == "fixed" else str(row["occ_lifecycle"])
    fix: dict[str, Any] = {}
    if classify is not None:
        properties = json.loads(row["properties"]) if row["properties"] else {}
        fix = fix_fields(classify, row["scanner"], row["rule_id"], row["path"], properties)
    return FindingSummary(
        id=row["id"],
        status=row["status"],
        lifecycle=lifecycle,
        triage_status=TriageStatus(triage_status) if triage_status else None,
        **occurrence_fields(row),
        **fix,
    )


def run_from_row(row: sqlite3.Row, skips: Sequence[sqlite3.Row], max_skips: int) -> RunRecord:
    return RunRecord(
        id=row["id"],
        root=row["root"],
        kind=row["kind"],
        tool=row["tool"],
        scanners=json.loads(row["scanners"]),
        paths=None if row["paths"] is None else json.loads(row["paths"]),
        status=RunStatus(row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        files_total=row["files_total"],
        files_scanned=row["files_scanned"],
        files_skipped=row["files_skipped"],
        files_cached=row["files_cached"],
        findings_total=row["findings_total"],
        findings_new=row["findings_new"],
        findings_fixed=row["findings_fixed"],
        coverage=[ScannerCoverage.model_validate(c) for c in json.loads(row["coverage"])],
        notes=json.loads(row["notes"]),
        error=row["error"],
        skips=[RunSkip(scanner=s["scanner"], path=s["path"], reason=s["reason"]) for s in skips[:max_skips]],
        skips_truncated=len(skips) > max_skips,
        pruned=row["pruned_at"] is not None,
    )
