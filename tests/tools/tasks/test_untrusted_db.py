"""Hardening item 3: another program's database is untrusted.

A `tasks` view, a planted trigger or a damaged file is refused at start with a clear error, and
nothing is written to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from secaudit.tools.errors import IncompatibleSchema, StoreError
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService

CONTRACT = (
    "CREATE TABLE tasks(id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL, status INTEGER NOT NULL"
    " DEFAULT 0, createdat DATETIME DEFAULT CURRENT_TIMESTAMP, updatedat DATETIME DEFAULT CURRENT_TIMESTAMP,"
    ' "order" INTEGER DEFAULT 0, uuid TEXT)'
)


def make_db(path: Path, *statements: str) -> bytes:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path.read_bytes()


def test_a_trigger_on_tasks_is_refused_and_never_fires(tmp_path: Path) -> None:
    db = tmp_path / "operator.db"
    make_db(
        db,
        CONTRACT,
        "INSERT INTO tasks (prompt) VALUES ('theirs')",
        "CREATE TRIGGER rewrite AFTER INSERT ON tasks BEGIN"
        " UPDATE tasks SET prompt = 'planted', status = 2 WHERE id = NEW.id; END",
    )
    service = TaskService(Store(db))
    with pytest.raises(IncompatibleSchema, match="rewrite"):
        service.ensure_schema()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT prompt, status FROM tasks").fetchall() == [("theirs", 0)]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "secaudit_task_claims" not in names, "nothing of ours is created in a refused database"


def test_a_trigger_elsewhere_that_writes_our_tables_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "operator.db"
    make_db(
        db,
        CONTRACT,
        "CREATE TABLE audit_log (x TEXT)",
        "CREATE TRIGGER sneaky AFTER INSERT ON audit_log BEGIN DELETE FROM tasks; END",
    )
    with pytest.raises(IncompatibleSchema, match="sneaky"):
        TaskService(Store(db)).ensure_schema()


def test_an_unrelated_trigger_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "operator.db"
    make_db(
        db,
        CONTRACT,
        "CREATE TABLE audit_log (x TEXT)",
        "CREATE TABLE audit_copy (x TEXT)",
        "CREATE TRIGGER mirror AFTER INSERT ON audit_log BEGIN INSERT INTO audit_copy VALUES (NEW.x); END",
    )
    service = TaskService(Store(db))
    service.ensure_schema()
    assert service.create("ours").prompt == "ours"


def test_tasks_as_a_view_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "operator.db"
    make_db(
        db,
        "CREATE TABLE real_tasks (id INTEGER PRIMARY KEY, prompt TEXT)",
        "CREATE VIEW tasks AS SELECT * FROM real_tasks",
    )
    with pytest.raises(IncompatibleSchema, match="is a view"):
        TaskService(Store(db)).ensure_schema()


def test_trusted_schema_is_off_on_every_connection(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0


def test_a_damaged_file_is_refused_at_start_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "operator.db"
    make_db(db, CONTRACT, "CREATE INDEX by_prompt ON tasks (prompt)")
    conn = sqlite3.connect(db)
    conn.executemany("INSERT INTO tasks (prompt) VALUES (?)", [(f"p{i:05d}" * 20,) for i in range(2000)])
    conn.commit()
    # Damage the index only: the file still opens, but the index no longer matches the table.
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'by_prompt'").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    offset = (root - 1) * page_size
    data[offset : offset + page_size] = bytes(page_size)  # page type 0: not a b-tree page
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    with pytest.raises(StoreError, match="integrity check|corrupt"):
        Store(db)
    assert db.read_bytes() == before
