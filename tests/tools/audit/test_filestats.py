"""Stat-first re-audits: what the stat vouches for, the racy rule, and the cases that must re-read."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from secaudit.tools.audit import AuditService
from secaudit.tools.audit.filestats import RACY_WINDOW_NS, FileStats
from secaudit.tools.findings import FindingsService, RunStatus
from secaudit.tools.masking import Redactor, get_redactor, install_redactor
from secaudit.tools.scanners import bandit_scanner, interface
from secaudit.tools.scanners.bandit_scanner import BanditScanner, end_idle_workers
from secaudit.tools.scanners.secrets_scanner import SecretsScanner
from secaudit.tools.store import Store
from secaudit.tools.walker import FileRef, walk
from tests.support.semgrep import FIXTURE_RULES, require_semgrep

# Later than any file the test writes: every row of a run is old enough for the racy rule.
_LATER = 60 * 1_000_000_000

BAD = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
GOOD = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=None)\n"
assert len(BAD) == len(GOOD)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "bad.py").write_text(BAD)
    (root / "pkg" / "clean.py").write_text("def f():\n    return 1\n")
    (root / "pkg" / "other.py").write_text("X = 2\n")
    return root


def _service(store: Store, root: Path, offset_ns: int = _LATER) -> AuditService:
    return AuditService(
        store,
        FindingsService(store),
        allowed_roots=[root],
        max_file_bytes=1024 * 1024,
        max_files=1000,
        clock_ns=lambda: time.time_ns() + offset_ns,
    )


class _Hashes:
    """Counts the content hashes `digest_file` takes (each one is a file read and hashed)."""

    def __init__(self) -> None:
        self.count = 0

    def sha256(self, data: bytes = b"") -> Any:
        self.count += 1
        return hashlib.sha256(data)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> _Hashes:
    spy = _Hashes()
    monkeypatch.setattr(interface, "hashlib", spy)
    return spy


def _ref(root: Path, rel: str) -> FileRef:
    (ref,) = [f for f in walk(root, max_files=100, max_file_bytes=1 << 20).files if f.rel == rel]
    return ref


def _statuses(service: AuditService, run_id: int) -> dict[tuple[str, str], str]:
    return {(r.path, r.rule_id): r.lifecycle for r in service.findings.run_findings(run_id)}


# -- FileStats: the rule itself ---------------------------------------------------------------------


def test_a_matching_stat_vouches_only_outside_the_racy_window(store: Store, repo: Path) -> None:
    ref = _ref(repo, "pkg/bad.py")
    newest = max(ref.mtime_ns, ref.ctime_ns)
    racy = FileStats(store, str(repo), started_ns=newest + RACY_WINDOW_NS - 1)
    racy.learn(ref, "d1")
    racy.flush()
    # Hashed less than the window after the file's last change: the same stat may hide a later write.
    assert FileStats(store, str(repo)).known(ref) is None
    settled = FileStats(store, str(repo), started_ns=newest + RACY_WINDOW_NS)
    settled.learn(ref, "d2")
    settled.flush()
    assert FileStats(store, str(repo)).known(ref) == "d2"
    # Any stat field that moved: the content is hashed again.
    for change in ({"size": ref.size + 1}, {"mtime_ns": ref.mtime_ns + 1}, {"ctime_ns": ref.ctime_ns + 1},
                   {"ino": ref.ino + 1}, {"dev": ref.dev + 1}):  # fmt: skip
        moved = FileRef(**{**vars(ref), **change})
        assert FileStats(store, str(repo)).known(moved) is None, change
    # Another root, no stat (a FileRef built by hand), or a run that does not trust the rows.
    assert FileStats(store, str(repo / "pkg")).known(ref) is None
    assert FileStats(store, str(repo)).known(FileRef(ref.path, ref.rel, ref.size, ref.mode)) is None
    assert FileStats(store, str(repo), trust=False).known(ref) is None


def test_a_time_in_the_future_is_never_trusted(store: Store, repo: Path) -> None:
    ref = _ref(repo, "pkg/bad.py")
    future = ref.mtime_ns + 3600 * 1_000_000_000
    os.utime(ref.path, ns=(future, future))
    ref = _ref(repo, "pkg/bad.py")
    stats = FileStats(store, str(repo))  # now: before the file's mtime
    stats.learn(ref, "d")
    stats.flush()
    assert FileStats(store, str(repo)).known(ref) is None


def test_read_vouched_refuses_a_file_changed_since_the_walk(repo: Path) -> None:
    ref = _ref(repo, "pkg/bad.py")
    assert interface.read_vouched(ref, ref.size) == BAD.encode()
    (repo / "pkg" / "bad.py").write_text(GOOD)
    assert interface.read_vouched(ref, ref.size) is None


# -- the engine ------------------------------------------------------------------------------------


def test_a_reaudit_with_nothing_changed_reads_no_file_but_quotes_its_findings(
    store: Store, repo: Path, hashes: _Hashes
) -> None:
    service = _service(store, repo)
    cold = service.run(str(repo), scanners=["bandit"])
    assert hashes.count == 3 and cold.findings_total >= 1
    hashes.count = 0
    warm = service.run(str(repo), scanners=["bandit"])
    assert hashes.count == 0  # every stat vouched for its hash
    assert warm.status is RunStatus.SUCCEEDED and warm.files_cached == 3
    before = {r.fingerprint: (r.snippet, r.start_line) for r in service.findings.run_findings(cold.id)}
    after = {r.fingerprint: (r.snippet, r.start_line) for r in service.findings.run_findings(warm.id)}
    assert after == before and any(snippet for snippet, _ in after.values())
    assert set(_statuses(service, warm.id).values()) == {"open"}


def test_a_same_size_edit_with_its_mtime_put_back_is_seen_through_ctime(
    store: Store, repo: Path, hashes: _Hashes
) -> None:
    service = _service(store, repo)
    cold = service.run(str(repo), scanners=["bandit"])
    assert ("pkg/bad.py", "B602") in _statuses(service, cold.id)
    target = repo / "pkg" / "bad.py"
    before = target.stat()
    target.write_text(GOOD)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    hashes.count = 0
    warm = service.run(str(repo), scanners=["bandit"])
    assert hashes.count == 1  # only the edited file was read
    assert ("pkg/bad.py", "B602") not in _statuses(service, warm.id)
    assert warm.findings_fixed >= 1


def test_a_racily_clean_file_is_hashed_again(store: Store, repo: Path, hashes: _Hashes) -> None:
    # The real clock: the files were written just now, inside the racy window of the first audit.
    service = _service(store, repo, offset_ns=0)
    service.run(str(repo), scanners=["bandit"])
    hashes.count = 0
    service.run(str(repo), scanners=["bandit"])
    assert hashes.count == 3


def test_a_replaced_file_same_size_is_read_again(store: Store, repo: Path, hashes: _Hashes) -> None:
    service = _service(store, repo)
    service.run(str(repo), scanners=["bandit"])
    target = repo / "pkg" / "bad.py"
    before = target.stat()
    fresh = repo / "pkg" / ".bad.py.new"
    fresh.write_text(GOOD)
    os.utime(fresh, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(fresh, target)  # an atomic save: another inode
    assert target.stat().st_ino != before.st_ino
    hashes.count = 0
    warm = service.run(str(repo), scanners=["bandit"])
    assert hashes.count == 1
    assert ("pkg/bad.py", "B602") not in _statuses(service, warm.id)


def test_deleted_and_renamed_files(store: Store, repo: Path, hashes: _Hashes) -> None:
    service = _service(store, repo)
    service.run(str(repo), scanners=["bandit"])
    (repo / "pkg" / "bad.py").rename(repo / "pkg" / "moved.py")
    (repo / "pkg" / "other.py").unlink()
    hashes.count = 0
    warm = service.run(str(repo), scanners=["bandit"])
    assert hashes.count == 1  # the renamed file: its new path has no row
    statuses = _statuses(service, warm.id)
    assert statuses == {("pkg/moved.py", "B602"): "new", ("pkg/moved.py", "B404"): "new"}
    assert warm.findings_fixed == 2  # the same findings at the old path: gone
    rows = {str(r[0]) for r in store.query("SELECT rel FROM audit_file_stats WHERE root = ?", (str(repo),))}
    assert rows == {"pkg/moved.py", "pkg/clean.py"}


def test_a_new_scanner_version_or_no_cache_rescans(
    store: Store, repo: Path, hashes: _Hashes, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _service(store, repo)
    cold = service.run(str(repo), scanners=["bandit"])
    version = BanditScanner.version
    monkeypatch.setattr(BanditScanner, "version", lambda self: version(self) + "+next")
    bumped = service.run(str(repo), scanners=["bandit"])
    assert bumped.files_cached == 0 and bumped.files_scanned == 3
    assert _statuses(service, bumped.id) == {k: "open" for k in _statuses(service, cold.id)}
    hashes.count = 0
    nocache = service.run(str(repo), scanners=["bandit"], use_cache=False)
    assert hashes.count == 3 and nocache.files_cached == 0
    assert _statuses(service, nocache.id) == {k: "open" for k in _statuses(service, cold.id)}


def test_a_walk_limited_to_paths_keeps_the_other_rows(store: Store, repo: Path) -> None:
    service = _service(store, repo)
    service.run(str(repo), scanners=["bandit"])
    service.run(str(repo), scanners=["bandit"], paths=["pkg/clean.py"])
    rows = store.query("SELECT count(*) FROM audit_file_stats WHERE root = ?", (str(repo),))
    assert rows[0][0] == 3


def test_secrets_scanner_uses_the_stat_first_hash(store: Store, repo: Path, hashes: _Hashes) -> None:
    (repo / "settings.py").write_text('AWS_SECRET = "AKIAIOSFODNN7EXAMPLQ"\n')
    service = _service(store, repo)
    cold = service.run(str(repo), scanners=["secrets"])
    first = hashes.count
    assert first >= 4
    hashes.count = 0
    warm = service.run(str(repo), scanners=["secrets"])
    assert hashes.count == 0
    assert warm.findings_total == cold.findings_total and warm.files_cached == cold.files_scanned


# -- what a long-lived process keeps between audits -------------------------------------------------


def test_a_reaudit_after_one_edit_reuses_the_kept_worker(
    store: Store, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    end_idle_workers()
    spawned: list[int] = []
    spawn = bandit_scanner._start_worker  # every worker start, by a scan or ahead of it (prepare)

    def counting() -> Any:
        proc = spawn()
        spawned.append(proc.pid)
        return proc

    monkeypatch.setattr(bandit_scanner, "_start_worker", counting)
    service = _service(store, repo)
    service.run(str(repo), scanners=["bandit"])
    assert len(spawned) == 1
    (repo / "pkg" / "clean.py").write_text("import pickle\n\n\ndef f(b):\n    return pickle.loads(b)\n")
    warm = service.run(str(repo), scanners=["bandit"])
    assert len(spawned) == 1  # the worker kept from the first scan did the second
    assert ("pkg/clean.py", "B301") in _statuses(service, warm.id)
    end_idle_workers()


def test_findings_kept_for_the_process_follow_the_redactor(store: Store, repo: Path) -> None:
    service = _service(store, repo)
    service.run(str(repo), scanners=["bandit"])
    service.run(str(repo), scanners=["bandit"])  # builds from the cache, and keeps what it built
    previous = get_redactor()
    try:
        install_redactor(Redactor(["cmd, shell=True"]), handlers=[])
        run = service.run(str(repo), scanners=["bandit"])
    finally:
        install_redactor(previous, handlers=[])
    (b602,) = [r for r in service.findings.run_findings(run.id) if r.rule_id == "B602"]
    assert b602.snippet is not None and "cmd, shell=True" not in b602.snippet


def test_semgrep_reads_only_the_vouched_files_it_quotes(
    store: Store, tmp_path: Path, hashes: _Hashes
) -> None:
    semgrep = require_semgrep()
    repo = tmp_path / "js"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "handler.ts").write_text(
        "export const h = (req: any) => {\n  return eval(req.body.code);\n};\n"
    )
    (repo / "src" / "plain.ts").write_text("export const one = 1;\n")
    service = AuditService(
        store,
        FindingsService(store),
        allowed_roots=[repo],
        max_file_bytes=1024 * 1024,
        max_files=1000,
        scanner_options={"semgrep": {"executable": semgrep, "user_rules": FIXTURE_RULES}},
        clock_ns=lambda: time.time_ns() + _LATER,
    )
    cold = service.run(str(repo), scanners=["semgrep"])
    assert hashes.count == 2 and cold.status is RunStatus.SUCCEEDED
    hashes.count = 0
    warm = service.run(str(repo), scanners=["semgrep"])
    assert hashes.count == 0 and warm.files_cached == 2
    found = [(r.path, r.start_line, r.snippet) for r in service.findings.run_findings(warm.id)]
    # The finding quotes its line: the vouched file was read for it (after its fstat was checked).
    assert any(p == "src/handler.ts" and line == 2 and s and "eval" in s for p, line, s in found)


def test_a_small_scan_starts_its_bandit_worker_ahead_and_keeps_the_scanners_order(
    store: Store, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    end_idle_workers()
    spawned: list[int] = []
    spawn = bandit_scanner._start_worker
    ran: list[str] = []

    def counting() -> Any:
        proc = spawn()
        spawned.append(proc.pid)
        ran.append("bandit worker started")
        return proc

    monkeypatch.setattr(bandit_scanner, "_start_worker", counting)
    secrets_scan = SecretsScanner.scan

    def secrets(self: Any, ctx: Any, files: Any) -> Any:
        ran.append("secrets")
        return secrets_scan(self, ctx, files)

    monkeypatch.setattr(SecretsScanner, "scan", secrets)
    service = _service(store, repo)
    run = service.run(str(repo), scanners=["bandit", "secrets"], paths=["pkg/bad.py"])
    # Started before the first scan (prepare), taken by bandit's scan, which ran after secrets.
    assert ran == ["bandit worker started", "secrets"] and len(spawned) == 1
    assert [c.scanner for c in run.coverage] == ["bandit", "secrets"]
    assert run.status is RunStatus.SUCCEEDED and ("pkg/bad.py", "B602") in _statuses(service, run.id)
    again = service.run(str(repo), scanners=["bandit", "secrets"], paths=["pkg/bad.py"])
    assert len(spawned) == 1 and again.files_cached >= 1  # answered by the cache: nothing started ahead
    end_idle_workers()
