"""Comparisons and metrics: what changed between two runs, and the security summary of a root."""

from __future__ import annotations

import sqlite3
from typing import Any

from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.coverage import run_coverage_note
from secaudit.tools.findings.model import Severity
from secaudit.tools.findings.queries import one_snapshot
from secaudit.tools.findings.records import (
    EFFECTIVE_STATUSES,
    Comparison,
    RunStatus,
    SecuritySummary,
    TrendPoint,
)
from secaudit.tools.findings.rows import (
    EFFECTIVE_IN_RUN,
    EFFECTIVE_LATEST,
    SUMMARY_COLUMNS,
    FixClassifier,
    summary_from_row,
)
from secaudit.tools.findings.runs import Runs
from secaudit.tools.pagination import check_limit
from secaudit.tools.paths import path_in_scope
from secaudit.tools.store import Store
from secaudit.tools.timefmt import now_ms as now_iso
from secaudit.tools.timefmt import parse_time

__all__ = ["Metrics"]


class Metrics:
    def __init__(self, store: Store, runs: Runs, classify: FixClassifier | None = None) -> None:
        self.store = store
        self.runs = runs
        self.classify = classify

    @one_snapshot
    def compare_runs(self, base: int, head: int, *, limit: int = 200) -> Comparison:
        check_limit(limit)
        a = self.runs.run_with_findings(base)
        b = self.runs.run_with_findings(head)
        if a.root != b.root:
            raise InvalidInput("the two runs audited different roots; compare runs of the same repository")
        now = now_iso()
        sql = (
            f"SELECT {SUMMARY_COLUMNS}, {EFFECTIVE_IN_RUN} AS status FROM finding_occurrences o"  # noqa: S608 - constants and placeholders only
            " JOIN findings f ON f.id = o.finding_id"
            " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
            " WHERE o.run_id = :run ORDER BY -o.severity_rank, o.path, coalesce(o.start_line, 0), f.id"
        )
        with self.store.read() as conn:
            cur = conn.cursor()
            cur.row_factory = sqlite3.Row
            rows_a = cur.execute(sql, {"run": base, "now": now}).fetchall()
            rows_b = cur.execute(sql, {"run": head, "now": now}).fetchall()
            head_skips = {
                str(r[0]) for r in conn.execute("SELECT path FROM audit_run_skips WHERE run_id = ?", (head,))
            }
        ids_a = {str(r["id"]) for r in rows_a}
        ids_b = {str(r["id"]) for r in rows_b}
        head_scanners = (
            {c.scanner for c in b.coverage if c.complete} if b.kind == "audit" else set(b.scanners)
        )
        new = [r for r in rows_b if str(r["id"]) not in ids_a]
        gone = [r for r in rows_a if str(r["id"]) not in ids_b]

        def examined(r: sqlite3.Row) -> bool:
            # Gone counts as fixed only where the head run looked: a complete scanner, a file it
            # did not skip, inside the head run's `paths` restriction if it had one.
            return (
                r["scanner"] in head_scanners
                and r["path"] not in head_skips
                and (b.kind != "audit" or path_in_scope(str(r["path"]), b.paths))
            )

        fixed = [r for r in gone if examined(r)]
        not_covered = [r for r in gone if not examined(r)]
        truncated = max(len(new), len(fixed), len(not_covered)) > limit
        # The rows come from the base run, where these findings were still new or open; in this
        # comparison the head run looked and did not find them: they are fixed.
        fixed_items = [
            summary_from_row(r, now, self.classify).model_copy(
                update={"status": "fixed", "lifecycle": "fixed"}
            )
            for r in fixed[:limit]
        ]
        return Comparison(
            base_run=base,
            head_run=head,
            new=[summary_from_row(r, now, self.classify) for r in new[:limit]],
            fixed=fixed_items,
            not_covered=[summary_from_row(r, now, self.classify) for r in not_covered[:limit]],
            unchanged_count=len(ids_a & ids_b),
            new_count=len(new),
            fixed_count=len(fixed),
            not_covered_count=len(not_covered),
            truncated=truncated,
        )

    def summary(self, *, root: str | None = None, recent: int = 10) -> SecuritySummary:
        if not 1 <= recent <= 100:
            raise InvalidInput("recent must be from 1 to 100")
        now = now_iso()
        params: dict[str, Any] = {"now": now}
        scope = ""
        if root is not None:
            scope = " AND f.root = :root"
            params["root"] = root
        # CROSS JOIN keeps `findings` the outer loop in SQLite: one row per finding, its last
        # occurrence found by primary key. Left to choose, with a filter on `o` and none on the
        # root, the planner scanned every kept run's occurrences instead.
        latest_sql = (
            f"SELECT o.scanner, o.severity, o.suppressed_in_code, {EFFECTIVE_LATEST} AS status,"  # noqa: S608 - constants and placeholders only
            " f.first_seen_at, f.fixed_at FROM findings f"
            " CROSS JOIN finding_occurrences o ON o.run_id = f.last_seen_run AND o.finding_id = f.id"
            " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
            f" WHERE 1 = 1{scope}"
        )
        run_where = "" if root is None else " WHERE root = :root"
        with self.store.read() as conn:
            rows = conn.execute(latest_sql, params).fetchall()
            runs = conn.execute(
                f"SELECT id, kind, status, started_at, findings_total, findings_new, findings_fixed,"  # noqa: S608 - constants and placeholders only
                " pruned_at IS NOT NULL"
                f" FROM audit_runs{run_where} ORDER BY id DESC LIMIT :recent",
                {**params, "recent": recent},
            ).fetchall()
            run_ids = [int(r[0]) for r in runs]
            by_sev_rows = conn.execute(
                "SELECT run_id, severity, count(*) FROM finding_occurrences WHERE run_id IN"  # noqa: S608 - constants and placeholders only
                f" ({','.join('?' * len(run_ids)) or 'NULL'}) GROUP BY run_id, severity",
                run_ids,
            ).fetchall()
        open_by_severity = {s.value: 0 for s in Severity}
        open_by_scanner: dict[str, int] = {}
        by_status = dict.fromkeys(EFFECTIVE_STATUSES, 0)
        suppressed = 0
        fix_hours: list[float] = []
        for scanner, severity, supp, status, first_at, fixed_at in rows:
            by_status[status] = by_status.get(status, 0) + 1
            if status in ("new", "open"):
                open_by_severity[severity] = open_by_severity.get(severity, 0) + 1
                open_by_scanner[scanner] = open_by_scanner.get(scanner, 0) + 1
                if supp:
                    suppressed += 1
            if fixed_at:
                delta = parse_time(fixed_at) - parse_time(first_at)
                fix_hours.append(delta.total_seconds() / 3600)
        sev_map: dict[int, dict[str, int]] = {}
        for run_id, severity, count in by_sev_rows:
            sev_map.setdefault(int(run_id), {})[str(severity)] = int(count)
        trend = [
            TrendPoint(
                run_id=int(r[0]),
                kind=str(r[1]),
                status=RunStatus(r[2]),
                started_at=str(r[3]),
                findings_total=int(r[4]),
                findings_new=int(r[5]),
                findings_fixed=int(r[6]),
                # A pruned run keeps only the rows some finding was last seen in: a count from
                # them would be a fraction of what it reported.
                by_severity={} if r[7] else sev_map.get(int(r[0]), {}),
                pruned=bool(r[7]),
            )
            for r in reversed(runs)
        ]
        latest = self.runs.latest_run(root)
        # Three skips: a run's unmatched `paths` entries come first, and the note names them.
        latest_record = None if latest is None else self.runs.get_run(latest, max_skips=3)
        note = run_coverage_note(latest_record)
        return SecuritySummary(
            root=root,
            open_total=sum(open_by_severity.values()),
            open_by_severity=open_by_severity,
            open_by_scanner=dict(sorted(open_by_scanner.items())),
            by_status=by_status,
            suppressed_in_code=suppressed,
            trend=trend,
            fixed_total=len(fix_hours),
            mean_time_to_fix_hours=round(sum(fix_hours) / len(fix_hours), 4) if fix_hours else None,
            latest_run=latest,
            latest_run_status=None if latest_record is None else latest_record.status,
            latest_run_partial=note is not None,
            coverage_note=note,
        )
