"""Whether the tasks can be read without writing first, on real database files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from secaudit.tools.errors import IncompatibleSchema
from secaudit.tools.store import SchemaState, Store
from secaudit.tools.tasks import TaskService
from secaudit.tools.tasks.service import TASKS_TABLE_SQL


def test_absent_ready_and_behind(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    assert TaskService(Store(path)).schema_state() is SchemaState.ABSENT
    # A `tasks` table another program made: ours (the lease table) is still to add.
    with sqlite3.connect(path) as conn:
        conn.execute(TASKS_TABLE_SQL)
    assert TaskService(Store(path, readonly=True)).schema_state() is SchemaState.BEHIND
    TaskService(Store(path)).ensure_schema()
    assert TaskService(Store(path, readonly=True)).schema_state() is SchemaState.READY


def test_an_incompatible_table_is_refused_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE tasks (id TEXT, body TEXT)")
    with pytest.raises(IncompatibleSchema):
        TaskService(Store(path, readonly=True)).schema_state()
