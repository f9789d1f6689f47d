"""Crash safety and concurrency of fixes: SIGKILL during applies, racing applies, the Redis lock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from secaudit.tools.errors import Conflict
from secaudit.tools.fixes.model import FixStatus
from secaudit.tools.locks import RedisLocker
from tests.support import REPO_ROOT
from tests.support.fixes import finding, make_service, temp_files
from tests.support.fixes_child import FILES, TARGET, A, AlwaysGone, B, toggle


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.fixes_child", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError("the child did not answer in time")
    return proc.stdout.readline().strip()


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "a").mkdir(parents=True)
    for rel in FILES:
        (root / rel).write_bytes(A)
    return root


def test_sigkill_at_random_points_leaves_old_or_new_and_recovers(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    rounds = 12
    for _ in range(rounds):
        proc = _spawn("loop", str(tmp_path), str(root))
        try:
            assert _read_line(proc, 60) == "ready"
            # A random point in the apply loop: the delay picks where the kill lands, it waits for nothing.
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        for rel in FILES:
            assert (root / rel).read_bytes() in (A, B)  # never torn, never empty

    svc = make_service(tmp_path, [root], verifier=AlwaysGone(), generator_lookup=lambda _f: toggle)
    svc.recover()
    assert temp_files(root) == []
    fixes = []
    cursor = None
    while True:
        page = svc.list(limit=200, cursor=cursor)
        fixes.extend(page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert fixes, "the child never got to apply anything"
    print({s: sum(f.status == s for f in fixes) for s in FixStatus})
    assert all(f.status in (FixStatus.VERIFIED, FixStatus.FAILED) for f in fixes), {f.status for f in fixes}
    # The newest verified fix is what the files hold: every later one was interrupted and undone.
    current = {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in FILES}
    verified = [f for f in fixes if f.status == FixStatus.VERIFIED]
    if verified:
        newest = verified[0]
        assert {f.path: f.after_sha256 for f in newest.files} == current
        # Files on disk agree with each other: both toggled together or neither (all or nothing).
    assert len({(root / rel).read_bytes()[:11] for rel in FILES}) == 1
    # And the service keeps working after the crashes.
    fix = svc.apply(plan_id=svc.plan(TARGET, root).plan_id, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.VERIFIED


def test_two_threads_apply_one_plan_one_wins(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "web.py").write_bytes(b"app.run(debug=True)\n")
    svc = make_service(tmp_path, [root])
    plan = svc.plan(finding("bandit", "B201", "web.py", 1), root)
    other = svc.plan(finding("bandit", "B201", "web.py", 1), root)  # same change, second plan
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(plan_id: str) -> None:
        barrier.wait(timeout=30)
        try:
            svc.apply(plan_id=plan_id, dry_run=False)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(p,)) for p in (plan.plan_id, other.plan_id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert (root / "web.py").read_bytes() == b"app.run(debug=False)\n"
    assert [f.status for f in svc.list().items] == [FixStatus.APPLIED]


def test_two_processes_apply_one_plan_one_wins(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    svc = make_service(tmp_path, [root], verifier=AlwaysGone(), generator_lookup=lambda _f: toggle)
    plan = svc.plan(TARGET, root)
    go = tmp_path / "go"
    procs = [_spawn("apply", str(tmp_path), str(root), plan.plan_id, str(go)) for _ in range(2)]
    try:
        for p in procs:
            assert _read_line(p, 60) == "ready"
        go.touch()
        results = [json.loads(_read_line(p, 60)) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait(timeout=30)
    assert sorted(r["outcome"] for r in results) == ["conflict", "ok"]
    for rel in FILES:
        assert (root / rel).read_bytes() == B


def _redis_or_skip() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379 (allowed only when CI is unset)")
    return url


@pytest.mark.redis
def test_redis_locked_apply(tmp_path: Path) -> None:
    url = _redis_or_skip()
    root = tmp_path / "repo"
    root.mkdir()
    (root / "web.py").write_bytes(b"app.run(debug=True)\n")
    locker = RedisLocker(url, ttl_seconds=30)
    svc = make_service(tmp_path, [root], locker=locker, lock_timeout=0.3)
    plan = svc.plan(finding("bandit", "B201", "web.py", 1), root)
    keys = svc._keys(root, ["web.py"])
    # Another holder: the apply waits its bounded time, then gives up with nothing written.
    with RedisLocker(url, ttl_seconds=30).hold(keys, timeout=1):
        with pytest.raises(Conflict, match="Redis"):
            svc.apply(plan_id=plan.plan_id, dry_run=False)
        assert (root / "web.py").read_bytes() == b"app.run(debug=True)\n"
    fix = svc.apply(plan_id=plan.plan_id, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.APPLIED
    assert (root / "web.py").read_bytes() == b"app.run(debug=False)\n"
    assert locker.client.exists(f"secaudit:fixlock:{keys[0]}") == 0  # released


@pytest.mark.redis
def test_redis_lock_ownership_and_ttl(tmp_path: Path) -> None:
    url = _redis_or_skip()
    key = uuid.uuid4().hex
    name = f"secaudit:fixlock:{key}"
    locker = RedisLocker(url, ttl_seconds=0.2)
    with contextlib.ExitStack() as stack:
        ours = stack.enter_context(locker.hold([key], timeout=1))
        assert ours.still_held()
        deadline = time.monotonic() + 10
        while ours.still_held():  # the TTL runs out; poll with a bound
            assert time.monotonic() < deadline
            time.sleep(0.02)
        theirs_cm = RedisLocker(url, ttl_seconds=30).hold([key], timeout=1)
        theirs = theirs_cm.__enter__()
        stack.close()  # our release runs now: compare-and-delete must leave their lock alone
        assert theirs.still_held() and locker.client.exists(name) == 1
        theirs_cm.__exit__(None, None, None)
    assert locker.client.exists(name) == 0


def _fix_and_finding(tmp_path: Path, root: Path) -> tuple[str, str, str | None]:
    """(the fix id, its status, the fix id the findings store says fixed TARGET) after recovery."""
    from secaudit.tools.findings import FindingsService

    svc = make_service(tmp_path, [root], verifier=AlwaysGone(), generator_lookup=lambda _f: toggle)
    findings = FindingsService(svc.store)
    svc.on_reverted = findings.reopen_after_revert
    svc.recover()
    [fix] = svc.list().items
    row = svc.store.query("SELECT fixed_by_fix FROM findings WHERE fingerprint = ?", (TARGET.fingerprint,))
    return fix.fix_id, fix.status.value, row[0]["fixed_by_fix"]


def _run_killed(tmp_path: Path, root: Path, when: str) -> list[str]:
    proc = _spawn("hook-kill", str(tmp_path), str(root), when)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, err
    return out.splitlines()


def test_item4_kill_between_verified_and_finding_fixed_leaves_them_agreeing(tmp_path: Path) -> None:
    # Issue 11 item 4: the child SIGKILLs itself as the findings hook starts, after the fix was
    # re-scanned clean. The fix's status and the finding's mark are one transaction: neither landed,
    # so recovery restores the files and the fix is failed, the finding still open.
    root = _repo(tmp_path)
    assert _run_killed(tmp_path, root, "verify") == []
    _fix_id, status, fixed_by = _fix_and_finding(tmp_path, root)
    assert (status, fixed_by) == ("failed", None)
    assert all((root / rel).read_bytes() == A for rel in FILES)


def test_item4_kill_between_reverted_and_finding_reopened_leaves_them_agreeing(tmp_path: Path) -> None:
    # The same window the other way: killed as the revert's findings hook starts. Recovery
    # completes the revert and opens the finding again, in one transaction.
    root = _repo(tmp_path)
    [line] = _run_killed(tmp_path, root, "revert")
    applied = json.loads(line)
    assert applied["status"] == "verified"
    fix_id, status, fixed_by = _fix_and_finding(tmp_path, root)
    assert fix_id == applied["fix_id"]
    assert (status, fixed_by) == ("reverted", None)
    assert all((root / rel).read_bytes() == A for rel in FILES)
