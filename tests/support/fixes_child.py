"""A child process for the fix crash and concurrency tests, run by them from the repository root:

python -m tests.support.fixes_child loop TMP ROOT           plan+apply a two-file toggle fix forever
                                                             (killed by the test)
python -m tests.support.fixes_child apply TMP ROOT PLAN GO  wait for the GO file, apply PLAN once,
                                                             print the outcome
python -m tests.support.fixes_child hook-kill TMP ROOT WHEN  record TARGET as a finding, then apply
                                                             (WHEN=verify) or apply and revert
                                                             (WHEN=revert), SIGKILLing itself as the
                                                             findings hook starts

Run as a module, not as a script: a script's folder goes first on sys.path, and this folder holds
`http.py`, which would shadow the standard library's `http` in the child.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from secaudit.tools.errors import Conflict
from secaudit.tools.findings import FindingsService, RunCoverage
from secaudit.tools.findings.records import RunStatus
from secaudit.tools.fixes.model import FileChange, Proposal, RepoView
from secaudit.tools.fixes.verify import ScanSnapshot
from tests.support.fixes import finding, make_service

FILES = ("a/one.py", "two.py")
A = b"value = 'A'\n" * 200
B = b"value = 'B'\n" * 300
TARGET = finding("toggle", "T1", "a/one.py", 1)


def toggle(_finding: object, view: RepoView) -> Proposal:
    changes = []
    for rel in FILES:
        current = view.read(rel)
        changes.append(FileChange(rel, current, B if current == A else A))
    return Proposal(kind="toggle", summary="toggle", changes=changes)


class AlwaysGone:
    """Before the write the finding is there, after it is gone: every landed write verifies."""

    def __init__(self) -> None:
        self.calls = 0

    def scan(self, root: Path, f: object, paths: object) -> ScanSnapshot:
        self.calls += 1
        return ScanSnapshot(findings=[TARGET] if self.calls % 2 else [])


def record_target(findings: FindingsService, root: Path) -> None:
    """TARGET as an open finding of `root` in the findings store (one audit run that reported it)."""
    run = findings.start_run(str(root), kind="audit", scanners=["toggle"])
    findings.finish_run(
        run,
        status=RunStatus.SUCCEEDED,
        findings=[TARGET],
        coverage=[],
        skips=[],
        notes=[],
        run_coverage=RunCoverage(),
        files_total=2,
        files_scanned=2,
        files_cached=0,
    )


def _killed(*_args: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    mode, tmp, root = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    svc = make_service(tmp, [root], verifier=AlwaysGone(), generator_lookup=lambda _f: toggle)
    if mode == "loop":
        print("ready", flush=True)
        while True:
            plan = svc.plan(TARGET, root)
            svc.apply(plan_id=plan.plan_id, dry_run=False)
    elif mode == "apply":
        plan_id, go = sys.argv[4], Path(sys.argv[5])
        print("ready", flush=True)
        deadline = time.monotonic() + 30
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("no go signal")
            time.sleep(0.001)
        try:
            fix = svc.apply(plan_id=plan_id, dry_run=False).fix
            assert fix is not None
            print(json.dumps({"outcome": "ok", "status": fix.status.value}), flush=True)
        except Conflict as exc:
            print(json.dumps({"outcome": "conflict", "message": str(exc)}), flush=True)
    elif mode == "hook-kill":
        findings = FindingsService(svc.store)
        record_target(findings, root)
        svc.on_verified = lambda f, r, fix_id: findings.mark_fixed_by_fix(r, f.fingerprint, fix_id)
        svc.on_reverted = findings.reopen_after_revert
        if sys.argv[4] == "verify":
            svc.on_verified = _killed
        fix = svc.apply(plan_id=svc.plan(TARGET, root).plan_id, dry_run=False).fix
        assert fix is not None
        print(json.dumps({"fix_id": fix.fix_id, "status": fix.status.value}), flush=True)
        svc.on_reverted = _killed
        svc.revert(fix.fix_id)


if __name__ == "__main__":
    main()
