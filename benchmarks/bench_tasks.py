"""Claim throughput on the shared tasks table.

10,000 tasks are claimed to exhaustion by 4 worker processes on one SQLite file. Each worker runs
the operator's loop: claim the next ready task, then mark it complete (`--mode claim-complete`, the
default), or only claim (`--mode claim-only`: leased tasks stay ready, so later claims must skip
every live lease). Prints claims per second, double claims, and the ratio to the target.

Target (issue #2): >= 1,000 claims/s on a 2-core machine, 0 double claims.

`--mode from-findings` (issue #14): a run of `--tasks` findings is filed as fix tasks
(`TaskBridge.file`, one task per finding, prompts redacted as the server does) into an operator's
database made with the contract schema, then a later run proves every finding fixed and the close
step completes every task. Prints the time per task of both, against the baseline of creating the
same number of plain tasks one by one (`TaskService.create`), and the claim latency (median and
p95 of `claim_next`) with no linked task and with every task linked: the link tables must not slow
the operator's claims (ratio ~1.0).

    python benchmarks/bench_tasks.py [--tasks 10000] [--workers 4] [--mode claim-complete]
    python benchmarks/bench_tasks.py --mode from-findings [--tasks 10000] [--claims 500]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from secaudit.tools.findings import Finding, FindingsService, RunCoverage, RunStatus, Severity, fingerprint
from secaudit.tools.masking import Redactor
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus
from secaudit.tools.tasks.bridge import FileRequest, TaskBridge

TARGET_CLAIMS_PER_SECOND = 1000.0
# The operator's claims may not get slower with every task linked (median, with / without links).
TARGET_CLAIM_LATENCY_RATIO = 1.5
CONTRACT = (
    "CREATE TABLE tasks(id INTEGER PRIMARY KEY AUTOINCREMENT, prompt TEXT NOT NULL, "
    "status INTEGER NOT NULL DEFAULT 0, createdat DATETIME DEFAULT CURRENT_TIMESTAMP, "
    'updatedat DATETIME DEFAULT CURRENT_TIMESTAMP, "order" INTEGER DEFAULT 0, uuid TEXT)',
    "CREATE INDEX idx_tasks_uuid ON tasks(uuid)",
)


def worker(db: str, name: str, mode: str, start: mp.Event, out: mp.Queue) -> None:  # type: ignore[type-arg]
    svc = TaskService(Store(Path(db)))
    start.wait(60)
    claimed: list[int] = []
    while True:
        task = svc.claim_next(name, lease_seconds=3600)
        if task is None:
            break
        claimed.append(task.id)
        if mode == "claim-complete":
            svc.set_status(task.id, TaskStatus.COMPLETE)
    out.put(claimed)


def _operator_db(path: Path) -> TaskService:
    conn = sqlite3.connect(path)
    for statement in CONTRACT:
        conn.execute(statement)
    conn.commit()
    conn.close()
    service = TaskService(Store(path), redact=Redactor(entropy=False).redact)
    service.ensure_schema()
    return service


def _run(findings: FindingsService, root: str, reported: list[Finding], paths: list[str]) -> int:
    run_id = findings.start_run(root, kind="audit", scanners=["bandit"])
    findings.finish_run(
        run_id,
        status=RunStatus.SUCCEEDED,
        findings=reported,
        coverage=[],
        skips=[],
        notes=[],
        run_coverage=RunCoverage(
            complete_scanners={"bandit"}, examined={"bandit": set(paths)}, seen_paths=set(paths)
        ),
        files_total=len(paths),
        files_scanned=len(paths),
        files_cached=0,
    )
    return run_id


def _claim_latencies(a: TaskService, b: TaskService, claims: int) -> tuple[list[float], list[float]]:
    """`claim_next` latencies (ms) on two queues, interleaved so both share the machine's noise; each
    claimed task is completed, as the operator does, so every claim searches the queue afresh."""
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(claims):
        for service, out in ((a, times[0]), (b, times[1])):
            t0 = time.perf_counter()
            task = service.claim_next(f"w{i % 4}", lease_seconds=600)
            out.append((time.perf_counter() - t0) * 1000)
            assert task is not None
            service.set_status(task.id, TaskStatus.COMPLETE)
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)]


def from_findings(tasks: int, claims: int) -> None:
    severities = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]
    with tempfile.TemporaryDirectory() as tmp:
        root = str(Path(tmp) / "repo")
        paths = [f"src/module_{i // 10:05}.py" for i in range(tasks)]
        reported = [
            Finding(
                scanner="bandit",
                rule_id="B602",
                severity=severities[i % 4],
                path=paths[i],
                start_line=i % 10 + 1,
                end_line=i % 10 + 1,
                title="subprocess call with shell=True identified, security issue.",
                message="subprocess call with shell=True identified, security issue. (bandit B602)",
                snippet=f"    subprocess.call(cmd_{i}, shell=True)",
                cwe=[78],
                references=["https://cwe.mitre.org/data/definitions/78.html"],
                fingerprint=fingerprint("bandit", "B602", paths[i], f"call {i}"),
            )
            for i in range(tasks)
        ]
        store = Store(Path(tmp) / "store.db")
        store.migrate(STORE_MIGRATIONS)
        findings = FindingsService(store)
        service = _operator_db(Path(tmp) / "operator.db")
        bridge = TaskBridge(service, findings, autoclose=False)
        first = _run(findings, root, reported, paths)
        t0 = time.perf_counter()
        report = bridge.file(
            FileRequest(run_id=first, min_severity=Severity.LOW, dry_run=False, plan_fixes=False)
        )
        file_seconds = time.perf_counter() - t0
        assert report.tasks_filed == tasks, report.tasks_filed
        t0 = time.perf_counter()
        again = bridge.file(
            FileRequest(run_id=first, min_severity=Severity.LOW, dry_run=False, plan_fixes=False)
        )
        refile_seconds = time.perf_counter() - t0
        assert again.tasks_filed == 0 and again.findings_existing == tasks

        # Baseline: the very same rows (prompts and orders) created one by one as plain tasks, with
        # no link at all; the two queues differ only by the link tables.
        rows = (
            sqlite3.connect(Path(tmp) / "operator.db")
            .execute('SELECT prompt, "order" FROM tasks ORDER BY id')
            .fetchall()
        )
        plain = _operator_db(Path(tmp) / "plain.db")
        t0 = time.perf_counter()
        for prompt, order in rows:
            plain.create(prompt, order=order)
        create_per_task = (time.perf_counter() - t0) / tasks * 1000
        plain_times, linked_times = _claim_latencies(plain, service, claims)

        _run(findings, root, [], paths)  # every finding gone
        t0 = time.perf_counter()
        closed = bridge.reconcile(root)
        close_seconds = time.perf_counter() - t0
        assert len(closed.completed) == tasks - claims, len(closed.completed)
        t0 = time.perf_counter()
        bridge.reconcile(root)
        noop_seconds = time.perf_counter() - t0

    file_per_task = file_seconds / tasks * 1000
    close_per_task = close_seconds / max(1, len(closed.completed)) * 1000
    plain_median, linked_median = statistics.median(plain_times), statistics.median(linked_times)
    ratio = linked_median / plain_median
    print(f"mode=from-findings findings={tasks} claims={claims}")
    print(
        f"file: {file_seconds:.2f}s, {file_per_task:.3f} ms/task "
        f"(baseline TaskService.create of the same rows one by one: {create_per_task:.3f} ms/task; "
        f"ratio {file_per_task / create_per_task:.2f}x)"
    )
    print(f"file again (nothing new): {refile_seconds:.2f}s for {tasks} existing links")
    print(
        f"auto-close: {close_seconds:.2f}s for {len(closed.completed)} tasks, {close_per_task:.3f} ms/task "
        f"(ratio to create {close_per_task / create_per_task:.2f}x); again (converged): {noop_seconds:.2f}s"
    )
    print(
        f"claim latency, interleaved: plain median {plain_median:.3f} ms p95 {_p(plain_times, 0.95):.3f} ms; "
        f"with {tasks} linked tasks median {linked_median:.3f} ms p95 {_p(linked_times, 0.95):.3f} ms"
    )
    print(
        f"claim_latency_ratio={ratio:.2f}x (target <= {TARGET_CLAIM_LATENCY_RATIO:.2f}x: no growth with links)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--mode", choices=["claim-complete", "claim-only", "from-findings"], default="claim-complete"
    )
    parser.add_argument("--claims", type=int, default=500, help="from-findings: claims timed per queue")
    args = parser.parse_args()
    if args.mode == "from-findings":
        from_findings(args.tasks, args.claims)
        return

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        svc = TaskService(Store(db))
        svc.ensure_schema()
        with svc.store.write() as conn:
            conn.executemany(
                'INSERT INTO tasks (prompt, status, "order", uuid) VALUES (?, 0, ?, lower(hex(randomblob(16))))',
                ((f"task {i}", i % 100) for i in range(args.tasks)),
            )
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        start = ctx.Event()
        procs = [
            ctx.Process(target=worker, args=(str(db), f"w{i}", args.mode, start, out))
            for i in range(args.workers)
        ]
        for p in procs:
            p.start()
        time.sleep(1.0)  # let the spawned interpreters import before the clock starts
        t0 = time.perf_counter()
        start.set()
        results = [out.get(timeout=600) for _ in procs]
        elapsed = time.perf_counter() - t0
        for p in procs:
            p.join(60)

    claims = [i for r in results for i in r]
    doubles = sum(n - 1 for n in Counter(claims).values() if n > 1)
    rate = len(claims) / elapsed
    print(f"mode={args.mode} tasks={args.tasks} workers={args.workers}")
    print(f"claims={len(claims)} unclaimed={args.tasks - len(set(claims))} double_claims={doubles}")
    print(f"elapsed={elapsed:.2f}s claims_per_second={rate:.0f}")
    print(
        f"ratio_to_target={rate / TARGET_CLAIMS_PER_SECOND:.2f}x (target >= 1.00x, {TARGET_CLAIMS_PER_SECOND:.0f}/s)"
    )
    print("per_worker=" + ",".join(str(len(r)) for r in results))


if __name__ == "__main__":
    main()
