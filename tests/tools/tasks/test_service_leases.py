"""Completing a claimed task checks the lease holder; an operator without leases still works."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from secaudit.tools.errors import Conflict
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus


@pytest.fixture
def svc(tmp_path: Path) -> TaskService:
    service = TaskService(Store(tmp_path / "tasks.db"))
    service.ensure_schema()
    return service


def test_the_lease_holder_completes_and_another_worker_is_refused(svc: TaskService) -> None:
    svc.create("one")
    claimed = svc.claim_next("alice", lease_seconds=600)
    assert claimed is not None and claimed.claim is not None
    with pytest.raises(Conflict, match="leased to another worker"):
        svc.set_status(claimed.id, TaskStatus.COMPLETE, lease_id="0" * 32)
    with pytest.raises(Conflict):
        svc.set_status(claimed.id, TaskStatus.COMPLETE, worker="bob")
    assert svc.get(task_id=claimed.id).status == TaskStatus.READY  # nothing written
    done = svc.set_status(claimed.id, TaskStatus.COMPLETE, lease_id=claimed.claim.lease_id, worker="alice")
    assert done.status == TaskStatus.COMPLETE and done.claim is None
    # A late second completion by the holder (the lease is gone with the status change) is fine.
    assert svc.set_status(claimed.id, TaskStatus.COMPLETE, lease_id=claimed.claim.lease_id).status == 1


def test_an_expired_lease_claimed_again_belongs_to_the_new_holder(svc: TaskService, tmp_path: Path) -> None:
    task = svc.create("one")
    first = svc.claim_next("alice", lease_seconds=600)
    assert first is not None and first.claim is not None
    conn = sqlite3.connect(tmp_path / "tasks.db")
    conn.execute("UPDATE secaudit_task_claims SET expires_at = 0 WHERE task_id = ?", (task.id,))
    conn.commit()
    conn.close()
    second = svc.claim_next("bob", lease_seconds=600)
    assert second is not None and second.id == task.id and second.claim is not None
    with pytest.raises(Conflict):
        svc.set_status(task.id, TaskStatus.COMPLETE, lease_id=first.claim.lease_id)
    assert svc.set_status(task.id, TaskStatus.COMPLETE, lease_id=second.claim.lease_id).status == 1


def test_without_a_lease_the_operator_moves_any_task(svc: TaskService) -> None:
    task = svc.create("one")
    assert svc.claim_next("alice") is not None
    # The task operator never claims: it gives no lease and is not checked, as before leases existed.
    assert svc.set_status(task.id, TaskStatus.ARCHIVED).status == TaskStatus.ARCHIVED
