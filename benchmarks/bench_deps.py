"""Dependency audit benchmark.

1. Import the full PyPA advisory database (../shared/advisories/pypa/vulns) into a fresh store
   (target <= 10 s), and the baseline: parsing every YAML file once with PyYAML's fastest loader.
2. Audit a generated 500-pin poetry.lock against it (target <= 0.2 s warm).

Run: .venv/bin/python benchmarks/bench_deps.py [--vulns PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps import audit_dependencies
from secaudit.tools.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
IMPORT_TARGET_S = 10.0
AUDIT_TARGET_S = 0.2
PINS = 500


def find_vulns() -> Path | None:
    candidates = [Path(os.environ["SECAUDIT_SHARED_DIR"])] if os.environ.get("SECAUDIT_SHARED_DIR") else []
    candidates += [parent / "shared" for parent in REPO_ROOT.parents]
    for shared in candidates:
        if (shared / "advisories" / "pypa" / "vulns").is_dir():
            return shared / "advisories" / "pypa" / "vulns"
    return None


def parse_yaml_once(vulns: Path) -> tuple[float, int]:
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    started = time.perf_counter()
    count = 0
    for path in sorted(vulns.rglob("*.yaml")):
        with path.open("rb") as fh:
            yaml.load(fh, Loader=loader)
        count += 1
    return time.perf_counter() - started, count


def write_lockfile(db: AdvisoryDB, root: Path) -> int:
    """500 real (name, version) pins: a version each advisory lists, or the one before a fix."""
    rows = db.store.query(
        "SELECT name, versions, ranges FROM advisory_affected WHERE ecosystem = 'PyPI' ORDER BY name"
    )
    pins: dict[str, str] = {}
    for row in rows:
        if row["name"] in pins:
            continue
        versions = json.loads(row["versions"])
        if versions:
            pins[row["name"]] = versions[len(versions) // 2]
    for i in range(len(pins), PINS):  # top up with packages the database does not know
        pins[f"unknown-package-{i}"] = "1.0.0"
    chosen = list(pins.items())[:PINS]
    blocks = [f'[[package]]\nname = "{n}"\nversion = "{v}"\ngroups = ["main"]\n' for n, v in chosen]
    (root / "poetry.lock").write_text("\n".join(blocks), encoding="utf-8")
    return len(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vulns", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    vulns = args.vulns or find_vulns()
    if vulns is None:
        print("the PyPA database is absent (../shared/advisories/pypa/vulns); set SECAUDIT_SHARED_DIR")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-deps-") as tmp:
        tmp_path = Path(tmp)
        # Warm the page cache for both measurements alike.
        for path in vulns.rglob("*.yaml"):
            path.read_bytes()
        baseline, files = parse_yaml_once(vulns)
        store = Store(tmp_path / "store.db")
        db = AdvisoryDB(store)
        started = time.perf_counter()
        report = db.import_path(vulns)
        import_s = time.perf_counter() - started
        repo = tmp_path / "repo"
        repo.mkdir()
        pins = write_lockfile(db, repo)
        started = time.perf_counter()
        cold = audit_dependencies(repo, ["poetry.lock"], AdvisoryDB(store))
        cold_s = time.perf_counter() - started
        warm_times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            warm = audit_dependencies(repo, ["poetry.lock"], db)
            warm_times.append(time.perf_counter() - started)
        store.close()
    warm_s = statistics.median(warm_times)
    print(f"PyPA database: {files} YAML files, {report.records} records imported, {report.errors} errors")
    print(f"baseline, parse every YAML file once (CSafeLoader): {baseline:.2f} s")
    ok_import = "ok" if import_s <= IMPORT_TARGET_S else "OVER TARGET"
    print(f"import into the store:      {import_s:.2f} s  (target <= {IMPORT_TARGET_S:.0f} s: {ok_import})")
    print(f"ratio import / YAML parse:  {import_s / baseline:.2f}x")
    print(
        f"audit of a {pins}-pin poetry.lock: cold {cold_s * 1000:.0f} ms, warm median {warm_s * 1000:.0f} ms "
        f"(min {min(warm_times) * 1000:.0f} ms; target <= {AUDIT_TARGET_S * 1000:.0f} ms warm: "
        f"{'ok' if warm_s <= AUDIT_TARGET_S else 'OVER TARGET'})"
    )
    print(
        f"  {len(warm.dependencies)} dependencies, {len(warm.vulnerable)} vulnerable findings, "
        f"{len(cold.vulnerable)} cold"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
