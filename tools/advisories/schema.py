"""The advisory tables of the store (component `advisories`): their migrations, in a module of their
own so that opening the store does not import the advisory machinery (parsing, version matching)."""

from __future__ import annotations

import sqlite3

from secaudit.tools.store import Migration

from .names import NPM

__all__ = ["COMPONENT", "MIGRATIONS"]

COMPONENT = "advisories"


def _migrate_v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE advisory_sources ("
        " id INTEGER PRIMARY KEY, location TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
        " imported_at TEXT NOT NULL, records INTEGER NOT NULL, inserted INTEGER NOT NULL,"
        " updated INTEGER NOT NULL, unchanged INTEGER NOT NULL, errors INTEGER NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE advisories ("
        " id TEXT PRIMARY KEY, modified TEXT NOT NULL, published TEXT, withdrawn TEXT,"
        " aliases TEXT NOT NULL, summary TEXT NOT NULL, details TEXT NOT NULL,"
        " severity TEXT NOT NULL, severity_score REAL, severity_vector TEXT, severity_source TEXT NOT NULL,"
        " refs TEXT NOT NULL, content_hash TEXT NOT NULL,"
        " source_id INTEGER REFERENCES advisory_sources(id), imported_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE advisory_affected ("
        " advisory_id TEXT NOT NULL REFERENCES advisories(id) ON DELETE CASCADE,"
        " idx INTEGER NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL, raw_name TEXT NOT NULL,"
        " ranges TEXT NOT NULL, versions TEXT NOT NULL, PRIMARY KEY (advisory_id, idx))"
    )
    conn.execute("CREATE INDEX advisory_affected_pkg ON advisory_affected (ecosystem, name)")
    conn.execute("CREATE TABLE advisory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO advisory_meta (key, value) VALUES ('generation', '0')")


def _migrate_v2(conn: sqlite3.Connection) -> None:
    # npm names are now matched with ASCII case folded (names.normalize_name); SQLite's lower()
    # folds ASCII only, the same folding.
    conn.execute("UPDATE advisory_affected SET name = lower(name) WHERE ecosystem = ?", (NPM,))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(COMPONENT, 1, "advisories, affected packages by (ecosystem, name), sources", _migrate_v1),
    Migration(COMPONENT, 2, "npm package names matched case-insensitively (ASCII)", _migrate_v2),
)
