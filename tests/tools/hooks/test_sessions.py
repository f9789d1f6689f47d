"""The hooks' session state: bounded files per session, retention purge, a count of blocks."""

from __future__ import annotations

import pytest

from secaudit.tools.errors import InvalidInput
from secaudit.tools.hooks.payloads import ClaudeInput, CursorInput, parse_payload
from secaudit.tools.hooks.sessions import HookSessions
from secaudit.tools.store import Store


def test_a_session_holds_at_most_max_files_and_keeps_each_baseline(store: Store) -> None:
    sessions = HookSessions(store, max_files=2)
    sessions.begin("claude", "s", "/repo")
    assert sessions.add_file("claude", "s", "a.py", {"f1"}, "snapshot")
    assert sessions.add_file("claude", "s", "b.py", set(), "git-head+store")
    assert not sessions.add_file("claude", "s", "c.py", set(), "snapshot")
    files = sessions.files("claude", "s")
    assert [(f.path, f.baseline) for f in files] == [("a.py", frozenset({"f1"})), ("b.py", frozenset())]
    sessions.record_block("claude", "s", "digest")
    found = sessions.get("claude", "s")
    assert found is not None and found.blocks == 1 and found.last_block == "digest"


def test_old_sessions_and_their_files_are_purged_when_a_session_starts(store: Store) -> None:
    sessions = HookSessions(store, retention_days=1, max_sessions=2)
    sessions.begin("cursor", "old", "/repo")
    sessions.add_file("cursor", "old", "a.py", set(), "snapshot")
    with store.write() as conn:
        conn.execute("UPDATE hook_sessions SET updated_at = '2000-01-01T00:00:00.000Z'")
    sessions.begin("cursor", "new", "/repo")
    assert sessions.get("cursor", "old") is None
    assert store.query("SELECT count(*) FROM hook_files")[0][0] == 0
    sessions.begin("cursor", "newer", "/repo")
    sessions.begin("cursor", "newest", "/repo")
    assert store.query("SELECT count(*) FROM hook_sessions")[0][0] == 2


def test_payloads_allow_extra_keys_but_check_types() -> None:
    claude = parse_payload(
        b'{"session_id": "s", "cwd": "/r", "new_field": [1], "tool_input": {"file_path": "/r/a", "x": 1}}',
        ClaudeInput,
    )
    assert claude.tool_input is not None and claude.tool_input.file_path == "/r/a"
    with pytest.raises(InvalidInput, match="loop_count"):
        parse_payload(b'{"conversation_id": "c", "loop_count": "1"}', CursorInput)
    with pytest.raises(InvalidInput, match="stop_hook_active"):
        parse_payload(b'{"session_id": "s", "cwd": "/r", "stop_hook_active": "yes"}', ClaudeInput)
