"""Tables of the agent hooks' session state (component `hooks`).

- `hook_sessions`: one row per agent session (Claude Code `session_id`, Cursor `conversation_id`):
  the repository root it works in, when it started, how many times its stop was blocked and the
  fingerprints listed in the last block (a repeat with nothing changed is not blocked again).
- `hook_files`: the files a session touched, each with the fingerprints its file had before the
  session first touched it (the baseline: those never block).

Both are bounded: a session keeps at most `MAX_FILES_PER_SESSION` files (service.py) and sessions
idle longer than the retention are purged, with their files, whenever a session starts.
"""

from __future__ import annotations

import sqlite3

from secaudit.tools.store import Migration

__all__ = ["MIGRATIONS"]


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE hook_sessions ("
        " client TEXT NOT NULL, session_id TEXT NOT NULL, root TEXT NOT NULL,"
        " started_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " blocks INTEGER NOT NULL DEFAULT 0, last_block TEXT NOT NULL DEFAULT '',"
        " PRIMARY KEY (client, session_id))"
    )
    conn.execute("CREATE INDEX hook_sessions_updated ON hook_sessions (updated_at)")
    conn.execute(
        "CREATE TABLE hook_files ("
        " client TEXT NOT NULL, session_id TEXT NOT NULL, path TEXT NOT NULL,"
        " first_at TEXT NOT NULL, baseline TEXT NOT NULL, baseline_source TEXT NOT NULL,"
        " PRIMARY KEY (client, session_id, path),"
        " FOREIGN KEY (client, session_id) REFERENCES hook_sessions (client, session_id)"
        " ON DELETE CASCADE)"
    )


MIGRATIONS = (Migration("hooks", 1, "hook_sessions, hook_files: agent hook session state", _v1),)
