"""The link tables between findings and the tasks filed for them (in the TASKS database).

They live beside `tasks` and `secaudit_task_claims`, in the same file, so a task's status change
and its link's change are one transaction. The `tasks` table itself is never altered: no column,
index or trigger of ours is added to it.

- `secaudit_task_links`: one row per task we filed: its uuid (a task id alone could be reused by a
  table without AUTOINCREMENT after a delete; the uuid tells), the root and group it was filed for,
  the run it was filed from, and the link's state:
      open        we expect the task to be worked on
      completed   an audit proved every finding fixed (we completed it, or found it complete)
      archived    every finding was triaged away, and we archived the task
      dismissed   someone else deleted or archived the task: left alone, its findings not re-filed
                  unless asked
      replaced    its findings were re-filed into a newer task
- `secaudit_task_link_findings`: finding (root, fingerprint) -> the one task that holds it, with
  the finding's state as the bridge last saw it (open, fixed by an audit, triaged, gone).
"""

from __future__ import annotations

import sqlite3

__all__ = ["LINK_STATES", "MEMBER_STATES", "create_link_tables"]

LINK_STATES = ("open", "completed", "archived", "dismissed", "replaced")
MEMBER_STATES = ("open", "fixed", "triaged", "gone")


def create_link_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE secaudit_task_links ("
        " task_id INTEGER PRIMARY KEY, task_uuid TEXT NOT NULL, root TEXT NOT NULL,"
        " group_by TEXT NOT NULL, group_key TEXT NOT NULL, filed_run INTEGER NOT NULL,"
        " filed_at TEXT NOT NULL, state TEXT NOT NULL, state_at TEXT NOT NULL,"
        " closed_by_run INTEGER, note TEXT NOT NULL DEFAULT '')"
    )
    conn.execute("CREATE INDEX secaudit_task_links_root ON secaudit_task_links (root, state)")
    conn.execute(
        "CREATE TABLE secaudit_task_link_findings ("
        " root TEXT NOT NULL, fingerprint TEXT NOT NULL, finding_id TEXT NOT NULL,"
        " task_id INTEGER NOT NULL REFERENCES secaudit_task_links (task_id) ON DELETE CASCADE,"
        " state TEXT NOT NULL, state_run INTEGER, state_at TEXT NOT NULL,"
        " PRIMARY KEY (root, fingerprint))"
    )
    conn.execute("CREATE INDEX secaudit_task_link_findings_task ON secaudit_task_link_findings (task_id)")
