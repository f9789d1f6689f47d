"""A tasks table that another service created with raw sqlite3: read, updated, never altered."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from secaudit.tools.errors import IncompatibleSchema
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus

FOREIGN_SCHEMA = """
CREATE TABLE tasks(id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL,
      status INTEGER NOT NULL DEFAULT 0,
      createdat DATETIME DEFAULT CURRENT_TIMESTAMP, updatedat DATETIME DEFAULT CURRENT_TIMESTAMP,
      "order" INTEGER DEFAULT 0,
      uuid TEXT)
"""


def _foreign_db(path: Path, schema: str = FOREIGN_SCHEMA) -> None:
    conn = sqlite3.connect(path)
    conn.execute(schema)
    conn.execute("CREATE INDEX idx_tasks_uuid ON tasks(uuid)")
    conn.executemany(
        'INSERT INTO tasks (prompt, status, "order", uuid, createdat, updatedat) VALUES (?, ?, ?, ?, ?, ?)',
        [
            ("from the operator", 0, 2, "u-1", "2026-01-01 10:00:00", "2026-01-01 10:00:00"),
            ("done already", 1, 0, "u-2", "2026-01-01 10:00:00", "2026-01-01 10:00:00"),
            ("urgent", 0, -1, None, "2026-01-02 10:00:00", "2026-01-02 10:00:00"),
        ],
    )
    conn.commit()
    conn.close()


def _schema_sql(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'tasks' ORDER BY name"
    ).fetchall()
    conn.close()
    return rows


def test_existing_table_is_used_as_is(tmp_path: Path) -> None:
    db = tmp_path / "operator.db"
    _foreign_db(db)
    before = _schema_sql(db)
    svc = TaskService(Store(db))
    svc.ensure_schema()

    assert [t.prompt for t in svc.list(sort="queue", statuses=[TaskStatus.READY]).items] == [
        "urgent",
        "from the operator",
    ]
    claimed = svc.claim_next("agent")
    assert claimed is not None and claimed.prompt == "urgent" and claimed.uuid is None
    updated = svc.update(1, prompt="edited by us", expected_version=svc.get(task_id=1).version)
    assert updated.updatedat is not None and updated.updatedat > "2026-01-01 10:00:00"
    svc.set_status(3, TaskStatus.COMPLETE)
    created = svc.create("ours")
    svc.store.close()

    assert _schema_sql(db) == before  # byte-identical table and index SQL
    conn = sqlite3.connect(db)
    rows = conn.execute('SELECT id, prompt, status, "order", uuid FROM tasks ORDER BY id').fetchall()
    conn.close()
    assert rows[0] == (1, "edited by us", 0, 2, "u-1")
    assert rows[2][2] == 1
    assert rows[3][1] == "ours" and rows[3][4] == created.uuid


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ("CREATE TABLE tasks(id INTEGER PRIMARY KEY, prompt TEXT NOT NULL, status INTEGER)", "missing"),
        (
            "CREATE TABLE tasks(id INTEGER PRIMARY KEY, prompt BLOB, status INTEGER, createdat DATETIME,"
            ' updatedat DATETIME, "order" INTEGER, uuid TEXT)',
            "'prompt' has type 'BLOB'",
        ),
        (
            "CREATE TABLE tasks(id INTEGER PRIMARY KEY, prompt TEXT, status INTEGER, createdat DATETIME,"
            ' updatedat DATETIME, "order" INTEGER, uuid TEXT, owner TEXT NOT NULL)',
            "'owner' is NOT NULL without a default",
        ),
    ],
)
def test_incompatible_table_is_refused_and_untouched(tmp_path: Path, schema: str, problem: str) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute(schema)
    conn.commit()
    conn.close()
    before = _schema_sql(db)
    with pytest.raises(IncompatibleSchema, match=problem):
        TaskService(Store(db)).ensure_schema()
    assert _schema_sql(db) == before


def test_early_lease_column_is_renamed(tmp_path: Path) -> None:
    db = tmp_path / "early.db"
    conn = sqlite3.connect(db)
    conn.execute(FOREIGN_SCHEMA)
    conn.execute(
        "CREATE TABLE secaudit_task_claims (task_id INTEGER PRIMARY KEY, worker TEXT NOT NULL,"
        " token TEXT NOT NULL, claimed_at REAL NOT NULL, expires_at REAL NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE secaudit_migrations (component TEXT NOT NULL, version INTEGER NOT NULL,"
        " description TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT '', PRIMARY KEY (component, version))"
    )
    conn.execute("INSERT INTO secaudit_migrations VALUES ('tasks', 1, 'lease table', '')")
    conn.commit()
    conn.close()
    svc = TaskService(Store(db))
    svc.ensure_schema()
    svc.create("x")
    claimed = svc.claim_next("w")
    assert claimed is not None and claimed.claim is not None and claimed.claim.lease_id
