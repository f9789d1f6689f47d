"""What the task bridge reads from the findings store: findings' current state, a run's open ones.

Both work on a connection the caller holds, so the bridge can read inside the very transaction
that changed the findings (when the tasks live in the same database file) or in a snapshot of its
own (when they do not).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from secaudit.tools.findings.model import Severity
from secaudit.tools.findings.records import FindingRecord
from secaudit.tools.findings.rows import EFFECTIVE_LATEST, filter_glob, filter_in
from secaudit.tools.timefmt import now_ms as now_iso

__all__ = ["FindingState", "current_states", "open_findings_of_run"]

_CHUNK = 500


@dataclass(frozen=True)
class FindingState:
    """One finding as it stands now (its latest occurrence, lifecycle and live triage)."""

    finding_id: str
    fingerprint: str
    status: str  # new, open, fixed, false_positive, accepted_risk, wont_fix
    fixed_run: int | None
    fixed_by_fix: str | None
    scanner: str
    rule_id: str
    severity: str
    path: str
    start_line: int | None
    end_line: int | None
    last_seen_run: int


def current_states(
    conn: sqlite3.Connection, root: str, fingerprints: Iterable[str]
) -> dict[str, FindingState]:
    """The current state of each given fingerprint of `root` that the store knows, by fingerprint."""
    wanted = list(dict.fromkeys(fingerprints))
    out: dict[str, FindingState] = {}
    now = now_iso()
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i : i + _CHUNK]
        marks = ",".join("?" * len(part))
        rows = conn.execute(
            f"SELECT f.id, f.fingerprint, {EFFECTIVE_LATEST.replace(':now', '?')} AS status,"  # noqa: S608 - constants and placeholders only
            " f.fixed_run, f.fixed_by_fix, o.scanner, o.rule_id, o.severity, o.path, o.start_line,"
            " o.end_line, f.last_seen_run"
            " FROM findings f"
            " JOIN finding_occurrences o ON o.run_id = f.last_seen_run AND o.finding_id = f.id"
            " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
            f" WHERE f.root = ? AND f.fingerprint IN ({marks})",
            [now, root, *part],
        ).fetchall()
        for r in rows:
            out[str(r[1])] = FindingState(
                finding_id=str(r[0]),
                fingerprint=str(r[1]),
                status=str(r[2]),
                fixed_run=None if r[3] is None else int(r[3]),
                fixed_by_fix=None if r[4] is None else str(r[4]),
                scanner=str(r[5]),
                rule_id=str(r[6]),
                severity=str(r[7]),
                path=str(r[8]),
                start_line=r[9],
                end_line=r[10],
                last_seen_run=int(r[11]),
            )
    return out


def open_findings_of_run(
    conn: sqlite3.Connection,
    run_id: int,
    *,
    min_severity: Severity,
    scanners: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    path_glob: str | None = None,
) -> list[FindingRecord]:
    """The findings `run_id` reported that are still open now (not fixed since, no live triage,
    not suppressed in the code), at or above `min_severity`, as that run reported them; ordered by
    severity (highest first), path, line, id."""
    params: dict[str, Any] = {"now": now_iso(), "run": run_id, "rank": min_severity.rank}
    where = [
        "o.run_id = :run",
        "o.severity_rank >= :rank",
        "o.suppressed_in_code = 0",
        f"({EFFECTIVE_LATEST}) IN ('new', 'open')",
    ]
    filter_in(where, params, "sc", "o.scanner", scanners or ())
    filter_in(where, params, "ru", "o.rule_id", rules or ())
    filter_glob(where, params, path_glob)
    sql = (
        "SELECT f.id, f.root, f.fingerprint, f.first_seen_run, f.first_seen_at, f.last_seen_run,"  # noqa: S608 - constants and placeholders only
        " f.last_seen_at, f.fixed_run, f.fixed_at, f.fixed_by_fix, o.* FROM finding_occurrences o"
        " JOIN findings f ON f.id = o.finding_id"
        " LEFT JOIN finding_triage t ON t.root = f.root AND t.fingerprint = f.fingerprint"
        " WHERE "
        + " AND ".join(where)
        + " ORDER BY -o.severity_rank, o.path, coalesce(o.start_line, 0), f.id"
    )
    cur = conn.cursor()
    cur.row_factory = sqlite3.Row
    records: list[FindingRecord] = []
    for r in cur.execute(sql, params):
        records.append(
            FindingRecord(
                id=r["id"],
                run_id=int(r["run_id"]),
                scanner=r["scanner"],
                rule_id=r["rule_id"],
                severity=Severity(r["severity"]),
                confidence=r["confidence"],
                path=r["path"],
                start_line=r["start_line"],
                end_line=r["end_line"],
                title=r["title"],
                status=str(r["lifecycle"]),
                lifecycle=str(r["lifecycle"]),
                suppressed_in_code=bool(r["suppressed_in_code"]),
                root=r["root"],
                fingerprint=r["fingerprint"],
                message=r["message"],
                snippet=r["snippet"],
                cwe=json.loads(r["cwe"]),
                references=json.loads(r["refs"]),
                properties=json.loads(r["properties"]),
                first_seen_run=r["first_seen_run"],
                first_seen_at=r["first_seen_at"],
                last_seen_run=r["last_seen_run"],
                last_seen_at=r["last_seen_at"],
                fixed_run=r["fixed_run"],
                fixed_at=r["fixed_at"],
                fixed_by_fix=r["fixed_by_fix"],
            )
        )
    return records
