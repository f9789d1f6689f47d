"""The task service: the one implementation behind the MCP task tools and `secaudit tasks`.

The `tasks` table is a contract shared with other services. We create it only when it is absent,
check an existing one column by column, and never alter it. Leases for `claim_next_task` live in our
own table (`secaudit_task_claims`) in the same database file, so a claim is one transaction with the
read that chose the task; so do the links to the findings a task was filed for (`links.py`).
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
import uuid as uuidlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from secaudit.tools.errors import Conflict, IncompatibleSchema, InvalidInput, NotFound
from secaudit.tools.pagination import check_limit, decode_cursor, encode_cursor, query_digest
from secaudit.tools.store import Migration, SchemaState, Store
from secaudit.tools.tasks.links import create_link_tables
from secaudit.tools.tasks.models import Claim, Task, TaskPage, TaskStatus, status_name
from secaudit.tools.text import clean_line
from secaudit.tools.timefmt import sql_ms

__all__ = ["MIGRATIONS", "TaskService", "row_version"]

TASKS_TABLE_SQL = (
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL, "
    "status INTEGER NOT NULL DEFAULT 0, createdat DATETIME DEFAULT CURRENT_TIMESTAMP, "
    'updatedat DATETIME DEFAULT CURRENT_TIMESTAMP, "order" INTEGER DEFAULT 0, uuid TEXT)'
)
# Only created together with a table we create: an existing table belongs to someone else.
_TASKS_INDEXES = (
    "CREATE INDEX IF NOT EXISTS tasks_uuid_idx ON tasks (uuid)",
    'CREATE INDEX IF NOT EXISTS secaudit_tasks_ready_idx ON tasks (status, "order", id)',
)

# Column -> accepted declared-type words (by SQLite type affinity).
_REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("INT",),
    "prompt": ("TEXT", "CHAR", "CLOB"),
    "status": ("INT",),
    "createdat": ("DATE", "TIME", "TEXT", "CHAR", ""),
    "updatedat": ("DATE", "TIME", "TEXT", "CHAR", ""),
    "order": ("INT",),
    "uuid": ("TEXT", "CHAR", "CLOB"),
}

_INT64 = (-(2**63), 2**63 - 1)
_TOUCHES_OUR_TABLES = re.compile(r"(?i)\b(?:tasks|secaudit_\w+)\b")
_MAX_WORKER_CHARS = 200
_MAX_LEASE_SECONDS = 7 * 24 * 3600


def _create_claims(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE secaudit_task_claims ("
        " task_id INTEGER PRIMARY KEY, worker TEXT NOT NULL, lease_id TEXT NOT NULL,"
        " claimed_at REAL NOT NULL, expires_at REAL NOT NULL)"
    )
    conn.execute("CREATE INDEX secaudit_task_claims_expiry ON secaudit_task_claims (expires_at)")


def _rename_token_column(conn: sqlite3.Connection) -> None:
    # Early builds named the lease id `token`; a lease id is not a credential, and the redaction
    # layer masks fields called token, so it was renamed.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(secaudit_task_claims)")}
    if "token" in columns and "lease_id" not in columns:
        conn.execute("ALTER TABLE secaudit_task_claims RENAME COLUMN token TO lease_id")


MIGRATIONS = (
    Migration("tasks", 1, "lease table for claim_next_task", _create_claims),
    Migration("tasks", 2, "lease column named lease_id", _rename_token_column),
    Migration("tasks", 3, "links between findings and the tasks filed for them", create_link_tables),
)

# Every column of the row (the contract's and any another program added), after our lease columns:
# the row version is a digest of all of them, so any change by anyone is seen.
_SELECT = (
    "SELECT c.worker, c.lease_id, c.claimed_at, c.expires_at, t.*"
    " FROM tasks t LEFT JOIN secaudit_task_claims c ON c.task_id = t.id AND c.expires_at > ?"
)
_CLAIM_COLUMNS = 4


def row_version(names: list[str], values: tuple[Any, ...] | list[Any]) -> str:
    """A digest of a `tasks` row as read: every column name, storage type and value.

    `updatedat` alone cannot serve: another program writes it with one-second resolution
    (CURRENT_TIMESTAMP), and plain SQL may change a row without touching it at all.
    """
    h = hashlib.sha256()
    for name, value in zip(names, values, strict=True):
        h.update(name.lower().encode("utf-8", "surrogatepass"))
        h.update(b"\x1e" + type(value).__name__.encode() + b"\x1e")
        if isinstance(value, bytes):
            h.update(value)
        else:
            h.update(repr(value).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()[:32]


def _timestamp(after: str | None) -> str:
    """Millisecond UTC time in SQLite's own format, strictly later than `after`.

    CURRENT_TIMESTAMP has one-second resolution: a reader ordering by `updatedat` would see two
    updates in one second as none. Moving strictly forward makes every change of ours visible.
    """
    text = sql_ms(datetime.now(UTC))
    if after is not None and text <= after:
        try:
            previous = datetime.fromisoformat(after)
        except ValueError:
            return text
        text = sql_ms(previous + timedelta(milliseconds=1))
    return text


class TaskService:
    def __init__(
        self,
        store: Store,
        *,
        max_prompt_bytes: int = 64 * 1024,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.store = store
        self.max_prompt_bytes = max_prompt_bytes
        # Secrets never reach the shared table: a prompt is stored byte-exact except for what the
        # redaction layer recognises as a secret, which is replaced by a [MASKED:kind] marker.
        self._redact = redact or (lambda text: text)

    # -- schema ---------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create `tasks` when absent; otherwise verify it fits the contract. Then our own tables."""
        with self.store.write() as conn:
            self._check_untrusted_schema(conn)
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
            ).fetchone()
            if exists:
                self._check_existing(conn)
            else:
                conn.execute(TASKS_TABLE_SQL)
                for statement in _TASKS_INDEXES:
                    conn.execute(statement)
        self.store.migrate(MIGRATIONS)

    def schema_state(self) -> SchemaState:
        """Whether the tasks can be read without `ensure_schema` writing first: ABSENT without a
        `tasks` table (no task yet); READY when it fits the contract (an incompatible one raises
        IncompatibleSchema, as there) and our migrations are applied; BEHIND when ours are missing
        (a `tasks` table made by another program, or an older secaudit). Reads only."""
        with self.store.read() as conn:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
            ).fetchone()
            if not exists:
                return SchemaState.ABSENT
            self._check_existing(conn)
        ready = self.store.schema_state(MIGRATIONS) is SchemaState.READY
        return SchemaState.READY if ready else SchemaState.BEHIND

    @staticmethod
    def _check_untrusted_schema(conn: sqlite3.Connection) -> None:
        """The database may be another program's: a `tasks` that is not a plain table, or a trigger
        that fires on our writes, would run that program's SQL inside our transactions (a planted
        trigger could rewrite prompts and statuses as we write them). We create no trigger."""
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'tasks' COLLATE NOCASE").fetchone()
        if kind is not None and kind[0] != "table":
            raise IncompatibleSchema(
                f"`tasks` in this database is a {kind[0]}, not a table; it was left unchanged. "
                "Point SECAUDIT_TASKS_DB at a database whose tasks table is a plain table."
            )
        triggers = [
            str(name)
            for name, table, sql in conn.execute(
                "SELECT name, tbl_name, coalesce(sql, '') FROM sqlite_master WHERE type = 'trigger'"
            )
            if str(table).lower() == "tasks"
            or str(table).lower().startswith("secaudit_")
            or _TOUCHES_OUR_TABLES.search(str(sql))
        ]
        if triggers:
            listed = ", ".join(clean_line(t, 80) for t in sorted(triggers)[:10])
            raise IncompatibleSchema(
                f"this database has triggers on the tasks table or on secaudit's tables ({listed}); "
                "secaudit refuses to write where another program's SQL would run inside its "
                "transactions. Drop them, or point SECAUDIT_TASKS_DB at another database."
            )

    @staticmethod
    def _check_existing(conn: sqlite3.Connection) -> None:
        info = conn.execute("PRAGMA table_info(tasks)").fetchall()
        columns = {row[1].lower(): row for row in info}
        problems: list[str] = []
        for name, affinities in _REQUIRED_COLUMNS.items():
            row = columns.get(name)
            if row is None:
                problems.append(f"column {name!r} is missing")
                continue
            declared = str(row[2] or "").upper()
            if not any(word in declared for word in affinities if word) and declared not in affinities:
                problems.append(f"column {name!r} has type {declared or 'none'!r}")
        if "id" in columns and not columns["id"][5]:
            problems.append("column 'id' is not the primary key")
        for name, row in columns.items():
            if name not in _REQUIRED_COLUMNS and row[3] and row[4] is None and not row[5]:
                problems.append(f"extra column {name!r} is NOT NULL without a default")
        if problems:
            raise IncompatibleSchema(
                "the existing `tasks` table does not fit the shared contract ("
                + "; ".join(problems)
                + "); it was left unchanged. Point SECAUDIT_TASKS_DB at a compatible database."
            )

    # -- validation -----------------------------------------------------------------------------

    def _check_prompt(self, prompt: object) -> str:
        if not isinstance(prompt, str):
            raise InvalidInput("prompt must be a string")
        if not prompt:
            raise InvalidInput("prompt must not be empty")
        try:
            size = len(prompt.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidInput("prompt must be valid Unicode text (it holds a lone surrogate)") from None
        if size > self.max_prompt_bytes:
            raise InvalidInput(
                f"prompt is {size} bytes; the limit is {self.max_prompt_bytes} bytes "
                "(SECAUDIT_MAX_PROMPT_BYTES)"
            )
        return self._redact(prompt)

    @staticmethod
    def _check_order(order: object) -> int:
        if isinstance(order, bool) or not isinstance(order, int):
            raise InvalidInput("order must be a whole number (lower numbers run first)")
        if not _INT64[0] <= order <= _INT64[1]:
            raise InvalidInput("order must fit in a signed 64-bit integer")
        return order

    # -- reads ----------------------------------------------------------------------------------

    @staticmethod
    def _row_to_task(row: sqlite3.Row | tuple[Any, ...], names: list[str]) -> Task:
        """A row of `_SELECT`: our lease columns, then every column of `tasks` named by `names`."""
        claim = None
        if row[0] is not None:
            claim = Claim(worker=row[0], lease_id=row[1], claimed_at=row[2], expires_at=row[3])
        values = tuple(row[_CLAIM_COLUMNS:])
        by_name = {name.lower(): value for name, value in zip(names, values, strict=True)}
        created, updated = by_name.get("createdat"), by_name.get("updatedat")
        return Task(
            id=by_name["id"],
            uuid=by_name.get("uuid"),
            prompt=by_name["prompt"],
            status=by_name["status"],
            status_name=status_name(by_name["status"]),
            order=by_name.get("order"),
            createdat=None if created is None else str(created),
            updatedat=None if updated is None else str(updated),
            version=row_version(names, values),
            claim=claim,
        )

    @staticmethod
    def _names(cursor: sqlite3.Cursor) -> list[str]:
        return [str(d[0]) for d in cursor.description[_CLAIM_COLUMNS:]]

    def get(self, *, task_id: int | None = None, task_uuid: str | None = None) -> Task:
        if (task_id is None) == (task_uuid is None):
            raise InvalidInput("give exactly one of id or uuid")
        with self.store.read() as conn:
            if task_id is not None:
                cur = conn.execute(_SELECT + " WHERE t.id = ?", (time.time(), task_id))
            else:
                cur = conn.execute(
                    _SELECT + " WHERE t.uuid = ? ORDER BY t.id LIMIT 1", (time.time(), task_uuid)
                )
            row = cur.fetchone()
            names = self._names(cur)
        if row is None:
            raise NotFound("no task has that id" if task_id is not None else "no task has that uuid")
        return self._row_to_task(row, names)

    def list(
        self,
        *,
        statuses: list[TaskStatus] | None = None,
        limit: int = 50,
        cursor: str | None = None,
        sort: str = "id",
    ) -> TaskPage:
        check_limit(limit)
        if sort not in ("id", "queue"):
            raise InvalidInput("sort must be 'id' (creation order) or 'queue' (next ready first)")
        wanted = sorted({int(s) for s in statuses}) if statuses else None
        digest = query_digest("tasks", sort, wanted)
        where: list[str] = []
        params: list[Any] = [time.time()]
        if wanted is not None:
            where.append(f"t.status IN ({','.join('?' * len(wanted))})")
            params.extend(wanted)
        if cursor:
            key = decode_cursor(cursor, digest)
            if sort == "id":
                if len(key) != 1 or not isinstance(key[0], int):
                    raise InvalidInput("the cursor is not valid for this query; start again without one")
                where.append("t.id > ?")
                params.append(key[0])
            else:
                if (
                    len(key) != 2
                    or not isinstance(key[1], int)
                    or not (key[0] is None or isinstance(key[0], int))
                ):
                    raise InvalidInput("the cursor is not valid for this query; start again without one")
                if key[0] is None:
                    where.append('((t."order" IS NULL AND t.id > ?) OR t."order" IS NOT NULL)')
                    params.append(key[1])
                else:
                    where.append('(t."order" > ? OR (t."order" = ? AND t.id > ?))')
                    params.extend([key[0], key[0], key[1]])
        # The queue order is the contract's: "order" ascending (NULL first, as SQL sorts), then id.
        order_by = "t.id" if sort == "id" else 't."order", t.id'
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order_by} LIMIT ?"
        params.append(limit + 1)
        with self.store.read() as conn:
            cur = conn.execute(sql, params)
            rows = cur.fetchall()
            names = self._names(cur)
        items = [self._row_to_task(r, names) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            key_out: list[Any] = [last.id] if sort == "id" else [last.order, last.id]
            next_cursor = encode_cursor(digest, key_out)
        return TaskPage(items=items, next_cursor=next_cursor)

    # -- writes ---------------------------------------------------------------------------------

    def create(self, prompt: str, *, order: int = 0, status: TaskStatus = TaskStatus.READY) -> Task:
        with self.store.write() as conn:
            task_id, _uuid = self.insert(conn, prompt, order=order, status=status)
        return self.get(task_id=task_id)

    def insert(
        self, conn: sqlite3.Connection, prompt: str, *, order: int = 0, status: TaskStatus = TaskStatus.READY
    ) -> tuple[int, str]:
        """Add a row inside the caller's write transaction on this service's store (`store.write()`),
        with every check `create` makes; returns its id and its fresh uuid."""
        prompt = self._check_prompt(prompt)
        order = self._check_order(order)
        if status not in (TaskStatus.READY, TaskStatus.BACKLOGGED):
            raise InvalidInput("a new task is either ready (0) or backlogged (3)")
        stamp = _timestamp(None)
        task_uuid = str(uuidlib.uuid4())
        cur = conn.execute(
            'INSERT INTO tasks (prompt, status, createdat, updatedat, "order", uuid)'
            " VALUES (?, ?, ?, ?, ?, ?)",
            (prompt, int(status), stamp, stamp, order, task_uuid),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid), task_uuid

    def update(
        self,
        task_id: int,
        *,
        prompt: str | None = None,
        order: int | None = None,
        status: TaskStatus | None = None,
        expected_version: str | None = None,
        lease_id: str | None = None,
        worker: str | None = None,
    ) -> Task:
        """Change the given columns. With `expected_version` (the `version` of the task as the caller
        read it) the write happens only if the row is still exactly that: any change since, by us
        or by another program, is a Conflict and nothing is written.

        With `lease_id` (or `worker`) the caller says it holds the task's lease: while someone else
        holds a live lease on it, the write is a Conflict. A caller that never claims (an operator
        without leases) gives neither and is not checked."""
        if prompt is None and order is None and status is None:
            raise InvalidInput("nothing to update: give prompt, order or status")
        changes: dict[str, Any] = {}
        if prompt is not None:
            changes["prompt"] = self._check_prompt(prompt)
        if order is not None:
            changes['"order"'] = self._check_order(order)
        if status is not None:
            changes["status"] = int(status)
        with self.store.write() as conn:
            self._check_lease(conn, task_id, lease_id, worker)
            self.write_changes(conn, task_id, changes, expected_version=expected_version)
        return self.get(task_id=task_id)

    def write_changes(
        self,
        conn: sqlite3.Connection,
        task_id: int,
        changes: dict[str, Any],
        *,
        expected_version: str | None,
    ) -> None:
        """Inside the caller's write transaction: the row-version check, then the change, with
        `updatedat` moved strictly forward; leaving ready drops the lease. `changes` holds checked
        values under the fixed column keys `update` uses."""
        cur = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound("no task has that id")
        names = [str(d[0]) for d in cur.description]
        by_name = {name.lower(): value for name, value in zip(names, row, strict=True)}
        current = None if by_name.get("updatedat") is None else str(by_name["updatedat"])
        if expected_version is not None and expected_version != row_version(names, tuple(row)):
            raise Conflict(
                f"task {task_id} changed since you read it; nothing was written: read it again "
                "(get_task) and retry with its new version"
            )
        changes = {**changes, "updatedat": _timestamp(current)}
        assignments = ", ".join(f"{column} = ?" for column in changes)
        # Column names come from the fixed keys of `update`; every value is a bound parameter.
        conn.execute(f"UPDATE tasks SET {assignments} WHERE id = ?", (*changes.values(), task_id))  # noqa: S608
        status = changes.get("status")
        if status is not None and status != TaskStatus.READY:
            conn.execute("DELETE FROM secaudit_task_claims WHERE task_id = ?", (task_id,))

    def _check_lease(
        self, conn: sqlite3.Connection, task_id: int, lease_id: str | None, worker: str | None
    ) -> None:
        if lease_id is None and worker is None:
            return
        claim = conn.execute(
            "SELECT worker, lease_id FROM secaudit_task_claims WHERE task_id = ? AND expires_at > ?",
            (task_id, time.time()),
        ).fetchone()
        if claim is None:
            # The lease expired, or the task left ready (which drops leases) and nobody holds it now:
            # the holder's late write is still the holder's.
            return
        held_by_caller = (lease_id is None or lease_id == claim[1]) and (
            worker is None or self._redact(worker) == claim[0]
        )
        if not held_by_caller:
            raise Conflict(
                f"task {task_id} is leased to another worker; nothing was written (your lease expired "
                "and the task was claimed again, or this is not the lease_id claim_next_task gave "
                "you): claim the next task instead"
            )

    def set_status(
        self,
        task_id: int,
        status: TaskStatus,
        *,
        expected_version: str | None = None,
        lease_id: str | None = None,
        worker: str | None = None,
    ) -> Task:
        return self.update(
            task_id, status=status, expected_version=expected_version, lease_id=lease_id, worker=worker
        )

    def claim_next(self, worker: str, *, lease_seconds: int = 300) -> Task | None:
        """Lease the next ready task to `worker`; None when nothing is ready and unleased."""
        if not isinstance(worker, str) or not worker.strip() or len(worker) > _MAX_WORKER_CHARS:
            raise InvalidInput(f"worker must be a non-empty name of at most {_MAX_WORKER_CHARS} characters")
        if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int):
            raise InvalidInput("lease_seconds must be a whole number")
        if not 1 <= lease_seconds <= _MAX_LEASE_SECONDS:
            raise InvalidInput(f"lease_seconds must be from 1 to {_MAX_LEASE_SECONDS}")
        with self.store.write() as conn:
            now = time.time()
            # Exactly the contract's "next ready" order; NULL orders sort first, as in SQL.
            row = conn.execute(
                "SELECT t.id FROM tasks t WHERE t.status = 0 AND NOT EXISTS (SELECT 1 FROM"
                " secaudit_task_claims c WHERE c.task_id = t.id AND c.expires_at > ?)"
                ' ORDER BY t."order", t.id LIMIT 1',
                (now,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "INSERT INTO secaudit_task_claims (task_id, worker, lease_id, claimed_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET"
                " worker = excluded.worker, lease_id = excluded.lease_id,"
                " claimed_at = excluded.claimed_at, expires_at = excluded.expires_at",
                # The worker name is caller text kept in the shared table: redacted like a prompt.
                (row[0], self._redact(worker), uuidlib.uuid4().hex, now, now + lease_seconds),
            )
            return self.get(task_id=row[0])
