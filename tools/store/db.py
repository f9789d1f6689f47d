"""A SQLite file opened the way every secaudit process must open it.

Why each setting:
- WAL lets readers run while one writer commits; `synchronous=NORMAL` is durable across process
  crashes in WAL mode (only an OS crash may lose the last commits).
- Writes always start with `BEGIN IMMEDIATE`, which takes the write lock up front: a
  read-modify-write can then never fail half way with "database is locked" when it tries to upgrade
  a read lock, and two writers never both act on the same stale read.
- Connections are per thread: `sqlite3` objects must not be shared across threads, and services run
  in worker threads under anyio.
- We never delete, truncate or rewrite a database file: a file we cannot read is reported, untouched.
- A store opened `readonly` connects with SQLite's `mode=ro`: a command that only reads cannot change
  the file, whatever it calls. `Store.in_memory()` is a private empty database for reading a store
  that does not exist yet, so a read answers "nothing yet" without creating the file.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from secaudit.tools.errors import StoreError
from secaudit.tools.store.migrations import Migration

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["SchemaState", "Store", "connect_existing"]

_BUSY_TIMEOUT_MS = 30_000
# Retrying BEGIN IMMEDIATE on top of busy_timeout covers the rare SQLITE_BUSY that the busy handler
# does not wait for (e.g. a WAL recovery by another process); bounded so a stuck writer is reported.
_BEGIN_ATTEMPTS = 50


class SchemaState(enum.Enum):
    """Where a database stands against a list of migrations (`Store.schema_state`)."""

    READY = "ready"  # every one applied
    ABSENT = "absent"  # none of their components was ever set up here: nothing stored yet
    BEHIND = "behind"  # set up by an older version: some are still to apply


def _friendly(path: Path, exc: sqlite3.Error) -> StoreError:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreError(
            f"the database file {path.name} is not a valid SQLite database or is corrupt; "
            "it was left untouched: point the setting at another file or restore it from a backup"
        )
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return StoreError(
            f"the database file {path.name} cannot be opened for writing; check its permissions "
            "and those of its folder"
        )
    if "locked" in text or "busy" in text:
        return StoreError("the database stayed locked by another writer for too long; try again")
    return StoreError(f"database error on {path.name}: {type(exc).__name__}")


def _create_private_file(path: Path) -> None:
    """Create the database file 0600 (and its folder 0700) before SQLite does, so it never exists
    with the process umask's looser mode, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return
    os.close(fd)


def connect_existing(path: Path) -> sqlite3.Connection:
    """Open one connection with our pragmas; fail with a clear StoreError if the file is unusable."""
    return _connect(path, str(path), uri=False, journal="wal")


def _connect(path: Path, target: str, *, uri: bool, journal: str | None) -> sqlite3.Connection:
    """`journal`: the journal mode to set and insist on; None keeps the file's own (a read-only
    connection may not change it, and a database in memory has no WAL)."""
    try:
        conn = sqlite3.connect(
            target, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False, uri=uri
        )
    except sqlite3.Error as exc:
        raise _friendly(path, exc) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        # Reading the schema is what makes SQLite notice a file that is not a database.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if journal is not None:
            mode = conn.execute(f"PRAGMA journal_mode = {journal}").fetchone()
            if mode is None or str(mode[0]).lower() != journal:
                raise StoreError(f"the database file {path.name} cannot use WAL journaling (mode {mode!r})")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # The file may be another program's (the shared tasks database): SQL stored in its schema
        # (views, triggers, defaults) must not call functions with side effects in our connection,
        # and defensive mode forbids writes that corrupt the file on purpose (writable_schema).
        conn.execute("PRAGMA trusted_schema = OFF")
        defensive = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", None)
        setconfig = getattr(conn, "setconfig", None)
        if defensive is not None and setconfig is not None:  # Python 3.12+; 3.11 cannot set it
            setconfig(defensive, True)
    except sqlite3.Error as exc:
        conn.close()
        raise _friendly(path, exc) from None
    except StoreError:
        conn.close()
        raise
    return conn


