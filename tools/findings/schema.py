"""Tables of runs, findings, triage and the per-file scan cache (component `findings`).

- `audit_runs`: one row per audit or SARIF import, with its status, counts and coverage; `pruned_at`
  when the run-history retention deleted its occurrences (retention.py).
- `audit_run_skips`: what a run did not examine, and why (never report clean what was not checked).
- `findings`: one row per distinct problem of a repository root, keyed by fingerprint: when it was
  first and last seen, and when (if) a later run found it gone or a verified fix removed it
  (`fixed_by_fix`).
- `finding_occurrences`: the finding as one run reported it (lines move between runs).
- `finding_triage` / `finding_triage_log`: the decision on a fingerprint, and its history; `source`
  says whether an audit applied it from the committed baseline.
- `audit_cache`: per-file scanner results keyed by content hash + scanner version + config.
- `audit_file_stats`: per root and file, the stat a content hash was taken under, so a re-audit
  reads and hashes only what changed (`tools/audit/filestats.py`).
"""

from __future__ import annotations

import sqlite3

from secaudit.tools.store import Migration

__all__ = ["MIGRATIONS"]


def _v1(conn: sqlite3.Connection) -> None:
    statements = [
        "CREATE TABLE audit_runs ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, root TEXT NOT NULL, kind TEXT NOT NULL,"
        " tool TEXT, scanners TEXT NOT NULL, paths TEXT, status TEXT NOT NULL,"
        " started_at TEXT NOT NULL, finished_at TEXT, pid INTEGER,"
        " files_total INTEGER NOT NULL DEFAULT 0, files_scanned INTEGER NOT NULL DEFAULT 0,"
        " files_skipped INTEGER NOT NULL DEFAULT 0, files_cached INTEGER NOT NULL DEFAULT 0,"
        " findings_total INTEGER NOT NULL DEFAULT 0, findings_new INTEGER NOT NULL DEFAULT 0,"
        " findings_fixed INTEGER NOT NULL DEFAULT 0, coverage TEXT NOT NULL DEFAULT '{}',"
        " notes TEXT NOT NULL DEFAULT '[]', error TEXT)",
        "CREATE INDEX audit_runs_root ON audit_runs (root, id)",
        "CREATE TABLE audit_run_skips ("
        " run_id INTEGER NOT NULL REFERENCES audit_runs(id) ON DELETE CASCADE,"
        " scanner TEXT NOT NULL, path TEXT NOT NULL, reason TEXT NOT NULL)",
        "CREATE INDEX audit_run_skips_run ON audit_run_skips (run_id, path)",
        "CREATE TABLE findings ("
        " id TEXT PRIMARY KEY, root TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        " scanner TEXT NOT NULL, rule_id TEXT NOT NULL, path TEXT NOT NULL,"
        " first_seen_run INTEGER NOT NULL, first_seen_at TEXT NOT NULL,"
        " last_seen_run INTEGER NOT NULL, last_seen_at TEXT NOT NULL,"
        " fixed_run INTEGER, fixed_at TEXT, UNIQUE (root, fingerprint))",
        "CREATE INDEX findings_root_scanner ON findings (root, scanner, fixed_at)",
        "CREATE TABLE finding_occurrences ("
        " run_id INTEGER NOT NULL REFERENCES audit_runs(id) ON DELETE CASCADE,"
        " finding_id TEXT NOT NULL REFERENCES findings(id),"
        " scanner TEXT NOT NULL, rule_id TEXT NOT NULL, severity TEXT NOT NULL,"
        " severity_rank INTEGER NOT NULL, confidence TEXT NOT NULL, path TEXT NOT NULL,"
        " start_line INTEGER, end_line INTEGER, title TEXT NOT NULL, message TEXT NOT NULL,"
        " snippet TEXT, cwe TEXT NOT NULL, refs TEXT NOT NULL, suppressed_in_code INTEGER NOT NULL,"
        " properties TEXT NOT NULL, lifecycle TEXT NOT NULL,"
        " PRIMARY KEY (run_id, finding_id))",
        "CREATE INDEX finding_occurrences_order ON finding_occurrences"
        " (run_id, severity_rank DESC, path, start_line, finding_id)",
        "CREATE INDEX finding_occurrences_finding ON finding_occurrences (finding_id, run_id)",
        "CREATE TABLE finding_triage ("
        " root TEXT NOT NULL, fingerprint TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,"
        " expires_at TEXT, updated_at TEXT NOT NULL, actor TEXT NOT NULL,"
        " PRIMARY KEY (root, fingerprint))",
        "CREATE TABLE finding_triage_log ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, root TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        " status TEXT NOT NULL, reason TEXT NOT NULL, expires_at TEXT, at TEXT NOT NULL,"
        " actor TEXT NOT NULL)",
        "CREATE INDEX finding_triage_log_fp ON finding_triage_log (root, fingerprint, id)",
        "CREATE TABLE audit_cache ("
        " scanner TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, stored_at TEXT NOT NULL,"
        " PRIMARY KEY (scanner, key)) WITHOUT ROWID",
    ]
    for statement in statements:
        conn.execute(statement)


