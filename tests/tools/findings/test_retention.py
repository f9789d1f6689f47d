"""Run-history retention (`tools/findings/retention.py`): which runs keep their findings, what the
others answer, and the migration that brings it to a store with history."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from secaudit.tools.errors import NotFound
from secaudit.tools.findings import MIGRATIONS, FindingsService, RunStatus, TriageStatus
from secaudit.tools.findings.records import RunSkip
from secaudit.tools.findings.retention import GRACE, PRUNE_BATCH, RUNS_KEPT_SETTING, RunPruned
from secaudit.tools.findings.rows import finding_id
from secaudit.tools.findings.sarif import export_sarif
from secaudit.tools.store import Store
from tests.support.history import age_runs, finding, record_run

ROOT = "/repo"
TEN = [finding(i) for i in range(10)]


def _occurrences(store: Store, run_id: int) -> int:
    return int(store.query("SELECT count(*) FROM finding_occurrences WHERE run_id = ?", (run_id,))[0][0])


def _pruned(service: FindingsService) -> list[int]:
    return sorted(r.id for r in service.list_runs(root=ROOT, limit=200).runs if r.pruned)


def test_keeps_the_newest_n_runs_and_the_newest_full_audit_through_a_session_of_hook_runs(
    store: Store,
) -> None:
    service = FindingsService(store, runs_kept=3)
    full = record_run(service, ROOT, TEN).id
    hooks = [record_run(service, ROOT, [finding(1)], paths=["pkg/mod1.py"]).id for _ in range(6)]
    assert _pruned(service) == hooks[:3]  # the oldest hook runs; the full audit stays
    assert _occurrences(store, full) == 10
    assert [_occurrences(store, r) for r in hooks[3:]] == [1, 1, 1]
    # Pruned: no occurrence left (finding 1 was last seen by a newer run), no skip row, record kept.
    assert [_occurrences(store, r) for r in hooks[:3]] == [0, 0, 0]
    first = service.get_run(hooks[0])
    assert first.pruned and first.findings_total == 1 and first.status is RunStatus.SUCCEEDED
    assert not service.get_run(full).pruned

    newer_full = record_run(service, ROOT, TEN).id  # the old full audit is no longer the newest
    assert _pruned(service) == [full, *hooks[:4]]
    assert not service.get_run(newer_full).pruned
    # Finding 1 was last seen by the newest full audit; the old one's rows all went.
    assert _occurrences(store, full) == 0


def test_a_run_is_spared_for_the_grace_after_it_finished(store: Store) -> None:
    # Whoever recorded a run is about to read it (the audit's first page, a hook's stop): a
    # concurrent writer must not prune it in between, whatever SECAUDIT_RUNS_KEPT says.
    service = FindingsService(store, runs_kept=1)
    fresh = [record_run(service, ROOT, TEN, paths=["pkg/mod1.py"], aged=False).id for _ in range(3)]
    assert _pruned(service) == []
    age_runs(store, by=GRACE - dt.timedelta(minutes=1))  # still within the grace
    record_run(service, ROOT, TEN, paths=["pkg/mod1.py"], aged=False)
    assert _pruned(service) == []
    age_runs(store, by=dt.timedelta(minutes=2))  # the first three are now past it
    record_run(service, ROOT, TEN, paths=["pkg/mod1.py"], aged=False)
    assert _pruned(service) == fresh  # the fourth finished two minutes ago: still spared


def test_other_roots_are_not_counted_or_pruned(store: Store) -> None:
    service = FindingsService(store, runs_kept=1)
    other = [record_run(service, "/other", TEN).id for _ in range(2)]
    for _ in range(3):
        record_run(service, ROOT, TEN)
    assert [service.get_run(r).pruned for r in other] == [True, False]
    assert len(_pruned(service)) == 2


def test_a_finding_last_seen_in_a_pruned_run_keeps_that_occurrence(store: Store) -> None:
    service = FindingsService(store, runs_kept=1)
    gone, unlooked = finding(0, path="gone.py"), finding(1, path="skipped.py")
    old = record_run(service, ROOT, [gone, unlooked, *TEN[2:]]).id
    # Later full audits: gone.py no longer has its finding; skipped.py was not examined.
    later = [record_run(service, ROOT, TEN[2:], unexamined=["skipped.py"]).id for _ in range(3)]
    assert service.get_run(old).pruned and later[:2] == _pruned(service)[1:]
    assert _occurrences(store, old) == 2  # the two findings whose last_seen_run it is
    listed = {f.id: f for f in service.list_findings(root=ROOT, limit=200).items}
    by_fp = {service.get_finding(fid).fingerprint: listed[fid] for fid in listed}
    assert len(listed) == 10
    assert (by_fp[gone.fingerprint].status, by_fp[gone.fingerprint].run_id) == ("fixed", old)
    assert (by_fp[unlooked.fingerprint].status, by_fp[unlooked.fingerprint].run_id) == ("new", old)
    record = service.get_finding(by_fp[unlooked.fingerprint].id)
    assert (record.last_seen_run, record.message) == (old, "problem 1 in detail")
    # Asked of the pruned run itself, its kept occurrence still answers.
    assert service.get_finding(record.id, run_id=old).title == "problem 1"
    assert service.summary(root=ROOT).open_total == 9


def _history(service: FindingsService) -> None:
    record_run(service, ROOT, TEN)
    for i in range(5):
        record_run(service, ROOT, [finding(i % 3 + 1)], paths=[f"pkg/mod{i % 3 + 1}.py"])
    record_run(service, ROOT, TEN[:8])  # findings 8 and 9 fixed
    for _ in range(4):
        record_run(service, ROOT, [finding(20, path="new.py")], paths=["new.py"])


def test_listing_summary_and_triage_answer_as_if_nothing_was_pruned(tmp_path: Path) -> None:
    stores = [Store(tmp_path / "kept.db"), Store(tmp_path / "pruned.db")]
    try:
        services = []
        for db, keep in zip(stores, (0, 2), strict=True):
            db.migrate(MIGRATIONS)
            services.append(FindingsService(db, runs_kept=keep))
            _history(services[-1])
        everything, pruned = services
        assert _pruned(everything) == [] and len(_pruned(pruned)) == 8

        def state(service: FindingsService) -> object:
            items = service.list_findings(root=ROOT, limit=200).items
            summary = service.summary(root=ROOT)
            return (
                [f.model_dump() for f in items],
                summary.open_total,
                summary.by_status,
                summary.open_by_severity,
                summary.latest_run,
            )

        assert state(pruned) == state(everything)
        open_ids = [f.id for f in pruned.list_findings(root=ROOT, statuses=["open"], limit=200).items]
        assert len(open_ids) == 9  # 8 of the full audit, the new one
        for service in services:
            service.triage(open_ids[0], TriageStatus.ACCEPTED_RISK, "behind the VPN")
        assert state(pruned) == state(everything)
        assert pruned.get_finding(open_ids[0]).status == "accepted_risk"
    finally:
        for db in stores:
            db.close()


def test_a_pruned_runs_findings_are_refused_with_what_to_do(store: Store) -> None:
    service = FindingsService(store, runs_kept=2)
    skip = RunSkip(scanner="bandit", path="big.py", reason="too large")
    old = record_run(service, ROOT, TEN, skips=[skip]).id
    assert service.get_run(old).skips == [skip]
    runs = [record_run(service, ROOT, TEN).id for _ in range(2)]
    assert service.get_run(old).pruned and service.get_run(old).skips == []
    calls = {
        "list_findings": lambda: service.list_findings(run_id=old),
        "run_findings": lambda: service.run_findings(old),
        "run_summaries": lambda: service.run_summaries(old),
        "compare_runs": lambda: service.compare_runs(old, runs[-1]),
        "sarif": lambda: export_sarif(service, old, tool_version="1"),
        "fix_kinds": lambda: FindingsService(store, classify=lambda *_: "code").fix_kinds(old),
    }
    for name, call in calls.items():
        with pytest.raises(RunPruned) as caught:
            call()
        message = str(caught.value)
        assert f"run {old} were pruned" in message, name
        assert RUNS_KEPT_SETTING in message and f"run {runs[-1]} is the newest" in message, name
        assert caught.value.code == "run_pruned" and isinstance(caught.value, NotFound)
    # A finding of the run asked by run: its occurrence there went with the run's.
    fid = service.list_findings(root=ROOT, limit=1).items[0].id
    with pytest.raises(RunPruned, match=RUNS_KEPT_SETTING):
        service.get_finding(fid, run_id=old)
    # Runs that keep their findings answer as before.
    assert len(service.run_findings(runs[0])) == 10


def test_zero_keeps_every_run(store: Store) -> None:
    service = FindingsService(store, runs_kept=0)
    made = [record_run(service, ROOT, TEN, paths=["pkg"] if i % 2 else None).id for i in range(12)]
    assert _pruned(service) == []
    assert [_occurrences(store, r) for r in made] == [10] * 12


def _legacy_store(path: Path, runs: int) -> Store:
    """A store at findings schema 5 (before retention) holding `runs` whole-tree runs of 10 findings."""
    db = Store(path)
    db.migrate([m for m in MIGRATIONS if m.version < 6])
    stamp = "2026-01-01T00:00:00.000Z"
    with db.write() as conn:
        for run in range(1, runs + 1):
            conn.execute(
                "INSERT INTO audit_runs (root, kind, scanners, status, started_at, finished_at,"
                " findings_total) VALUES (?, 'audit', '[\"bandit\"]', 'succeeded', ?, ?, 10)",
                (ROOT, stamp, stamp),
            )
            conn.execute(
                "INSERT INTO audit_run_skips (run_id, scanner, path, reason) VALUES (?, 'bandit', 'x', 'y')",
                (run,),
            )
            for i in range(10):
                fid = finding_id(ROOT, TEN[i].fingerprint)
                conn.execute(
                    "INSERT INTO findings (id, root, fingerprint, scanner, rule_id, path, first_seen_run,"
                    " first_seen_at, last_seen_run, last_seen_at) VALUES (?, ?, ?, 'bandit', 'B1', 'a.py',"
                    " 1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET last_seen_run = excluded.last_seen_run",
                    (fid, ROOT, TEN[i].fingerprint, stamp, run, stamp),
                )
                conn.execute(
                    "INSERT INTO finding_occurrences (run_id, finding_id, scanner, rule_id, severity,"
                    " severity_rank, confidence, path, start_line, title, message, cwe, refs,"
                    " suppressed_in_code, properties, lifecycle) VALUES (?, ?, 'bandit', 'B1', 'high', 3,"
                    " 'high', 'a.py', ?, 't', 'm', '[]', '[]', 0, ?, 'open')",
                    (run, fid, i + 1, json.dumps({})),
                )
    return db


def test_the_migration_applies_to_a_store_with_history_and_the_backlog_drains_a_batch_per_run(
    tmp_path: Path,
) -> None:
    db = _legacy_store(tmp_path / "old.db", runs=20)
    try:
        assert db.migrate(MIGRATIONS) == [("findings", 6), ("findings", 7)]
        service = FindingsService(db, runs_kept=3)
        assert _pruned(service) == [] and service.get_run(1).findings_total == 10
        assert len(service.list_findings(run_id=1, limit=200).items) == 10
        rounds = 0
        while rounds < 10:
            before = len(_pruned(service))
            record_run(service, ROOT, TEN)
            rounds += 1
            due = 20 + rounds - 3  # the history and the new runs, but the newest three
            # Each run prunes at most PRUNE_BATCH runs: the backlog drains over several runs.
            assert len(_pruned(service)) == min(before + PRUNE_BATCH, due)
            if len(_pruned(service)) == due:
                break
        assert rounds == 6  # 4 pruned a run, one more due a run: 17 + 6 = 6 * 4 - 1
        runs = service.list_runs(root=ROOT, limit=200).runs
        assert [r.id for r in runs if not r.pruned] == [26, 25, 24]
        assert all(r.findings_total == 10 for r in runs)  # the history stays listable
        assert int(db.query("SELECT count(*) FROM audit_run_skips")[0][0]) == 0
        assert len(service.list_findings(root=ROOT, limit=200).items) == 10
    finally:
        db.close()


def test_occurrence_lookups_use_the_primary_key_once_the_unused_index_is_gone(store: Store) -> None:
    # Findings migration 7 dropped the (finding_id, run_id) index (it made every insert of a run
    # dirty pages all over it); each occurrence query names its run, which the primary key serves.
    indexes = {
        r[0] for r in store.query("SELECT name FROM sqlite_master WHERE tbl_name = 'finding_occurrences'")
    }
    assert "finding_occurrences_finding" not in indexes
    for sql in (
        # The current-state listings' join (queries.py, metrics.py), with a filter on `o` only.
        "SELECT o.* FROM findings f CROSS JOIN finding_occurrences o ON o.run_id = f.last_seen_run"
        " AND o.finding_id = f.id WHERE o.severity_rank >= 1",
        "SELECT * FROM finding_occurrences WHERE finding_id = 'x' AND run_id = 1",
        "SELECT * FROM finding_occurrences WHERE run_id = 1",
    ):
        plan = " ".join(str(r[3]) for r in store.query("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN o" not in plan and "SCAN finding_occurrences" not in plan, (sql, plan)


def test_a_run_pruned_while_its_findings_are_read_is_read_whole(store: Store, tmp_path: Path) -> None:
    # The not-pruned check and the rows are read in one snapshot (queries.one_snapshot): a
    # concurrent writer's retention pruning the run in between must not hand back a partial list.
    keep_all = FindingsService(store, runs_kept=0)
    old = record_run(keep_all, ROOT, TEN).id
    record_run(keep_all, ROOT, TEN[:5])  # findings 5-9 are last seen by `old`: their rows stay
    record_run(keep_all, ROOT, TEN[:5])
    reader = FindingsService(store, runs_kept=1)
    other = Store(store.path)  # another connection, as another process would have
    try:
        check = reader._runs.run_with_findings
        pruned_meanwhile: list[int] = []

        def check_then_prune(run_id: int, **kw: Any) -> Any:
            run = check(run_id, **kw)
            if not pruned_meanwhile:  # a run recorded elsewhere prunes `old` right after the check
                pruned_meanwhile.append(record_run(FindingsService(other, runs_kept=1), ROOT, TEN[:5]).id)
            return run

        reader._runs.run_with_findings = check_then_prune  # type: ignore[method-assign]
        assert len(reader.run_findings(old)) == 10  # the snapshot before the pruning
        assert pruned_meanwhile and FindingsService(other).get_run(old).pruned
        with pytest.raises(RunPruned):
            reader.run_findings(old)  # asked again, after it: refused, never partial
    finally:
        other.close()


def test_the_summary_trend_marks_pruned_runs_and_counts_no_severity_for_them(store: Store) -> None:
    service = FindingsService(store, runs_kept=1)
    old = record_run(service, ROOT, TEN).id
    record_run(service, ROOT, TEN[:5])  # findings 5-9 stay last seen in `old`: 5 of its rows remain
    newest = record_run(service, ROOT, TEN[:5]).id
    trend = {p.run_id: p for p in service.summary(root=ROOT, recent=10).trend}
    assert trend[old].pruned and trend[old].by_severity == {} and trend[old].findings_total == 10
    assert not trend[newest].pruned and sum(trend[newest].by_severity.values()) == 5
