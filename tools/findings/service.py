"""The findings service: one facade over runs, queries, triage and metrics.

Each concern lives in its own module; this class keeps the one public API callers use:

    runs.py      runs and the finding lifecycle they drive (new, open, fixed; a fix's mark, a revert)
    queries.py   listings with filters and cursors, one finding in full, a run's findings
    triage.py    a person's decision about a finding, with its log
    baseline.py  the committed baseline's decisions applied by each run, and read back to write it
    metrics.py   comparing two runs, the security summary of a root
    rows.py      rows to records and the shared SQL fragments (stored times: secaudit.tools.timefmt)
    states.py    the current state of given findings, and a run's still-open findings (task bridge)
    observers.py who is told when findings change (in the transaction, and after it commits)
    retention.py which runs keep their findings (the newest N and the newest full audit of a root)

Each method here only delegates; its docstring is on the method that implements it, in the module
above, so that what it says cannot drift from what it does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from secaudit.tools.findings.baseline import Decision, stored_decisions
from secaudit.tools.findings.metrics import Metrics
from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.findings.observers import FindingsObserver, Observers
from secaudit.tools.findings.queries import FindingQueries
from secaudit.tools.findings.records import (
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
from secaudit.tools.findings.retention import DEFAULT_RUNS_KEPT
from secaudit.tools.findings.rows import FixClassifier, finding_id
from secaudit.tools.findings.runs import BaselineInput, RunCoverage, Runs
from secaudit.tools.findings.triage import Triage
from secaudit.tools.store import Store

__all__ = ["BaselineInput", "FindingsService", "RunCoverage", "finding_id"]


class FindingsService:
    def __init__(
        self,
        store: Store,
        *,
        classify: FixClassifier | None = None,
        runs_kept: int = DEFAULT_RUNS_KEPT,
    ) -> None:
        """`classify` tells each listed finding's `fixable` / `fix_kind` (the composition root
        passes `secaudit.tools.fixes.catalog.fix_kind`); without it no finding is called fixable.
        `runs_kept`: the run-history retention's N (retention.py; the edge passes
        SECAUDIT_RUNS_KEPT); 0 keeps every run's findings."""
        self.store = store
        self._observers = Observers()
        self._runs = Runs(store, self._observers, runs_kept=runs_kept)
        self._queries = FindingQueries(store, self._runs, classify)
        self._triage = Triage(store, self._queries, self._observers)
        self._metrics = Metrics(store, self._runs, classify)

    def add_observer(self, observer: FindingsObserver) -> None:
        """Tell `observer` of every run, triage decision and revert (see observers.py)."""
        self._observers.add(observer)

    # -- runs -----------------------------------------------------------------------------------

    def start_run(
        self,
        root: str,
        *,
        kind: str,
        scanners: Sequence[str],
        paths: Sequence[str] | None = None,
        tool: str | None = None,
    ) -> int:
        return self._runs.start_run(root, kind=kind, scanners=scanners, paths=paths, tool=tool)

    def mark_interrupted(self) -> int:
        return self._runs.mark_interrupted()

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus,
        findings: Iterable[Finding],
        coverage: list[ScannerCoverage],
        skips: list[RunSkip],
        notes: list[str],
        run_coverage: RunCoverage,
        files_total: int,
        files_scanned: int,
        files_cached: int,
        error: str | None = None,
        baseline: BaselineInput | None = None,
    ) -> RunRecord:
        return self._runs.finish_run(
            run_id,
            status=status,
            findings=findings,
            coverage=coverage,
            skips=skips,
            notes=notes,
            run_coverage=run_coverage,
            files_total=files_total,
            files_scanned=files_scanned,
            files_cached=files_cached,
            error=error,
            baseline=baseline,
        )

    def stored_decisions(self, root: str) -> list[Decision]:
        return stored_decisions(self.store, root)

    def fail_run(self, run_id: int, status: RunStatus, error: str, notes: list[str] | None = None) -> None:
        self._runs.fail_run(run_id, status, error, notes)

    def get_run(self, run_id: int, *, max_skips: int = 200) -> RunRecord:
        return self._runs.get_run(run_id, max_skips=max_skips)

    def run_with_findings(self, run_id: int, *, max_skips: int = 0) -> RunRecord:
        return self._runs.run_with_findings(run_id, max_skips=max_skips)

    def list_runs(self, *, root: str | None = None, limit: int = 50, cursor: str | None = None) -> RunPage:
        return self._runs.list_runs(root=root, limit=limit, cursor=cursor)

    def latest_run(self, root: str | None = None) -> int | None:
        return self._runs.latest_run(root)

    # -- listing --------------------------------------------------------------------------------

    def list_findings(
        self,
        *,
        run_id: int | None = None,
        root: str | None = None,
        min_severity: Severity | None = None,
        scanners: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        rules: Sequence[str] | None = None,
        path_glob: str | None = None,
        text: str | None = None,
        include_suppressed: bool = True,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FindingPage:
        if run_id is None and root is not None:
            self._runs.require_audited(root)
        return self._queries.list_findings(
            run_id=run_id,
            root=root,
            min_severity=min_severity,
            scanners=scanners,
            statuses=statuses,
            rules=rules,
            path_glob=path_glob,
            text=text,
            include_suppressed=include_suppressed,
            limit=limit,
            cursor=cursor,
        )

    def resolve_id(self, ref: str) -> str:
        return self._queries.resolve_id(ref)

    def fix_kinds(self, run_id: int) -> dict[str, int]:
        return self._queries.fix_kinds(run_id)

    def get_finding(self, ref: str, *, run_id: int | None = None) -> FindingRecord:
        return self._queries.get_finding(ref, run_id=run_id)

    def run_findings(self, run_id: int) -> list[FindingRecord]:
        return self._queries.run_findings(run_id)

    def run_summaries(self, run_id: int) -> list[FindingSummary]:
        """Every finding of a run, most severe first, page by page through `list_findings`."""
        items: list[FindingSummary] = []
        cursor = None
        while True:
            page = self.list_findings(run_id=run_id, limit=200, cursor=cursor)
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return items

    # -- fixes ----------------------------------------------------------------------------------

    def finding_for_fix(self, ref: str) -> tuple[Finding, Path]:
        return self._queries.finding_for_fix(ref)

    def mark_fixed_by_fix(self, root: str | Path, fp: str, fix_id: str) -> bool:
        return self._runs.mark_fixed_by_fix(root, fp, fix_id)

    def reopen_after_revert(self, root: str | Path, fp: str, fix_id: str) -> bool:
        return self._runs.reopen_after_revert(root, fp, fix_id)

    # -- triage ---------------------------------------------------------------------------------

    def triage(
        self,
        ref: str,
        status: TriageStatus | str,
        reason: str,
        *,
        expires_at: str | None = None,
        actor: str = "local",
    ) -> FindingRecord:
        return self._triage.triage(ref, status, reason, expires_at=expires_at, actor=actor)

    # -- comparisons and metrics ----------------------------------------------------------------

    def compare_runs(self, base: int, head: int, *, limit: int = 200) -> Comparison:
        return self._metrics.compare_runs(base, head, limit=limit)

    def summary(self, *, root: str | None = None, recent: int = 10) -> SecuritySummary:
        if root is not None:
            self._runs.require_audited(root)
        return self._metrics.summary(root=root, recent=recent)
