"""Several real processes on one database file: exactly-once claims, one optimistic winner."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from secaudit.tools.errors import Conflict
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus

TIMEOUT = 120


def _claimer(db: str, worker: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    svc = TaskService(Store(Path(db)))
    got: list[int] = []
    while True:
        task = svc.claim_next(worker, lease_seconds=600)
        if task is None:
            break
        got.append(task.id)
        svc.set_status(task.id, TaskStatus.COMPLETE)
    out.put(got)


def _updater(db: str, task_id: int, version: str, start: mp.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    svc = TaskService(Store(Path(db)))
    start.wait(TIMEOUT)
    try:
        svc.update(task_id, prompt=f"written by {mp.current_process().name}", expected_version=version)
        out.put("won")
    except Conflict:
        out.put("conflict")


def test_processes_claim_each_task_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    svc = TaskService(Store(db))
    svc.ensure_schema()
    ids = {svc.create(f"task {i}", order=i % 7).id for i in range(300)}
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(str(db), f"w{i}", out)) for i in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=TIMEOUT) for _ in procs]
    for p in procs:
        p.join(TIMEOUT)
        assert p.exitcode == 0
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert set(claimed) == ids


def test_concurrent_optimistic_updates_have_exactly_one_winner(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    svc = TaskService(Store(db))
    svc.ensure_schema()
    task = svc.create("contended")
    assert task.updatedat
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start = ctx.Event()
    procs = [
        ctx.Process(target=_updater, args=(str(db), task.id, task.version, start, out)) for _ in range(6)
    ]
    for p in procs:
        p.start()
    start.set()
    outcomes = sorted(out.get(timeout=TIMEOUT) for _ in procs)
    for p in procs:
        p.join(TIMEOUT)
    assert outcomes == ["conflict"] * 5 + ["won"]
    assert svc.get(task_id=task.id).prompt.startswith("written by")
