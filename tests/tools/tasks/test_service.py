"""TaskService on a real database file: the contract, hostile input, pagination, leases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from secaudit.tools.errors import Conflict, InvalidInput, NotFound
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus, parse_status


@pytest.fixture
def svc(tmp_path: Path) -> TaskService:
    service = TaskService(Store(tmp_path / "t.db"), max_prompt_bytes=1024)
    service.ensure_schema()
    return service


HOSTILE_PROMPTS = [
    "'; DROP TABLE tasks; --",
    'Robert"); DELETE FROM tasks WHERE ("1"="1',
    "line1\nline2\r\nline3\rend\t",
    "emoji 🔐 and RTL \u202e and zero width \u200b and NUL \x00 inside",
    "%s %d {0} $1 ? :name @x",
    "\\x00\\n literally",
    "  leading and trailing spaces  ",
]


@pytest.mark.parametrize("prompt", HOSTILE_PROMPTS)
def test_prompts_round_trip_byte_exact_and_touch_nothing_else(svc: TaskService, prompt: str) -> None:
    bystander = svc.create("bystander")
    task = svc.create(prompt)
    assert svc.get(task_id=task.id).prompt == prompt
    assert svc.get(task_id=task.id).prompt.encode() == prompt.encode()
    assert svc.get(task_id=bystander.id) == bystander
    rows = svc.store.query("SELECT count(*) AS n FROM tasks")
    assert rows[0]["n"] == 2


def test_create_defaults_and_uuid(svc: TaskService) -> None:
    task = svc.create("do it", order=5)
    assert task.status == 0 and task.status_name == "ready" and task.order == 5
    assert task.uuid and len(task.uuid) == 36
    assert svc.get(task_uuid=task.uuid).id == task.id
    backlog = svc.create("later", status=TaskStatus.BACKLOGGED)
    assert backlog.status == 3


def test_create_refuses_complete_or_archived(svc: TaskService) -> None:
    with pytest.raises(InvalidInput, match="ready .0. or backlogged .3."):
        svc.create("x", status=TaskStatus.COMPLETE)


def test_prompt_cap_is_bytes_not_characters(svc: TaskService) -> None:
    svc.create("é" * 512)  # 1024 bytes: at the cap
    with pytest.raises(InvalidInput, match="1026 bytes; the limit is 1024"):
        svc.create("é" * 513)


@pytest.mark.parametrize("bad", ["", "\ud800 lone surrogate"])
def test_bad_prompts(svc: TaskService, bad: str) -> None:
    with pytest.raises(InvalidInput):
        svc.create(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, TaskStatus.READY), (3, TaskStatus.BACKLOGGED), ("complete", TaskStatus.COMPLETE), ("Archived", 2)],
)
def test_parse_status_accepts(value: object, expected: int) -> None:
    assert parse_status(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "boolean"),
        (False, "boolean"),
        (1.0, "float"),
        ("1", "string of digits"),
        (" 2 ", "string of digits"),
        (4, "out of range"),
        (-1, "out of range"),
        (2**70, "out of range"),
        ("done", "unknown status name"),
        ("ready\n", "surrounding whitespace"),
        (" complete", "surrounding whitespace"),
        (None, "NoneType"),
        ([0], "list"),
    ],
)
def test_parse_status_refuses(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_status(value)


def test_update_moves_updatedat_every_time(svc: TaskService) -> None:
    task = svc.create("x")
    stamps = [task.updatedat]
    for i in range(20):
        task = svc.update(task.id, order=i)
        stamps.append(task.updatedat)
    assert len(set(stamps)) == len(stamps)
    assert stamps == sorted(stamps)


def test_expected_version_conflict_writes_nothing(svc: TaskService) -> None:
    task = svc.create("original")
    fresh = svc.update(task.id, prompt="first writer", expected_version=task.version)
    with pytest.raises(Conflict, match="changed since you read it"):
        svc.update(task.id, prompt="second writer", expected_version=task.version)
    assert svc.get(task_id=task.id).prompt == "first writer"
    assert svc.get(task_id=task.id).updatedat == fresh.updatedat


def test_update_needs_something_and_an_existing_task(svc: TaskService) -> None:
    task = svc.create("x")
    with pytest.raises(InvalidInput, match="nothing to update"):
        svc.update(task.id)
    with pytest.raises(NotFound):
        svc.update(999, prompt="y")
    with pytest.raises(NotFound):
        svc.get(task_uuid="00000000-0000-0000-0000-000000000000")
    with pytest.raises(InvalidInput, match="exactly one"):
        svc.get()


def test_list_pagination_is_stable_under_inserts(svc: TaskService) -> None:
    for i in range(25):
        svc.create(f"t{i}", order=25 - i)
    seen: list[int] = []
    page = svc.list(limit=10)
    seen += [t.id for t in page.items]
    svc.create("inserted while paging")  # appended after the cursor: shows up on a later page
    while page.next_cursor:
        page = svc.list(limit=10, cursor=page.next_cursor)
        seen += [t.id for t in page.items]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 26


def test_list_queue_order_and_status_filter(svc: TaskService) -> None:
    a = svc.create("a", order=10)
    b = svc.create("b", order=-5)
    c = svc.create("c", order=10)
    d = svc.create("d", order=0, status=TaskStatus.BACKLOGGED)
    ids: list[int] = []
    page = svc.list(sort="queue", statuses=[TaskStatus.READY], limit=1)
    ids += [t.id for t in page.items]
    while page.next_cursor:
        page = svc.list(sort="queue", statuses=[TaskStatus.READY], limit=1, cursor=page.next_cursor)
        ids += [t.id for t in page.items]
    assert ids == [b.id, a.id, c.id]
    assert [t.id for t in svc.list(statuses=[TaskStatus.BACKLOGGED]).items] == [d.id]


def test_cursor_from_another_query_is_refused(svc: TaskService) -> None:
    for i in range(3):
        svc.create(str(i))
    cursor = svc.list(limit=1).next_cursor
    assert cursor
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        svc.list(limit=1, cursor=cursor, sort="queue")
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        svc.list(limit=1, cursor="!!!garbage")
    with pytest.raises(InvalidInput, match="limit"):
        svc.list(limit=201)


def test_claim_order_leases_and_expiry(svc: TaskService) -> None:
    late = svc.create("late", order=5)
    first = svc.create("first", order=1)
    svc.create("parked", order=0, status=TaskStatus.BACKLOGGED)
    got = svc.claim_next("w1", lease_seconds=60)
    assert got is not None and got.id == first.id and got.claim and got.claim.worker == "w1"
    got2 = svc.claim_next("w2", lease_seconds=1)
    assert got2 is not None and got2.id == late.id
    assert svc.claim_next("w3") is None
    # Expire w2's lease by moving its expiry into the past (as time passing would).
    with svc.store.write() as conn:
        conn.execute(
            "UPDATE secaudit_task_claims SET expires_at = ? WHERE task_id = ?", (time.time() - 1, late.id)
        )
    again = svc.claim_next("w3")
    assert again is not None and again.id == late.id and again.claim and again.claim.worker == "w3"


def test_completing_releases_and_ready_reopens(svc: TaskService) -> None:
    task = svc.create("x")
    assert svc.claim_next("w") is not None
    done = svc.set_status(task.id, TaskStatus.COMPLETE)
    assert done.status == 1 and done.claim is None
    assert svc.claim_next("w") is None
    svc.set_status(task.id, TaskStatus.READY)
    assert svc.claim_next("w2") is not None


@pytest.mark.parametrize(
    ("worker", "lease"), [("", 10), ("x" * 201, 10), ("w", 0), ("w", True), ("w", 10**9)]
)
def test_claim_refuses_bad_arguments(svc: TaskService, worker: str, lease: int) -> None:
    with pytest.raises(InvalidInput):
        svc.claim_next(worker, lease_seconds=lease)
