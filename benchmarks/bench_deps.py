"""Dependency audit benchmark.

1. Import the full PyPA advisory database (../shared/advisories/pypa/vulns) into a fresh store
   (target <= 10 s), and the baseline: parsing every YAML file once with PyYAML's fastest loader.
2. Audit a generated 500-pin poetry.lock against it (target <= 0.2 s warm).
3. Streamed `db import` of a generated OSV all.zip of about --zip-mb MB (default 200, the size of
   OSV's npm dump; mostly MAL- records of about 1 kB compressed each): import throughput in
   records/s and peak RSS, each measured in a fresh child process, against the baseline of the same
   run: `json.loads` of every member into a list (what a non-streaming importer holds). Targets:
   peak RSS <= 256 MiB whatever the dump size, and at most 4x the baseline's time (the import also
   validates, cleans, hashes and stores every record).

The generated zip is cached in benchmarks/.cache/ (git-ignored) and reused while its size matches.

Run: .venv/bin/python benchmarks/bench_deps.py [--vulns PATH] [--zip-mb 200] [--skip-pypa] [--skip-zip]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
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
CACHE = REPO_ROOT / "benchmarks" / ".cache"
ZIP_RSS_TARGET_MIB = 256
ZIP_TIME_RATIO_TARGET = 4.0


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


# -- 3. streamed import of a large all.zip --------------------------------------------------------


def _generated(i: int, rng: random.Random) -> dict[str, Any]:
    """A record in the shapes of OSV's npm dump: 9 in 10 MAL- reports, the rest ranged advisories.

    The random bytes (hashes, an excerpt of analysis output) keep the compression ratio close to
    real records', so the zip's size and member count match a real dump's.
    """
    excerpt = base64.b64encode(rng.randbytes(520)).decode()
    if i % 10:
        name = f"bench-pkg-{i}"
        return {
            "id": f"MAL-BENCH-{i:07d}",
            "modified": "2024-05-01T00:00:00Z",
            "published": "2024-05-01T00:00:00Z",
            "summary": f"Malicious code in {name} (npm)",
            "details": "\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: "
            f"bench-analysis\nThe package's install script reads the environment and sends it out.\n{excerpt}\n",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": name},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                }
            ],
            "database_specific": {
                "malicious-packages-origins": [
                    {"source": "bench-analysis", "sha256": rng.randbytes(32).hex(), "versions": ["1.0.0"]}
                    for _ in range(1 + i % 3)
                ]
            },
        }
    return {
        "id": f"GHSA-bench-{i:07d}",
        "modified": "2024-05-01T00:00:00Z",
        "summary": f"Generated advisory {i}",
        "details": excerpt,
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": f"bench-lib-{i}"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.3"}]}],
            }
        ],
        "references": [{"type": "WEB", "url": f"https://example.invalid/advisories/{i}"}],
    }


def generated_zip(target_mb: int) -> tuple[Path, int]:
    """A cached zip of about `target_mb` MB; (path, members)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"osv-npm-like-{target_mb}mb.zip"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        return path, int(json.loads(meta.read_text())["members"])
    rng = random.Random(20240501)  # reproducible filler, not security
    target = target_mb * 1024 * 1024
    count = 0
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        while True:
            record = _generated(count, rng)
            zf.writestr(f"{record['id']}.json", json.dumps(record, indent=2))
            count += 1
            if count % 5000 == 0 and partial.stat().st_size >= target:
                break
    partial.replace(path)
    meta.write_text(json.dumps({"members": count}))
    return path, count


def _peak_rss_kib() -> int:
    """This process's peak RSS. /proc's VmHWM belongs to the process image, while getrusage's
    ru_maxrss survives fork and exec (a child would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _child(mode: str, dump: Path, store_path: Path) -> int:
    """Runs in a fresh interpreter so its peak RSS is its own: prints one JSON line."""
    from secaudit.tools.advisories.db import AdvisoryDB as ChildDB
    from secaudit.tools.store import Store as ChildStore

    rss_before = _peak_rss_kib()
    started = time.perf_counter()
    if mode == "import":
        store = ChildStore(store_path)
        report = ChildDB(store).import_path(dump)
        store.close()
        records, extra = report.records, {"malicious": report.malicious, "batches": report.batches}
    else:
        # The baseline: every member parsed and kept, as an importer that loads the dump first does.
        with zipfile.ZipFile(dump) as zf:
            kept = [json.loads(zf.read(info)) for info in zf.infolist() if info.filename.endswith(".json")]
        records, extra = len(kept), {}
    seconds = time.perf_counter() - started
    peak = _peak_rss_kib()
    print(json.dumps({"seconds": seconds, "records": records, "rss_kib": peak, "rss_start_kib": rss_before,
                      **extra}))  # fmt: skip
    return 0


def _run_child(mode: str, dump: Path, store_path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--zip", str(dump), "--store", str(store_path)],
        capture_output=True, text=True, check=True, timeout=3600,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench_zip(target_mb: int) -> None:
    started = time.perf_counter()
    dump, members = generated_zip(target_mb)
    made = time.perf_counter() - started
    size_mb = dump.stat().st_size / 2**20
    print(f"generated zip: {size_mb:.0f} MB, {members} members ({made:.0f} s to generate or reuse)")
    with dump.open("rb") as fh:  # warm the page cache for both runs alike, holding 1 MiB at a time
        while fh.read(1 << 20):
            pass
    with tempfile.TemporaryDirectory(prefix="bench-deps-zip-") as tmp:
        baseline = _run_child("baseline", dump, Path(tmp, "unused.db"))
        ours = _run_child("import", dump, Path(tmp, "store.db"))
    rate = ours["records"] / ours["seconds"]
    base_rate = baseline["records"] / baseline["seconds"]
    rss, base_rss = ours["rss_kib"] / 1024, baseline["rss_kib"] / 1024
    start_rss = ours["rss_start_kib"] / 1024
    ratio_t = ours["seconds"] / baseline["seconds"]
    print(
        f"baseline, json.loads of every member into a list: {baseline['seconds']:.1f} s "
        f"({base_rate:,.0f} records/s), peak RSS {base_rss:,.0f} MiB"
    )
    print(
        f"db import (streamed, parse + validate + store): {ours['seconds']:.1f} s ({rate:,.0f} records/s, "
        f"{ours['malicious']} MAL-, {ours['batches']} transactions), peak RSS {rss:,.0f} MiB "
        f"({start_rss:,.0f} MiB before the import)"
    )
    rss_ok = "ok" if rss <= ZIP_RSS_TARGET_MIB else "OVER TARGET"
    time_ok = "ok" if ratio_t <= ZIP_TIME_RATIO_TARGET else "OVER TARGET"
    print(f"ratio db import / baseline: time {ratio_t:.2f}x (target <= {ZIP_TIME_RATIO_TARGET:.0f}x: {time_ok}), "
          f"peak RSS {rss / base_rss:.2f}x (target <= {ZIP_RSS_TARGET_MIB} MiB: {rss_ok})")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vulns", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--zip-mb", type=int, default=200, help="size of the generated all.zip")
    parser.add_argument("--skip-pypa", action="store_true")
    parser.add_argument("--skip-zip", action="store_true")
    parser.add_argument("--child", choices=["import", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--zip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child, args.zip, args.store)
    status = 0
    if not args.skip_pypa:
        status = bench_pypa(args.vulns, args.repeat)
    if not args.skip_zip:
        bench_zip(args.zip_mb)
    return status


def bench_pypa(vulns_arg: Path | None, repeat: int) -> int:
    vulns = vulns_arg or find_vulns()
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
        for _ in range(repeat):
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
