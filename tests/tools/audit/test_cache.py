"""Scan-cache retention: entries in use are refreshed, entries nobody used for the period go."""

from __future__ import annotations

from pathlib import Path

from secaudit.server.context import AppContext
from secaudit.tools.audit.cache import prune_cache

OLD = "2020-01-01T00:00:00.000Z"


def _stamps(app: AppContext) -> dict[str, str]:
    return {
        str(k): str(t)
        for k, t in app.store.query("SELECT key, stored_at FROM audit_cache WHERE scanner = 'bandit'")
    }


def test_used_entries_are_refreshed_and_unused_ones_pruned(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.audit is not None
    first = audit_app.audit.run(str(audit_root), scanners=["bandit"])
    live = _stamps(audit_app)
    assert live and first.files_cached == 0
    with audit_app.store.write() as conn:
        # Every live entry looks 6 years old; one more stands for a file edited long ago.
        conn.execute("UPDATE audit_cache SET stored_at = ?", (OLD,))
        conn.execute(
            "INSERT INTO audit_cache (scanner, key, value, stored_at) VALUES ('bandit', 'stale', '{}', ?)",
            (OLD,),
        )
    again = audit_app.audit.run(str(audit_root), scanners=["bandit"])
    after = _stamps(audit_app)
    # The re-audit read every live entry (same findings, all from cache), refreshed them, and the
    # retention at its end removed only the one nothing used.
    assert again.files_cached == len(live) and again.findings_total == first.findings_total
    assert set(after) == set(live)
    assert all(stamp > OLD for stamp in after.values())


def test_zero_days_keeps_everything(audit_app: AppContext) -> None:
    with audit_app.store.write() as conn:
        conn.execute(
            "INSERT INTO audit_cache (scanner, key, value, stored_at) VALUES ('x', 'k', '{}', ?)", (OLD,)
        )
    assert prune_cache(audit_app.store, 0) == 0
    assert prune_cache(audit_app.store, 1) == 1
    assert audit_app.store.query("SELECT count(*) FROM audit_cache WHERE scanner = 'x'")[0][0] == 0
