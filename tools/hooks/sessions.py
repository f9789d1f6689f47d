"""The session state of the agent hooks in the store (tables in schema.py): which files a session
touched, their baseline fingerprints, and how often its stop was blocked. Bounded: at most
`max_files` files per session; sessions idle for `retention_days` are purged (with their files)
whenever a new session starts, and at most `max_sessions` are kept."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from secaudit.tools.store import Store
from secaudit.tools.timefmt import iso_ms, now_ms

__all__ = ["HookFile", "HookSession", "HookSessions"]


@dataclass(frozen=True)
class HookSession:
    client: str
    session_id: str
    root: str
    started_at: str
    blocks: int
    last_block: str


@dataclass(frozen=True)
class HookFile:
    path: str
    baseline: frozenset[str]
    source: str


class HookSessions:
    def __init__(
        self, store: Store, *, max_files: int = 200, retention_days: int = 14, max_sessions: int = 1000
    ) -> None:
        self.store = store
        self.max_files = max_files
        self.retention_days = retention_days
        self.max_sessions = max_sessions

    def get(self, client: str, session_id: str) -> HookSession | None:
        rows = self.store.query(
            "SELECT root, started_at, blocks, last_block FROM hook_sessions"
            " WHERE client = ? AND session_id = ?",
            (client, session_id),
        )
        if not rows:
            return None
        r = rows[0]
        return HookSession(client, session_id, str(r[0]), str(r[1]), int(r[2]), str(r[3]))

    def begin(self, client: str, session_id: str, root: str) -> HookSession:
        """The session, created (and old ones purged) when first seen."""
        found = self.get(client, session_id)
        if found is not None:
            return found
        stamp = now_ms()
        cutoff = iso_ms(datetime.now(UTC) - timedelta(days=self.retention_days))
        with self.store.write() as conn:
            conn.execute("DELETE FROM hook_sessions WHERE updated_at < ?", (cutoff,))
            conn.execute(
                "DELETE FROM hook_sessions WHERE rowid IN (SELECT rowid FROM hook_sessions"
                " ORDER BY updated_at DESC LIMIT -1 OFFSET ?)",
                (self.max_sessions - 1,),
            )
            conn.execute(
                "INSERT OR IGNORE INTO hook_sessions (client, session_id, root, started_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (client, session_id, root, stamp, stamp),
            )
        found = self.get(client, session_id)
        assert found is not None
        return found

    def files(self, client: str, session_id: str) -> list[HookFile]:
        rows = self.store.query(
            "SELECT path, baseline, baseline_source FROM hook_files WHERE client = ? AND session_id = ?"
            " ORDER BY first_at, path",
            (client, session_id),
        )
        return [HookFile(str(r[0]), frozenset(json.loads(str(r[1]))), str(r[2])) for r in rows]

    def has_file(self, client: str, session_id: str, path: str) -> bool:
        return bool(
            self.store.query(
                "SELECT 1 FROM hook_files WHERE client = ? AND session_id = ? AND path = ?",
                (client, session_id, path),
            )
        )

    def add_file(self, client: str, session_id: str, path: str, baseline: set[str], source: str) -> bool:
        """Record a first touch with its baseline; False when the session already holds
        `max_files` files (the file is then not tracked, and the stop says so)."""
        stamp = now_ms()
        with self.store.write() as conn:
            count = conn.execute(
                "SELECT count(*) FROM hook_files WHERE client = ? AND session_id = ?", (client, session_id)
            ).fetchone()[0]
            if int(count) >= self.max_files:
                return False
            conn.execute(
                "INSERT OR IGNORE INTO hook_files (client, session_id, path, first_at, baseline,"
                " baseline_source) VALUES (?, ?, ?, ?, ?, ?)",
                (client, session_id, path, stamp, json.dumps(sorted(baseline)), source),
            )
            conn.execute(
                "UPDATE hook_sessions SET updated_at = ? WHERE client = ? AND session_id = ?",
                (stamp, client, session_id),
            )
        return True

    def record_block(self, client: str, session_id: str, digest: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                "UPDATE hook_sessions SET blocks = blocks + 1, last_block = ?, updated_at = ?"
                " WHERE client = ? AND session_id = ?",
                (digest, now_ms(), client, session_id),
            )

    def touch(self, client: str, session_id: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                "UPDATE hook_sessions SET updated_at = ? WHERE client = ? AND session_id = ?",
                (now_ms(), client, session_id),
            )
