"""Recording synthetic runs straight through the findings service (no scanner): the run-history
retention tests (tests/tools/findings/test_retention.py) build long histories with these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from secaudit.tools.findings import Finding, FindingsService, RunCoverage, RunStatus, Severity
from secaudit.tools.findings.records import RunRecord, RunSkip
from secaudit.tools.store import Store
from secaudit.tools.timefmt import iso_ms, parse_time

__all__ = ["SCANNER", "age_runs", "finding", "record_run"]

SCANNER = "bandit"


def finding(i: int, *, path: str | None = None) -> Finding:
    """Finding number `i` (its fingerprint derives from `i` alone: the same problem every run)."""
    return Finding(
        scanner=SCANNER,
        rule_id=f"B{i % 50:03d}",
        severity=(Severity.HIGH, Severity.MEDIUM, Severity.LOW)[i % 3],
        path=path or f"pkg/mod{i % 40}.py",
        start_line=i + 1,
        title=f"problem {i}",
        message=f"problem {i} in detail",
        fingerprint=f"{i:064x}",
    )


def record_run(
    service: FindingsService,
    root: str,
    findings: Sequence[Finding],
    *,
    paths: Sequence[str] | None = None,
    status: RunStatus = RunStatus.SUCCEEDED,
    skips: Sequence[RunSkip] = (),
    unexamined: Sequence[str] = (),
    aged: bool = True,
) -> RunRecord:
    """One audit run of `root` reporting `findings`: whole-tree unless `paths` restricts it (as a
    hook's one-file run or a diff-scoped run does). The scanner covers what the run looked at, so a
    whole-tree run marks what it no longer reports fixed, except in the `unexamined` paths (the
    walk saw them, the scanner did not look: not looking is not fixing). `aged`: recorded as if an
    hour ago (`age_runs`), so the runs recorded after it may prune it (retention spares a run for
    its GRACE after it finished)."""
    run_id = service.start_run(root, kind="audit", scanners=[SCANNER], paths=paths)
    coverage = RunCoverage(
        complete_scanners={SCANNER},
        examined={SCANNER: {f.path for f in findings} | set(paths or ())},
        full=paths is None,
        seen_paths=set(unexamined),
    )
    record = service.finish_run(
        run_id,
        status=status,
        findings=findings,
        coverage=[],
        skips=list(skips),
        notes=[],
        run_coverage=coverage,
        files_total=len(findings),
        files_scanned=len(findings),
        files_cached=0,
    )
    if aged:
        age_runs(service.store, only=record.id)
    return record


def age_runs(store: Store, *, by: dt.timedelta = dt.timedelta(hours=1), only: int | None = None) -> None:
    """Move finished runs' finish time back by `by` (all of them, or run `only`), as if recorded
    that long ago: the run-history retention spares a run for a while after it finished."""
    rows = store.query(
        "SELECT id, finished_at FROM audit_runs WHERE finished_at IS NOT NULL"
        + ("" if only is None else " AND id = ?"),
        () if only is None else (only,),
    )
    with store.write() as conn:
        conn.executemany(
            "UPDATE audit_runs SET finished_at = ? WHERE id = ?",
            [(iso_ms(parse_time(str(at)) - by), int(run_id)) for run_id, at in rows],
        )
