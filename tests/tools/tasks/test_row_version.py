"""Hardening item 2: no lost task update, whoever the other writer is.

The task operator writes `updatedat` with one-second resolution (CURRENT_TIMESTAMP) and plain SQL may
change a row without touching it; `expected_version`, a digest of the whole row, sees both."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from secaudit.tools.errors import Conflict
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService

CONTRACT = (
    "CREATE TABLE tasks(id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL, status INTEGER NOT NULL"
    " DEFAULT 0, createdat DATETIME DEFAULT CURRENT_TIMESTAMP, updatedat DATETIME DEFAULT CURRENT_TIMESTAMP,"
    ' "order" INTEGER DEFAULT 0, uuid TEXT)'
)


def operator_db(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute(CONTRACT)
    cur = conn.execute("INSERT INTO tasks (prompt, uuid) VALUES ('start', 'u-1')")
    conn.commit()
    conn.close()
    assert cur.lastrowid is not None
    return cur.lastrowid


@pytest.fixture
def svc(tmp_path: Path) -> tuple[TaskService, Path, int]:
    db = tmp_path / "operator.db"
    task_id = operator_db(db)
    service = TaskService(Store(db))
    service.ensure_schema()
    return service, db, task_id


def test_a_plain_sql_change_that_leaves_updatedat_alone_is_a_conflict(
    svc: tuple[TaskService, Path, int],
) -> None:
    service, db, task_id = svc
    read = service.get(task_id=task_id)
    conn = sqlite3.connect(db)
    conn.execute('UPDATE tasks SET "order" = "order" + 1 WHERE id = ?', (task_id,))
    conn.commit()
    conn.close()
    with pytest.raises(Conflict, match="changed since you read it"):
        service.update(task_id, prompt="ours", expected_version=read.version)
    after = service.get(task_id=task_id)
    assert (after.prompt, after.order) == ("start", 1)


def test_a_same_second_operator_write_is_a_conflict(svc: tuple[TaskService, Path, int]) -> None:
    service, db, task_id = svc
    read = service.get(task_id=task_id)
    conn = sqlite3.connect(db)
    # Same updatedat as before, as a CURRENT_TIMESTAMP write within the same second leaves it.
    conn.execute("UPDATE tasks SET status = 1, updatedat = ? WHERE id = ?", (read.updatedat, task_id))
    conn.commit()
    conn.close()
    with pytest.raises(Conflict):
        service.update(task_id, order=5, expected_version=read.version)
    assert service.get(task_id=task_id).status == 1


def test_version_changes_with_any_column_and_only_then(svc: tuple[TaskService, Path, int]) -> None:
    service, db, task_id = svc
    first = service.get(task_id=task_id).version
    assert service.get(task_id=task_id).version == first
    assert service.list().items[0].version == first
    conn = sqlite3.connect(db)
    conn.execute("UPDATE tasks SET uuid = 'u-2' WHERE id = ?", (task_id,))
    conn.commit()
    conn.close()
    assert service.get(task_id=task_id).version != first


def test_read_modify_write_loses_nothing_beside_a_busy_operator(svc: tuple[TaskService, Path, int]) -> None:
    service, db, task_id = svc
    ours, theirs = 60, 300
    errors: list[BaseException] = []

    def operator() -> None:
        try:
            conn = sqlite3.connect(db, timeout=30)
            for _ in range(theirs):
                conn.execute(
                    "UPDATE tasks SET prompt = prompt || '-', updatedat = CURRENT_TIMESTAMP WHERE id = ?",
                    (task_id,),
                )
                conn.commit()
            conn.close()
        except Exception as exc:  # noqa: BLE001 - surfaced below: a thread's failure must fail the test
            errors.append(exc)

    thread = threading.Thread(target=operator)
    thread.start()
    acknowledged = 0
    attempts = 0
    while acknowledged < ours:
        attempts += 1
        assert attempts < 100_000, "no progress"
        task = service.get(task_id=task_id)
        try:
            service.update(task_id, prompt=task.prompt + "+", expected_version=task.version)
        except Conflict:
            continue
        acknowledged += 1
    thread.join(120)
    assert not thread.is_alive() and not errors
    final = service.get(task_id=task_id).prompt
    assert final.count("+") == ours, "an acknowledged update of ours was lost"
    assert final.count("-") == theirs, "an operator update was overwritten"
