"""The security event log on a real store: filters, the `since` time, retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.tools import events as events_module
from secaudit.tools.errors import InvalidInput
from secaudit.tools.events import EventLog, SecurityEvent
from secaudit.tools.store import Store


@pytest.fixture
def log(tmp_path: Path) -> EventLog:
    store = Store(tmp_path / "e.db")
    store.migrate(events_module.MIGRATIONS)
    return EventLog(store)


def test_since_filters_and_accepts_iso_forms(log: EventLog) -> None:
    kind = events_module.EVENT_KINDS[0]
    log.record(SecurityEvent(kind=kind, at="2026-01-01T00:00:00.000000Z", detail="old"))
    log.record(SecurityEvent(kind=kind, at="2026-06-01T12:00:00.000000Z", detail="new"))
    for since in ("2026-03-01", "2026-03-01T00:00:00Z", "2026-03-01T01:00:00+01:00"):
        assert [e.detail for e in log.list(since=since)] == ["new"], since
    assert len(log.list()) == 2


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "1' OR '1'='1"])
def test_invalid_since_is_refused(log: EventLog, since: str) -> None:
    with pytest.raises(InvalidInput, match="ISO 8601"):
        log.list(since=since)


def test_a_batch_of_repeated_values_is_redacted_in_every_event(log: EventLog) -> None:
    # Values recurring across a batch are redacted once and reused: every row must still hold the
    # redacted form, and distinct values their own.
    secret = "gh" + "p_" + "a1B2" * 9
    batch = [
        SecurityEvent(kind="auth_failed", client="127.0.0.1", detail=f"token {secret}"),
        SecurityEvent(kind="auth_failed", client="127.0.0.1", detail=f"token {secret}"),
        SecurityEvent(kind="origin_refused", client="10.0.0.2", detail="http://evil.example"),
    ]
    assert log.record_many(batch) == 3
    rows = log.list(limit=10)
    assert len(rows) == 3
    for row in rows:
        assert secret not in (row.detail or "")
    assert sorted(r.client or "" for r in rows) == ["10.0.0.2", "127.0.0.1", "127.0.0.1"]
    assert sum("[MASKED:github_token]" in (r.detail or "") for r in rows) == 2
    assert [r.detail for r in rows if r.kind == "origin_refused"] == ["http://evil.example"]
