"""The task operator's side, for the bridge tests: its database made by plain SQL with the exact
contract schema, and recorded runs of findings (through the real findings service and store)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from secaudit.tools.findings import Finding, FindingsService, RunCoverage, RunRecord, RunStatus, Severity
from secaudit.tools.findings import fingerprint as make_fingerprint

__all__ = [
    "CONTRACT_SCHEMA",
    "FOREIGN_ROWS",
    "finding",
    "foreign_rows",
    "make_operator_db",
    "record_run",
    "schema_of",
]

# The shared contract, as the task operator creates it: exactly these statements, nothing of ours.
CONTRACT_SCHEMA = (
    "CREATE TABLE tasks(id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL, "
    "status INTEGER NOT NULL DEFAULT 0, createdat DATETIME DEFAULT CURRENT_TIMESTAMP, "
    'updatedat DATETIME DEFAULT CURRENT_TIMESTAMP, "order" INTEGER DEFAULT 0, uuid TEXT)',
    "CREATE INDEX idx_tasks_uuid ON tasks(uuid)",
)
FOREIGN_ROWS = (
    ("the operator's own ready task", 0, 5, "op-1", "2026-01-01 10:00:00", "2026-01-01 10:00:00"),
    ("done by the operator", 1, 0, "op-2", "2026-01-01 10:00:01", "2026-01-01 10:00:02"),
    ("backlogged by the operator", 3, 1, "op-3", "2026-01-02 10:00:00", "2026-01-02 10:00:00"),
)


def make_operator_db(path: Path, rows: Sequence[tuple[object, ...]] = FOREIGN_ROWS) -> None:
    """Another program's database: the contract table by plain SQL, with its own rows."""
    conn = sqlite3.connect(path)
    for statement in CONTRACT_SCHEMA:
        conn.execute(statement)
    conn.executemany(
        'INSERT INTO tasks (prompt, status, "order", uuid, createdat, updatedat) VALUES (?, ?, ?, ?, ?, ?)',
        rows,
    )
    conn.commit()
    conn.close()


def schema_of(path: Path) -> list[tuple[str, str, str, str]]:
    """Every schema object on the `tasks` table, with its SQL text (byte-for-byte)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name = 'tasks'"
            " ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()


def foreign_rows(path: Path, uuids: Sequence[str] = ("op-1", "op-2", "op-3")) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        marks = ",".join("?" * len(uuids))
        return conn.execute(
            f"SELECT * FROM tasks WHERE uuid IN ({marks}) ORDER BY id", tuple(uuids)
        ).fetchall()
    finally:
        conn.close()


def finding(
    path: str,
    rule: str = "B602",
    severity: Severity = Severity.HIGH,
    *,
    context: str | None = None,
    scanner: str = "bandit",
    title: str = "subprocess call with shell=True",
    message: str = "the command runs through a shell",
    snippet: str = "subprocess.call(cmd, shell=True)",
    line: int = 3,
    **extra: object,
) -> Finding:
    return Finding(
        scanner=scanner,
        rule_id=rule,
        severity=severity,
        path=path,
        start_line=line,
        end_line=line,
        title=title,
        message=message,
        snippet=snippet,
        cwe=[78],
        fingerprint=make_fingerprint(
            scanner, rule, path, context if context is not None else f"{rule}:{line}"
        ),
        **extra,  # type: ignore[arg-type]
    )


def record_run(
    service: FindingsService,
    root: str,
    findings: Sequence[Finding],
    *,
    examined: Sequence[str],
    scanners: Sequence[str] = ("bandit",),
    status: RunStatus = RunStatus.SUCCEEDED,
    full: bool = True,
) -> RunRecord:
    """A finished audit run of `root` that examined `examined` with `scanners` and reported `findings`;
    `full=False`: a run restricted to those paths (what it did not examine it did not look at)."""
    run_id = service.start_run(root, kind="audit", scanners=list(scanners))
    coverage = RunCoverage(
        complete_scanners=set(scanners),
        examined={s: set(examined) for s in scanners},
        full=full,
        seen_paths=set(examined),
    )
    return service.finish_run(
        run_id,
        status=status,
        findings=findings,
        coverage=[],
        skips=[],
        notes=[],
        run_coverage=coverage,
        files_total=len(examined),
        files_scanned=len(examined),
        files_cached=0,
    )
