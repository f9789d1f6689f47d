"""Auto-close while the task operator writes the same rows with plain SQL: no lost update either way.

The operator is a separate process with its own sqlite3 connection, writing the way it does
(`updatedat = CURRENT_TIMESTAMP`, one-second resolution): it appends notes to prompts, bumps
`"order"`, and archives some ready tasks, continuously, from before the fixing audit starts until
after it has closed the tasks.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

from secaudit.tools.findings import FindingsService
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus
from secaudit.tools.tasks.bridge import FileRequest, TaskBridge
from tests.support.tasks import finding, make_operator_db, record_run

TIMEOUT = 120
ROOT = "/srv/repo"
N = 120
NOTE = "\n[operator note]"


def _operator(db: str, ids: list[int], ready: mp.Event, stop: mp.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    conn = sqlite3.connect(db, timeout=60)
    notes = dict.fromkeys(ids, 0)
    bumps = dict.fromkeys(ids, 0)
    archived: set[int] = set()
    rounds = 0
    while True:
        stopping = stop.is_set()  # read before the round: one whole round runs after the close
        for index, task_id in enumerate(ids):
            if index == len(ids) // 2:
                ready.set()  # the audit starts now, while the second half is being written
            if task_id % 3 == 0:
                cur = conn.execute(
                    "UPDATE tasks SET prompt = prompt || ?, updatedat = CURRENT_TIMESTAMP WHERE id = ?",
                    (NOTE, task_id),
                )
                notes[task_id] += cur.rowcount
            elif task_id % 3 == 1:
                cur = conn.execute(
                    'UPDATE tasks SET "order" = "order" + 1, updatedat = CURRENT_TIMESTAMP WHERE id = ?',
                    (task_id,),
                )
                bumps[task_id] += cur.rowcount
            elif task_id % 9 == 2 and task_id not in archived:
                # The operator archives a ready task (and only a ready one) of its own accord.
                cur = conn.execute(
                    "UPDATE tasks SET status = 2, updatedat = CURRENT_TIMESTAMP WHERE id = ? AND status = 0",
                    (task_id,),
                )
                if cur.rowcount:
                    archived.add(task_id)
            conn.commit()
        rounds += 1
        if stopping and rounds >= 2:
            break
    conn.close()
    out.put((notes, bumps, sorted(archived), rounds))


@pytest.mark.parametrize("layout", ["one-file", "two-files"])
def test_operator_writes_during_auto_close_are_never_lost(tmp_path: Path, layout: str) -> None:
    store = Store(tmp_path / "store.db")
    store.migrate(STORE_MIGRATIONS)
    findings = FindingsService(store)
    if layout == "one-file":
        tasks_db, tasks_store = tmp_path / "store.db", store
    else:
        tasks_db = tmp_path / "operator.db"
        make_operator_db(tasks_db, rows=())
        tasks_store = Store(tasks_db)
    tasks = TaskService(tasks_store)
    tasks.ensure_schema()
    bridge = TaskBridge(tasks, findings)
    paths = [f"src/m{i:03}.py" for i in range(N)]
    first = record_run(findings, ROOT, [finding(p) for p in paths], examined=paths)
    report = bridge.file(FileRequest(run_id=first.id, dry_run=False))
    ids = sorted(f.task_id or 0 for f in report.filed)
    assert len(ids) == N
    prompts = {t: tasks.get(task_id=t).prompt for t in ids}
    orders = {t: tasks.get(task_id=t).order for t in ids}

    ctx = mp.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_operator, args=(str(tasks_db), ids, ready, stop, out))
    proc.start()
    try:
        assert ready.wait(TIMEOUT)
        fixing = record_run(findings, ROOT, [], examined=paths)  # every finding gone: auto-close
        stop.set()
        notes, bumps, archived, rounds = out.get(timeout=TIMEOUT)
    finally:
        proc.join(TIMEOUT)
    assert proc.exitcode == 0 and rounds >= 2
    assert archived  # some were archived by them before the audit closed them

    conn = sqlite3.connect(tasks_db)
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            'SELECT t.id, t.prompt, t.status, t."order", l.state, l.closed_by_run FROM tasks t'
            " JOIN secaudit_task_links l ON l.task_id = t.id"
        )
    }
    conn.close()
    closed = 0
    for task_id in ids:
        prompt, status, order, state, proof = rows[task_id]
        # Theirs: every note and every bump they made is there, exactly once each.
        assert prompt == prompts[task_id] + NOTE * notes[task_id]
        assert order == (orders[task_id] or 0) + bumps[task_id]
        if task_id in archived:
            # Archived by them before we closed it: left archived, and left alone from now on.
            assert status == TaskStatus.ARCHIVED and state == "dismissed"
        else:
            # Ours: completed, with the run that proved it, whatever they wrote meanwhile.
            assert status == TaskStatus.COMPLETE and state == "completed" and proof == fixing.id
            closed += 1
    assert closed >= N - len(archived)
    # Re-running the close step changes nothing: nothing of theirs is rewritten later either.
    again = bridge.reconcile(ROOT)
    assert (again.completed, again.archived, again.readied) == ([], [], [])
    store.close()
    tasks_store.close()
