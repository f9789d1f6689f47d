"""The audit engine and the bandit scanner: parity with bandit, cache, fingerprints, lifecycle, bad input."""

from __future__ import annotations

import gc
import os
import stat
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from secaudit.server.context import AppContext
from secaudit.tools.errors import InvalidInput, PathNotAllowed
from secaudit.tools.findings import FindingRecord, RunStatus
from secaudit.tools.scanners import CancelToken
from secaudit.tools.scanners.bandit_scanner import end_idle_workers
from tests.support.audit import bandit_reference


def _all(app: AppContext, run_id: int) -> list[FindingRecord]:
    assert app.findings is not None
    return app.findings.run_findings(run_id)


def _keys(records: list[FindingRecord]) -> Counter[tuple[str, str, int]]:
    return Counter((r.path, r.rule_id, int(r.start_line or 0)) for r in records)


def _audit(app: AppContext, root: Path, **kw: object):  # type: ignore[no-untyped-def]
    assert app.audit is not None
    return app.audit.run(str(root), scanners=["bandit"], **kw)  # type: ignore[arg-type]


def test_parity_with_bandit_cold_and_from_cache(audit_app: AppContext, audit_root: Path) -> None:
    everything = bandit_reference(audit_root, ignore_nosec=True)
    unsuppressed = bandit_reference(audit_root, ignore_nosec=False)
    assert len(everything) > 60 and everything != unsuppressed  # the fixture exercises nosec

    cold = _audit(audit_app, audit_root)
    assert cold.status is RunStatus.SUCCEEDED
    assert cold.files_cached == 0
    records = _all(audit_app, cold.id)
    assert _keys(records) == everything
    assert _keys([r for r in records if not r.suppressed_in_code]) == unsuppressed
    # The repository's .bandit / pyproject / setup.cfg asked to skip B101, B602, B307: ignored.
    assert {"B101", "B602", "B307"} <= {r.rule_id for r in records}

    warm = _audit(audit_app, audit_root)
    assert warm.files_cached == warm.files_scanned > 0
    again = _all(audit_app, warm.id)
    assert _keys(again) == everything
    volatile = {"run_id", "lifecycle", "status", "last_seen_run", "last_seen_at"}
    assert {r.id: r.model_dump(exclude=volatile) for r in again} == {
        r.id: r.model_dump(exclude=volatile) for r in records
    }
    assert all(r.lifecycle == "open" for r in again)


def test_no_cache_rescans_and_gives_the_same_findings(audit_app: AppContext, audit_root: Path) -> None:
    first = _audit(audit_app, audit_root)
    fresh = _audit(audit_app, audit_root, use_cache=False)
    assert fresh.files_cached == 0
    assert {r.fingerprint for r in _all(audit_app, first.id)} == {
        r.fingerprint for r in _all(audit_app, fresh.id)
    }


def test_fingerprints_survive_inserted_lines_and_triage_survives_rerun(
    audit_app: AppContext, audit_root: Path
) -> None:
    assert audit_app.findings is not None
    first = _audit(audit_app, audit_root)
    before = {r.fingerprint: r for r in _all(audit_app, first.id) if r.path == "pkg/patterns.py"}
    target = next(r for r in before.values() if r.rule_id == "B602" and r.severity.value == "high")
    audit_app.findings.triage(target.id, "accepted_risk", "input is a constant in production")

    path = audit_root / "pkg" / "patterns.py"
    path.write_text('"""Docstring added."""\n\n# a comment\n\n\n' + path.read_text())
    second = _audit(audit_app, audit_root)
    after = {r.fingerprint: r for r in _all(audit_app, second.id) if r.path == "pkg/patterns.py"}
    assert set(after) == set(before)
    moved = after[target.fingerprint]
    assert moved.id == target.id and moved.start_line == (target.start_line or 0) + 5
    assert moved.status == "accepted_risk" and moved.triage is not None
    assert moved.triage.reason == "input is a constant in production"
    assert second.findings_new == 0 and second.findings_fixed == 0
    # The changed file was rescanned, the others came from the cache.
    assert second.files_cached == second.files_scanned - 1


