"""Audit benchmark on a large real codebase: the Django 5.1.4 sdist (~2,800 .py files).

Prints, in one run:
  - `bandit -r` wall time (the baseline: one process, bandit's defaults);
  - our cold audit (bandit scanner only, empty cache, fresh store);
  - our re-audit after touching one file (stat first: only that file is read and hashed), and a
    re-audit with nothing changed; each the median of seven (a single slow round moves a median of
    three), with the fastest;
  - the ratios to the baseline and the peak RSS of our audit, workers included (sampled from /proc
    over the whole process tree), against the targets: cold <= 0.55x, re-audit <= 0.02x (issue 10)
    and <= 0.005x (issue 13, incremental at the floor), peak RSS <= 400 MB.

Our audits run in a child process through the service API (what the MCP server and the CLI call),
timed inside it, so Python start-up and imports are not counted; the CLI's end-to-end time of the
re-audit is printed too, for reference.

    python benchmarks/bench_audit.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from measure import run_sampled

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
VERSION = "5.1.4"
SDIST = CACHE / f"Django-{VERSION}.tar.gz"
TARGETS = {"cold": 0.55, "reaudit": 0.02, "reaudit_floor": 0.005, "rss_mb": 400}

CHILD = r"""
import json, sys, time
from pathlib import Path
from secaudit.tools.store import Store
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.findings import FindingsService
from secaudit.tools.audit import AuditService
root, db, touched = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
store = Store(db); store.migrate(STORE_MIGRATIONS)
findings = FindingsService(store)
audit = AuditService(store, findings, allowed_roots=[root], max_file_bytes=2 * 1024 * 1024,
                     max_files=100_000, workers=0, scanner_timeout_seconds=3600)
t = time.perf_counter(); cold = audit.run(str(root), scanners=["bandit"]); cold_s = time.perf_counter() - t
def timed():
    t = time.perf_counter(); run = audit.run(str(root), scanners=["bandit"]); return time.perf_counter() - t, run
changed, unchanged = [], []
for i in range(7):
    with open(touched, "a") as fh:
        fh.write(f"\n# touched by the benchmark ({i})\n")
    changed.append(timed())
    unchanged.append(timed())
warm = changed[0][1]
def stats(runs):
    times = sorted(s for s, _ in runs)
    return {"median": times[len(times) // 2], "best": times[0]}
print(json.dumps({"cold_s": cold_s, "reaudit": stats(changed), "nochange": stats(unchanged),
                  "cold_findings": cold.findings_total,
                  "cold_status": cold.status.value, "files": cold.files_scanned,
                  "reaudit_cached": warm.files_cached, "reaudit_findings": warm.findings_total,
                  "nochange_cached": unchanged[-1][1].files_cached,
                  "same_findings": all(r.findings_total == cold.findings_total for _, r in changed + unchanged),
                  "skipped": cold.files_skipped}))
"""


def fetch() -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    if not SDIST.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"django=={VERSION}", "-d", str(CACHE)],
            check=True, timeout=600,
        )  # fmt: skip
    return SDIST


def fresh_tree(workdir: Path) -> Path:
    with tarfile.open(SDIST) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / f"Django-{VERSION}"


def main() -> int:
    fetch()
    with tempfile.TemporaryDirectory(prefix="secaudit-bench-") as tmp:
        work = Path(tmp)
        tree = fresh_tree(work / "src")
        n_py = sum(1 for _ in tree.rglob("*.py"))
        print(f"Django {VERSION}: {n_py} .py files; {os.cpu_count()} cores")

        bandit_json = work / "bandit.json"
        res, bandit_s, bandit_rss = run_sampled(
            [sys.executable, "-m", "bandit", "-r", str(tree), "-f", "json", "-o", str(bandit_json), "-q"]
        )
        bandit_results = len(json.loads(bandit_json.read_text())["results"])
        print(
            f"bandit -r:            {bandit_s:7.2f} s   {bandit_results} findings,"
            f" peak RSS {bandit_rss / 1024:.0f} MB"
        )

        touched = tree / "django" / "utils" / "text.py"
        res, _, peak = run_sampled(
            [sys.executable, "-c", CHILD, str(tree), str(work / "store.db"), str(touched)]
        )
        if res.returncode != 0:
            print(res.stderr[-3000:], file=sys.stderr)
            return 2
        ours = json.loads(res.stdout.strip().splitlines()[-1])
        cold_ratio = ours["cold_s"] / bandit_s
        re_ratio = ours["reaudit"]["median"] / bandit_s
        still_ratio = ours["nochange"]["median"] / bandit_s
        print(
            f"ours cold (bandit):   {ours['cold_s']:7.2f} s   {ours['cold_findings']} findings "
            f"({ours['files']} files, {ours['skipped']} skipped)   ratio {cold_ratio:.3f}x"
            f" (target <= {TARGETS['cold']})"
        )
        for label, key, ratio, cached in (
            ("re-audit, 1 changed:", "reaudit", re_ratio, ours["reaudit_cached"]),
            ("re-audit, unchanged:", "nochange", still_ratio, ours["nochange_cached"]),
        ):
            print(
                f"ours {label} {ours[key]['median']:6.3f} s (best {ours[key]['best']:.3f})   {cached} files "
                f"from cache   ratio {ratio:.4f}x (targets <= {TARGETS['reaudit']} issue 10, "
                f"<= {TARGETS['reaudit_floor']} issue 13)"
            )
        print(f"re-audits report the cold run's findings: {ours['same_findings']}")
        print(f"ours peak RSS (incl. workers): {peak / 1024:.0f} MB (target <= {TARGETS['rss_mb']} MB)")

        # For reference: the CLI end to end (process start, imports, store open, output) on a warm cache.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
        env["SECAUDIT_STORE"] = str(work / "store.db")
        exe = shutil.which("secaudit", path=str(Path(sys.executable).parent)) or "secaudit"
        with open(touched, "a") as fh:
            fh.write("# touched again\n")
        t = time.perf_counter()
        cli = subprocess.run(
            [exe, "audit", str(tree), "--scanners", "bandit", "--format", "json", "--fail-on", "none"],
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        cli_s = time.perf_counter() - t
        print(f"CLI re-audit end to end (reference): {cli_s:.2f} s (exit {cli.returncode})")

        ok = (
            cold_ratio <= TARGETS["cold"]
            and re_ratio <= TARGETS["reaudit_floor"]
            and still_ratio <= TARGETS["reaudit_floor"]
            and ours["same_findings"]
            and peak / 1024 <= TARGETS["rss_mb"]
        )
        same = ours["cold_findings"] == bandit_results
        print(f"findings equal to bandit's: {same}; all targets met: {ok}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
