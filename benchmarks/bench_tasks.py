"""Claim throughput on the shared tasks table.

10,000 tasks are claimed to exhaustion by 4 worker processes on one SQLite file. Each worker runs
the operator's loop: claim the next ready task, then mark it complete (`--mode claim-complete`, the
default), or only claim (`--mode claim-only`: leased tasks stay ready, so later claims must skip
every live lease). Prints claims per second, double claims, and the ratio to the target.

Target (issue #2): >= 1,000 claims/s on a 2-core machine, 0 double claims.

    python benchmarks/bench_tasks.py [--tasks 10000] [--workers 4] [--mode claim-complete]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from collections import Counter
from pathlib import Path

from secaudit.tools.store import Store
from secaudit.tools.tasks import TaskService, TaskStatus

TARGET_CLAIMS_PER_SECOND = 1000.0


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mode", choices=["claim-complete", "claim-only"], default="claim-complete")
    args = parser.parse_args()

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