def test_lifecycle_new_open_fixed_and_reopened(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.findings is not None
    first = _audit(audit_app, audit_root)
    path = audit_root / "pkg" / "twice.py"
    original = path.read_text()
    path.write_text(original.replace("    eval(user_input)\n", ""))
    second = _audit(audit_app, audit_root)
    assert second.findings_fixed == 1 and second.findings_new == 0
    fixed = audit_app.findings.list_findings(statuses=["fixed"]).items
    assert [(f.path, f.rule_id) for f in fixed] == [("pkg/twice.py", "B307")]
    cmp = audit_app.findings.compare_runs(first.id, second.id)
    assert cmp.fixed_count == 1 and cmp.new_count == 0 and cmp.fixed[0].id == fixed[0].id

    path.write_text(original)
    third = _audit(audit_app, audit_root)
    assert third.findings_fixed == 0
    record = audit_app.findings.get_finding(fixed[0].id)
    assert record.fixed_at is None and record.status == "open"

    summary = audit_app.findings.summary(root=str(audit_root))
    assert summary.fixed_total == 0 and summary.open_total > 0 and len(summary.trend) == 3


def test_a_file_that_cannot_be_scanned_is_never_marked_fixed(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.findings is not None
    first = _audit(audit_app, audit_root)
    n_before = sum(1 for r in _all(audit_app, first.id) if r.path == "pkg/twice.py")
    (audit_root / "pkg" / "twice.py").write_text((audit_root / "pkg" / "twice.py").read_text() + "\ndef (:\n")
    second = _audit(audit_app, audit_root)
    assert second.findings_fixed == 0
    assert any(s.path == "pkg/twice.py" and "syntax" in s.reason for s in second.skips)
    assert n_before > 0
    assert not audit_app.findings.list_findings(statuses=["fixed"]).items


def test_gitignore_and_default_excludes(audit_app: AppContext, audit_root: Path) -> None:
    (audit_root / ".gitignore").write_text("ignored_dir/\n*.gen.py\n!keep.gen.py\n")
    for rel in (
        "ignored_dir/a.py",
        "x.gen.py",
        "keep.gen.py",
        "node_modules/m.py",
        ".venv/v.py",
        "sub/.git/g.py",
    ):
        p = audit_root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("eval(input())\n")
    (audit_root / "sub" / ".gitignore").write_text("local.py\n")
    (audit_root / "sub" / "local.py").write_text("eval(input())\n")
    (audit_root / "sub" / "kept.py").write_text("eval(input())\n")
    run = _audit(audit_app, audit_root)
    paths = {r.path for r in _all(audit_app, run.id)}
    assert {"keep.gen.py", "sub/kept.py"} <= paths
    assert not paths & {"ignored_dir/a.py", "x.gen.py", "node_modules/m.py", ".venv/v.py", "sub/local.py"}
    assert any(".gitignore" in n for n in run.notes)


def test_paths_restriction(audit_app: AppContext, audit_root: Path) -> None:
    run = _audit(audit_app, audit_root, paths=["pkg/patterns.py"])
    assert {r.path for r in _all(audit_app, run.id)} == {"pkg/patterns.py"}
    with pytest.raises(InvalidInput):
        _audit(audit_app, audit_root, paths=["../outside"])
    with pytest.raises(InvalidInput) as err:
        _audit(audit_app, audit_root, paths=[str(audit_root / "pkg" / "patterns.py")])
    assert "is absolute" in str(err.value) and str(audit_root) not in str(err.value)


def test_paths_that_match_no_file_make_the_run_partial(audit_app: AppContext, audit_root: Path) -> None:
    # A folder prefix, a glob and a file all match: a complete run.
    whole = _audit(audit_app, audit_root, paths=["pkg", "**/patterns.py", "pkg/patterns.py"])
    assert whole.status is RunStatus.SUCCEEDED and not any("matched no file" in n for n in whole.notes)
    # An entry relative to the wrong folder, or naming nothing, was not checked: never a clean run.
    run = _audit(audit_app, audit_root, paths=["pkg/patterns.py", "nomatch/*.py", "repo/pkg"])
    assert run.status is RunStatus.PARTIAL
    assert [(s.path, s.reason) for s in run.skips[:2]] == [
        ("nomatch/*.py", "a `paths` entry that matched no file"),
        ("repo/pkg", "a `paths` entry that matched no file"),
    ]
    assert any("2 of the 3 `paths` entries matched no file" in n for n in run.notes)
    assert {r.path for r in _all(audit_app, run.id)} == {"pkg/patterns.py"}
    # The coverage note (security_summary, next steps) says why the run is partial.
    from secaudit.tools.findings.coverage import run_coverage_note

    note = run_coverage_note(run)
    assert note is not None and "`paths` entries matched no file" in note and "nomatch/*.py" in note
    # A file .gitignore leaves out is left out by design: a note, not a partial run.
    (audit_root / ".gitignore").write_text("pkg/patterns.py\n")
    ignored = _audit(audit_app, audit_root, paths=["pkg/patterns.py"])
    assert ignored.status is RunStatus.SUCCEEDED and not ignored.skips
    assert any(
        "1 `paths` entries name only files .gitignore" in n and "pkg/patterns.py" in n for n in ignored.notes
    )


def test_bad_roots_are_clear_errors(audit_app: AppContext, audit_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    with pytest.raises(PathNotAllowed):
        _audit(audit_app, outside)
    link = audit_root / "link-out"
    link.symlink_to(outside)
    with pytest.raises(PathNotAllowed):
        _audit(audit_app, link)
    with pytest.raises(InvalidInput, match="does not exist"):
        _audit(audit_app, audit_root / "missing")
    with pytest.raises(InvalidInput, match="not a folder"):
        _audit(audit_app, audit_root / "pkg" / "patterns.py")
    with pytest.raises(InvalidInput):
        _audit(audit_app, str(audit_root) + "\x00")  # type: ignore[arg-type]


def test_hostile_files_become_per_file_skips(audit_app: AppContext, audit_root: Path, tmp_path: Path) -> None:
    bad = audit_root / "bad"
    bad.mkdir()
    (bad / "nul.py").write_bytes(b"x = 1\x00\neval(input())\n")
    (bad / "latin1.py").write_bytes(b"s = '\xff\xfe caf\xe9'\neval(input())\n")
    (bad / "deep.py").write_text("x = " + "(" * 10_000 + ")" * 10_000 + "\n")
    (bad / "deep_expr.py").write_text("x = " + "-" * 10_000 + "1\n")
    (bad / "huge.py").write_bytes(b"# " + b"a" * (3 * 1024 * 1024) + b"\n")
    (bad / "locked.py").write_text("eval(input())\n")
    (bad / "locked.py").chmod(0)
    os.mkfifo(bad / "pipe.py")
    (bad / "loop_a.py").symlink_to(bad / "loop_b.py")
    (bad / "loop_b.py").symlink_to(bad / "loop_a.py")
    (bad / "out.py").symlink_to(tmp_path / "outside.py")
    (tmp_path / "outside.py").write_text("eval(input())\n")
    (bad / "dirloop").symlink_to(bad)
    try:
        run = _audit(audit_app, audit_root)
    finally:
        (bad / "locked.py").chmod(stat.S_IRUSR | stat.S_IWUSR)
    # Python source bandit could not parse was not checked: the run says so (hardening item 21).
    assert run.status is RunStatus.PARTIAL
    assert any(n.startswith("bandit:") and "could not be checked" in n for n in run.notes), run.notes
    reasons = {s.path: s.reason for s in run.skips}
    assert "NUL" in reasons["bad/nul.py"]
    assert "parse" in reasons["bad/latin1.py"]
    assert "parse" in reasons["bad/deep.py"] and "parse" in reasons["bad/deep_expr.py"]
    assert "byte limit" in reasons["bad/huge.py"]
    assert "FIFO" in reasons["bad/pipe.py"]
    for link in ("bad/loop_a.py", "bad/loop_b.py", "bad/out.py", "bad/dirloop"):
        assert "symbolic link" in reasons[link]
    if os.geteuid() != 0:  # root reads anything
        assert "cannot read" in reasons["bad/locked.py"]
    paths = {r.path for r in _all(audit_app, run.id)}
    assert "bad/out.py" not in paths and "pkg/patterns.py" in paths
    # Skips are remembered by the cache as well: the second run says the same.
    again = _audit(audit_app, audit_root)
    assert {s.path for s in again.skips} >= {"bad/nul.py", "bad/deep.py", "bad/pipe.py"}


def test_file_cap_makes_the_run_partial(audit_settings, tmp_path: Path, audit_root: Path) -> None:  # type: ignore[no-untyped-def]
    from secaudit.server.context import build_context
    from secaudit.server.settings import load_settings

    settings = load_settings(
        environ={}, store_path=tmp_path / "cap.db", allowed_roots=(audit_root,), max_files=3
    )
    app = build_context(settings)
    try:
        run = _audit(app, audit_root)
        assert run.status is RunStatus.PARTIAL and run.files_total == 3
        assert any("file limit" in n for n in run.notes)
    finally:
        app.close()


def _worker_pids() -> set[int]:
    """Bandit workers that are children of this test process (other processes on the machine,
    such as a parallel test run, may have workers of their own)."""
    pids = set()
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Field 4 of /proc/PID/stat, after the parenthesised command name, is the parent pid.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if b"bandit_worker.py" in cmd and ppid == me:
                pids.add(int(entry.name))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_cancellation_stops_workers_and_records_cancelled(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.audit is not None and audit_app.findings is not None
    for i in range(300):
        (audit_root / "pkg" / f"gen_{i}.py").write_text("import os\n" * 200 + "eval(input())\n" * 50)
    token = CancelToken()
    seen_workers: set[int] = set()
    end_idle_workers()  # workers kept by earlier tests' scans would be reused, their pids "before"

    def progress(done: int, total: int, message: str) -> None:
        if done >= 5 and not token.is_cancelled():
            seen_workers.update(_worker_pids())
            token.cancel()

    before = _worker_pids()
    run = audit_app.audit.run(str(audit_root), scanners=["bandit"], cancel=token, progress=progress)
    assert run.status is RunStatus.CANCELLED
    assert seen_workers - before, "workers were running when cancelled"
    assert not (_worker_pids() - before), "no bandit worker outlives the cancelled run"
    assert run.findings_fixed == 0
    assert any("not scanned" in s.reason and "cancelled" in s.reason for s in run.skips)


def test_progress_reports_every_file(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.audit is not None
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def progress(done: int, total: int, message: str) -> None:
        with lock:
            seen.append((done, total))

    run = audit_app.audit.run(str(audit_root), scanners=["bandit"], progress=progress)
    assert seen and seen[-1][0] == seen[-1][1] == run.coverage[0].selected
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_the_collector_is_paused_during_a_run_and_restored_after(
    audit_app: AppContext, audit_root: Path
) -> None:
    # tools/gcpause.py: a run's objects all live until it ends, so the cyclic collector waits.
    assert audit_app.audit is not None
    during: list[bool] = []
    was = gc.isenabled()
    gc.enable()
    try:
        audit_app.audit.run(
            str(audit_root), scanners=["bandit"], progress=lambda *_: during.append(gc.isenabled())
        )
        assert during and not any(during)
        assert gc.isenabled()
        with pytest.raises(InvalidInput):  # a run refused before it starts leaves it as it was too
            audit_app.audit.run(str(audit_root), scanners=["no-such-scanner"])
        assert gc.isenabled()
    finally:
        if not was:
            gc.disable()


def test_a_re_audit_reuses_the_findings_the_cold_audit_built_in_this_process(
    audit_app: AppContext, audit_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cold scan keeps what it built per cache key, as a re-audit does for what it builds from
    # the cache: the first re-audit after a cold one builds nothing again (~70 ms on Django).
    from secaudit.tools.scanners import bandit_scanner

    monkeypatch.setattr(bandit_scanner, "_BUILT", bandit_scanner._Built())  # nothing from other tests
    cold = _audit(audit_app, audit_root, use_cache=False)
    built: list[str] = []
    real = bandit_scanner.findings_from_result
    monkeypatch.setattr(
        bandit_scanner,
        "findings_from_result",
        lambda rel, content, issues: (issues and built.append(rel)) or real(rel, content, issues),
    )
    warm = _audit(audit_app, audit_root)
    assert warm.files_cached == warm.files_scanned > 0
    assert built == []
    assert _keys(_all(audit_app, warm.id)) == _keys(_all(audit_app, cold.id))


def test_interrupted_runs_are_marked_failed(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.findings is not None
    run_id = audit_app.findings.start_run(str(audit_root), kind="audit", scanners=["bandit"])
    audit_app.store.conn.execute("UPDATE audit_runs SET pid = 999999999 WHERE id = ?", (run_id,))
    assert audit_app.findings.mark_interrupted() == 1
    assert audit_app.findings.get_run(run_id).status is RunStatus.FAILED


def test_item7a_a_tree_deeper_than_the_os_allows_is_audited_and_partial(tmp_path: Path) -> None:
    # Issue 11 item 7a: every audit of a tree nesting past PATH_MAX failed with "internal error",
    # auditing nothing. Now every scanner runs, what fits is audited, the entry out of reach is a
    # skip naming ENAMETOOLONG, and the run is partial (it did not see everything).
    from secaudit.server.context import build_context
    from tests.support.audit import make_deep_tree, make_settings

    root = tmp_path / "repo"
    root.mkdir()
    (root / "top.py").write_text("eval(input())\n")
    _edge, fits, deep = make_deep_tree(root)
    app = build_context(make_settings(tmp_path, root))
    try:
        assert app.audit is not None
        run = app.audit.run(str(root))
        assert run.status is RunStatus.PARTIAL, run.notes
        assert all(c.error is None for c in run.coverage), run.coverage
        found = {(r.path, r.rule_id) for r in _all(app, run.id)}
        assert {("top.py", "B307"), (fits, "B307")} <= found
        [skip] = [s for s in run.skips if s.scanner == "walker"]
        assert deep.startswith(skip.path + "/") and "ENAMETOOLONG" in skip.reason
        assert any("could not examine 1 entries" in n for n in run.notes)
    finally:
        app.close()


def test_item12_a_run_can_include_test_paths(tmp_path: Path) -> None:
    # Issue 11 item 12: a per-run switch. By default keyword guesses under tests/ are dismissed and
    # listed per file in the run's notes; with the switch on the same run reports them. The
    # configured options (the store's secrets key) stay under the override.
    from secaudit.server.context import build_context
    from secaudit.tools.audit import test_path_options
    from secaudit.tools.scanners.builtin import get_scanner
    from secaudit.tools.scanners.interface import ScannerOptionsError
    from secaudit.tools.scanners.secrets_scanner import SecretsOptions
    from tests.support.audit import make_settings
    from tests.tools.scanners.test_secrets_scanner import POSITIVES

    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    template, value = POSITIVES["secrets.keyword"]
    (root / "tests" / "test_login.py").write_text(template.format(v=value))
    app = build_context(make_settings(tmp_path, root))
    try:
        audit = app.audit
        assert audit is not None
        default = audit.run(str(root), scanners=["secrets"])
        assert _all(app, default.id) == []
        assert any(
            "test-path dismissals per file" in n and "tests/test_login.py=" in n for n in default.notes
        )
        included = audit.run(str(root), scanners=["secrets"], scanner_options=test_path_options(True))
        assert [(r.path, r.rule_id) for r in _all(app, included.id)] == [
            ("tests/test_login.py", "secrets.keyword")
        ]
        merged = audit.options_for(get_scanner("secrets"), test_path_options(True))
        configured = audit.scanner_options["secrets"]
        assert isinstance(merged, SecretsOptions) and isinstance(configured, SecretsOptions)
        assert merged.include_tests and merged.secret_key == configured.secret_key is not None
        with pytest.raises(ScannerOptionsError, match="unknown option 'nope'"):
            audit.run(str(root), scanners=["secrets"], scanner_options={"secrets": {"nope": True}})
        with pytest.raises(InvalidInput, match="unknown scanner 'nosuch'"):
            audit.run(str(root), scanner_options={"nosuch": {}})
    finally:
        app.close()
