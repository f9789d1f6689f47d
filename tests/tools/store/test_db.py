"""The store on real files: pragmas, permissions, migrations, and refusing bad files untouched."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest

from secaudit.tools.errors import StoreError
from secaudit.tools.store import Migration, Store


def test_new_store_is_private_wal_with_foreign_keys(tmp_path: Path) -> None:
    store = Store(tmp_path / "deep" / "x.db")
    assert stat.S_IMODE((tmp_path / "deep" / "x.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "deep").stat().st_mode) == 0o700
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    store.close()


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    calls: list[int] = []

    def m(n: int) -> Migration:
        def apply(conn: sqlite3.Connection) -> None:
            calls.append(n)
            conn.execute(f"CREATE TABLE t{n} (x)")

        return Migration("demo", n, f"step {n}", apply)

    store = Store(tmp_path / "m.db")
    assert store.migrate([m(2), m(1)]) == [("demo", 1), ("demo", 2)]
    assert store.migrate([m(1), m(2), m(3)]) == [("demo", 3)]
    assert calls == [1, 2, 3]
    assert store.schema_versions() == {"demo": 3}


def test_failed_migration_rolls_back(tmp_path: Path) -> None:
    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        conn.execute("THIS IS NOT SQL")

    store = Store(tmp_path / "m.db")
    with pytest.raises(StoreError, match="migration demo#1 failed"):
        store.migrate([Migration("demo", 1, "bad", bad)])
    assert store.query("SELECT name FROM sqlite_master WHERE name = 'half'") == []
    assert store.schema_versions() == {}


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    with store.write() as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(RuntimeError), store.write() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert store.query("SELECT count(*) AS n FROM t")[0]["n"] == 0


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all, just text" * 50, b"SQLite format 3\x00" + b"\xff" * 4000],
)
def test_corrupt_file_is_a_clear_error_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StoreError) as err:
        Store(path)
    assert "bad.db" in str(err.value)
    assert "left untouched" in str(err.value) or "corrupt" in str(err.value)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db"]


def test_directory_as_database_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path)