class Store:
    """One SQLite database file, shared by threads (one connection each) and processes."""

    def __init__(
        self,
        path: Path,
        *,
        create: bool = True,
        readonly: bool = False,
        memory: bool = False,
        verify: bool | None = None,
    ) -> None:
        """`readonly`: connect with `mode=ro` (the file must exist); `write()` is then refused.
        `memory`: see `in_memory()`. `verify`: run SQLite's quick check before use (see
        `verify_integrity`); by default for a store opened to write (a reader changes nothing, so it
        skips the cost)."""
        self.path = Path(path).expanduser().absolute()
        self.readonly = readonly
        # A named shared-cache database lives while one connection to it is open: the first one,
        # kept in `_all` until close(), holds it for the threads that connect later.
        self._memory = f"file:secaudit-{uuid.uuid4().hex}?mode=memory&cache=shared" if memory else None
        if not memory:
            self._check_file(create=create and not readonly)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        if verify if verify is not None else not (readonly or memory):
            self.verify_integrity()
        self.conn  # noqa: B018 - open now so a bad file fails at start, not at the first call

    def verify_integrity(self, *, full: bool = False) -> None:
        """Refuse a damaged file before anything is written to it (writing would spread the damage).

        Checked through a read-only connection, before ours sets WAL mode: a refused file keeps
        every byte it had. By default SQLite's `quick_check`: every page, b-tree, cell, record and
        the freelist (the damage a write would build on) in O(size). Every command that opens the
        store to write pays this check, so the full `integrity_check` (`full=True`), which also
        matches every index entry with its row in O(size log size), is not the default: it took
        0.32 s against 0.09 s on a 31 MB store, and an index that disagrees with its table, all it
        adds, is repaired by REINDEX without loss."""
        try:
            check = sqlite3.connect(
                f"{self.path.as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None
        try:
            pragma = "integrity_check" if full else "quick_check"
            rows = check.execute(f"PRAGMA {pragma}(1)").fetchall()
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from None
        finally:
            check.close()
        if [tuple(r) for r in rows] != [("ok",)]:
            raise StoreError(
                f"the database file {self.path.name} failed SQLite's integrity check; it was left "
                "untouched: restore it from a backup, or point the setting at another file"
            )

    def _check_file(self, *, create: bool) -> None:
        if self.path.is_dir():
            raise StoreError(f"the database path {self.path.name} is a folder; give a file path")
        if self.path.exists():
            return
        if not create:
            raise StoreError(f"the database file {self.path.name} does not exist")
        try:
            _create_private_file(self.path)
        except OSError as exc:
            raise StoreError(
                f"cannot create the database file {self.path.name}: {exc.strerror or 'error'}"
            ) from None

    @classmethod
    def in_memory(cls, name: str = "empty.db") -> Store:
        """A private database in memory, shared by this store's threads until `close()`; `name` is
        only what messages call it. Nothing is written to disk."""
        return cls(Path(name), memory=True)

    def _open(self) -> sqlite3.Connection:
        if self._memory is not None:
            return _connect(self.path, self._memory, uri=True, journal=None)
        if self.readonly:
            target = f"file:{quote(str(self.path))}?mode=ro"
            return _connect(self.path, target, uri=True, journal=None)
        return connect_existing(self.path)

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection (for inserts, upserts, table introspection)."""
        import sqlite_utils  # here: a tenth of a second that commands reading the store do not need

        database: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if database is None:
            database = sqlite_utils.Database(self.conn)
            self._local.db = database
        return database

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the write lock from its first statement (BEGIN IMMEDIATE)."""
        if self.readonly:
            raise StoreError(
                f"the database file {self.path.name} was opened read-only by a command that only reads"
            )
        conn = self.conn
        if conn.in_transaction:
            # Nested use joins the outer transaction: the outer block owns commit and rollback.
            yield conn
            return
        self._begin(conn, "BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise _friendly(self.path, exc) from None

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one consistent snapshot."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        self._begin(conn, "BEGIN DEFERRED")
        try:
            yield conn
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def _begin(self, conn: sqlite3.Connection, statement: str) -> None:
        for attempt in range(_BEGIN_ATTEMPTS):
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise _friendly(self.path, exc) from None
                time.sleep(min(0.001 * (attempt + 1), 0.05))
        raise StoreError("the database stayed locked by another writer for too long; try again")

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        conn = self.conn
        cur = conn.cursor()
        cur.row_factory = sqlite3.Row
        try:
            return list(cur.execute(sql, params if isinstance(params, dict) else tuple(params)))
        except sqlite3.Error as exc:
            raise _friendly(self.path, exc) from exc

    # -- migrations -----------------------------------------------------------------------------

    def migrate(self, migrations: Iterable[Migration]) -> list[tuple[str, int]]:
        """Apply what is not yet applied, in (component, version) order; return what was applied.

        A store already up to date is only read (so services that migrate when they are built work
        on a store opened read-only)."""
        migrations = list(migrations)
        if not self.pending(migrations):
            return []
        applied: list[tuple[str, int]] = []
        with self.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS secaudit_migrations ("
                " component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
                " PRIMARY KEY (component, version))"
            )
        for migration in sorted(migrations, key=lambda m: (m.component, m.version)):
            with self.write() as conn:
                done = conn.execute(
                    "SELECT 1 FROM secaudit_migrations WHERE component = ? AND version = ?",
                    (migration.component, migration.version),
                ).fetchone()
                if done:
                    continue
                try:
                    migration.apply(conn)
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"migration {migration.component}#{migration.version} failed: {exc}"
                    ) from None
                conn.execute(
                    "INSERT INTO secaudit_migrations (component, version, description) VALUES (?, ?, ?)",
                    (migration.component, migration.version, migration.description),
                )
                applied.append((migration.component, migration.version))
        return applied

    def pending(self, migrations: Iterable[Migration]) -> list[Migration]:
        """The migrations not yet applied (all of them on a database that never ran one); reads only."""
        applied = set(self._applied())
        return [m for m in migrations if (m.component, m.version) not in applied]

    def schema_state(self, migrations: Iterable[Migration]) -> SchemaState:
        """Reads only, so it works on a store opened read-only."""
        wanted = list(migrations)
        applied = self._applied()
        if not {m.component for m in wanted} & {component for component, _ in applied}:
            return SchemaState.ABSENT if wanted else SchemaState.READY
        done = set(applied)
        return (
            SchemaState.READY if all((m.component, m.version) in done for m in wanted) else SchemaState.BEHIND
        )

    def _applied(self) -> list[tuple[str, int]]:
        exists = self.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'secaudit_migrations'"
        )
        if not exists:
            return []
        rows = self.query("SELECT component, version FROM secaudit_migrations")
        return [(str(r["component"]), int(r["version"])) for r in rows]

    def schema_versions(self) -> dict[str, int]:
        rows = self.query(
            "SELECT component, max(version) AS version FROM secaudit_migrations GROUP BY component"
        )
        return {str(r["component"]): int(r["version"]) for r in rows}
