"""The store's read-only and in-memory modes, and where a database stands against its migrations."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import pytest

from secaudit.tools.errors import StoreError
from secaudit.tools.store import Migration, SchemaState, Store


def _table(name: str, version: int = 1, component: str = "demo") -> Migration:
    return Migration(
        component, version, f"table {name}", lambda conn: conn.execute(f"CREATE TABLE {name} (x)")
    )


def _written(path: Path) -> None:
    store = Store(path)
    store.migrate([_table("t")])
    with store.write() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
    store.close()


def test_read_only_store_reads_and_cannot_change_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _written(path)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    store = Store(path, readonly=True)
    assert store.query("SELECT x FROM t")[0]["x"] == 1
    with pytest.raises(StoreError, match="opened read-only"), store.write():
        pass
    # Even a statement sent past write(): SQLite itself refuses it (mode=ro).
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.conn.execute("INSERT INTO t VALUES (2)")
    assert store.migrate([_table("t")]) == []  # up to date: only read
    store.close()
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


def test_read_only_store_never_creates_the_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.db", readonly=True)
    assert list(tmp_path.iterdir()) == []


def test_in_memory_store_is_shared_by_threads_and_touches_no_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store.in_memory("secaudit.db")
    store.migrate([_table("t")])
    seen: list[int] = []
    worker = threading.Thread(
        target=lambda: seen.append(int(store.query("SELECT count(*) AS n FROM t")[0]["n"]))
    )
    worker.start()
    worker.join(30)
    assert seen == [0]
    other = Store.in_memory("secaudit.db")  # each one private, whatever its name
    assert other.schema_state([_table("t")]) is SchemaState.ABSENT
    other.close()
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_schema_state_ready_absent_behind(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    wanted = [_table("a", 1), _table("b", 2)]
    assert store.schema_state(wanted) is SchemaState.ABSENT
    store.migrate([_table("other", 1, component="elsewhere")])
    assert store.schema_state(wanted) is SchemaState.ABSENT  # another component's tables only
    store.migrate(wanted[:1])
    assert store.schema_state(wanted) is SchemaState.BEHIND
    assert store.pending(wanted) == wanted[1:]
    store.migrate(wanted)
    assert store.schema_state(wanted) is SchemaState.READY
    assert store.pending(wanted) == []
