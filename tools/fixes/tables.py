"""The fix history tables (component "fixes" of the main store). Kept apart from the service so
that listing the store's migrations does not import libcst and the generators.

Content columns (`*_sealed`) hold AES-GCM sealed bytes (see vault.py); never plain file contents.
"""

from __future__ import annotations

import sqlite3

from secaudit.tools.store import Migration

__all__ = ["MIGRATIONS"]


def _create_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE fix_plans ("
        " plan_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, root TEXT NOT NULL, kind TEXT NOT NULL,"
        " summary TEXT NOT NULL, finding_fingerprint TEXT NOT NULL, scanner TEXT NOT NULL,"
        " rule_id TEXT NOT NULL, finding_sealed BLOB NOT NULL, notes_json TEXT NOT NULL,"
        " risks_json TEXT NOT NULL, relock_json TEXT NOT NULL, diff_sealed BLOB,"
        " sensitive INTEGER NOT NULL DEFAULT 0)"
    )
    conn.execute("CREATE INDEX fix_plans_finding ON fix_plans (finding_fingerprint)")
    conn.execute(
        "CREATE TABLE fix_plan_files ("
        " plan_id TEXT NOT NULL REFERENCES fix_plans (plan_id), seq INTEGER NOT NULL, path TEXT NOT NULL,"
        " before_sha256 TEXT, after_sha256 TEXT NOT NULL, after_sealed BLOB,"
        " PRIMARY KEY (plan_id, seq))"
    )
    conn.execute(
        "CREATE TABLE fixes ("
        " fix_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL REFERENCES fix_plans (plan_id),"
        " status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', verification_json TEXT,"
        " created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX fixes_status ON fixes (status)")
    conn.execute(
        "CREATE TABLE fix_backups ("
        " fix_id TEXT NOT NULL REFERENCES fixes (fix_id), seq INTEGER NOT NULL, path TEXT NOT NULL,"
        " before_sha256 TEXT, after_sha256 TEXT NOT NULL, before_sealed BLOB,"
        " purged INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (fix_id, seq))"
    )


MIGRATIONS = (Migration("fixes", 1, "fix plans, fixes, sealed backups", _create_tables),)