def _v2(conn: sqlite3.Connection) -> None:
    # A fix that verified the finding gone marks it fixed at once; which fix did it is kept so a
    # revert of that fix re-opens it (and only that fix's revert).
    conn.execute("ALTER TABLE findings ADD COLUMN fixed_by_fix TEXT")


def _v3(conn: sqlite3.Connection) -> None:
    # Retention deletes by age; without this index every audit would scan the whole cache.
    conn.execute("CREATE INDEX audit_cache_stored ON audit_cache (stored_at)")


def _v4(conn: sqlite3.Connection) -> None:
    # Where a triage decision came from: NULL for a person's (triage_finding, `findings triage`),
    # 'baseline' for one an audit applied from the committed `.secaudit/baseline.json`; an audit
    # replaces or removes only the latter (tools/findings/baseline.py).
    conn.execute("ALTER TABLE finding_triage ADD COLUMN source TEXT")


def _v5(conn: sqlite3.Connection) -> None:
    # Stat-first re-audits: what `lstat` said when the content hash was taken, and when (the racy
    # rule of tools/audit/filestats.py compares the file's times with `checked_ns`).
    conn.execute(
        "CREATE TABLE audit_file_stats ("
        " root TEXT NOT NULL, rel TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
        " ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, dev INTEGER NOT NULL, sha256 TEXT NOT NULL,"
        " checked_ns INTEGER NOT NULL, PRIMARY KEY (root, rel)) WITHOUT ROWID"
    )


def _v6(conn: sqlite3.Connection) -> None:
    # Run-history retention (retention.py): a pruned run keeps its row, marked, without its
    # occurrences. The partial index holds only runs not pruned, so finding what to prune next reads
    # about as many rows as are kept, however long the history.
    conn.execute("ALTER TABLE audit_runs ADD COLUMN pruned_at TEXT")
    conn.execute("CREATE INDEX audit_runs_unpruned ON audit_runs (root, id) WHERE pruned_at IS NULL")


def _v7(conn: sqlite3.Connection) -> None:
    # Every occurrence query names its run (a run's findings, or `o.run_id = f.last_seen_run AND
    # o.finding_id = f.id`), which the primary key (run_id, finding_id) serves, and no row of
    # `findings` is ever deleted (no foreign-key look-up by finding_id). The (finding_id, run_id)
    # index served nothing, and it made each run's 1,000 inserts land on as many pages all over it:
    # recording a Django-sized run with 100 runs kept took 52 ms with it and 26 ms without
    # (benchmarks/bench_history.py).
    conn.execute("DROP INDEX IF EXISTS finding_occurrences_finding")


MIGRATIONS = (
    Migration("findings", 1, "runs, findings, occurrences, triage, scan cache", _v1),
    Migration("findings", 2, "findings.fixed_by_fix: the verified fix that fixed it", _v2),
    Migration("findings", 3, "audit_cache.stored_at index for retention", _v3),
    Migration("findings", 4, "finding_triage.source: decisions applied from the committed baseline", _v4),
    Migration("findings", 5, "audit_file_stats: stat-first re-audits", _v5),
    Migration("findings", 6, "audit_runs.pruned_at: run-history retention", _v6),
    Migration("findings", 7, "drop the unused finding_occurrences (finding_id, run_id) index", _v7),
)
