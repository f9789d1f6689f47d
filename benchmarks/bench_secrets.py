"""Secrets scan benchmark: our `secrets` scanner vs `detect-secrets scan` on the Django sdist.

Prints, in one run:
  - `detect-secrets scan --all-files .` wall time (cwd = the tree, so it really scans; the number of
    files it considers is checked through its own file lister, and an empty result is an error),
  - our cold scan (2 workers, empty cache), our re-scan after one file changed (SQLite cache),
  - their ratios to detect-secrets' time, and the findings each reports on this clean codebase
    (every one is a false positive: the false-positive measure),
  - a parity check: our scanner in detect-secrets mode (`tuned=False`) must report the
    same (file, type, line) set as detect-secrets, once repeated values are folded as it does.

Targets: cold <= 0.25x, re-scan <= 0.02x, findings <= detect-secrets'.

    .venv/bin/python benchmarks/bench_secrets.py [--tree DIR] [--skip-detect-secrets SECONDS]

The tree is shared with bench_audit.py: benchmarks/.cache/django-5.1.4/ (downloaded and extracted
when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext
from secaudit.tools.scanners.secrets_scanner import SecretsScanner

HERE = Path(__file__).resolve().parent
CACHE_DIR = HERE / ".cache"
DJANGO = "django==5.1.4"
TREE = CACHE_DIR / "django-5.1.4"
VENV_BIN = Path(sys.executable).parent


class SqliteCache:
    """A minimal ResultCache: JSON values in one SQLite table."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        # WAL + NORMAL: a commit per put without an fsync each, as a real store would configure it.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str) -> Any | None:
        row = self.db.execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )


def ensure_tree(tree: Path) -> Path:
    if tree.is_dir():
        return tree
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    sdists = sorted(CACHE_DIR.glob("[Dd]jango-5.1.4.tar.gz"))
    if not sdists:
        dest = str(CACHE_DIR)
        subprocess.run(
            [str(VENV_BIN / "pip"), "download", "--no-deps", "--no-binary", ":all:", DJANGO, "-d", dest],
            check=True,
            timeout=600,
        )
        sdists = sorted(CACHE_DIR.glob("[Dd]jango-5.1.4.tar.gz"))
    staging = Path(tempfile.mkdtemp(dir=CACHE_DIR))
    with tarfile.open(sdists[0]) as tar:
        tar.extractall(staging, filter="data")
    (top,) = list(staging.iterdir())
    top.rename(tree)
    shutil.rmtree(staging)
    return tree


def walk(root: Path) -> list[FileRef]:
    files: list[FileRef] = []
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            st = path.lstat()
            if path.is_file() and not path.is_symlink():
                files.append(FileRef(path, path.relative_to(root).as_posix(), st.st_size, st.st_mode))
    return files


def run_detect_secrets(tree: Path) -> tuple[float, dict[str, list[dict[str, Any]]], int]:
    # Count what it will look at with its own lister, from the same cwd: pointed at a folder it
    # does not consider part of a repository, the CLI scans nothing and still exits 0.
    from detect_secrets.core.scan import get_files_to_scan

    cwd = os.getcwd()
    try:
        os.chdir(tree)
        considered = sum(1 for _ in get_files_to_scan(".", should_scan_all_files=True))
    finally:
        os.chdir(cwd)
    start = time.perf_counter()
    proc = subprocess.run(
        [str(VENV_BIN / "detect-secrets"), "scan", "--all-files", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    elapsed = time.perf_counter() - start
    results = json.loads(proc.stdout)["results"]
    if considered == 0 or not results:
        raise SystemExit("detect-secrets scanned nothing: check the cwd and --all-files")
    return elapsed, results, considered


def scan(files: list[FileRef], root: Path, cache: SqliteCache | None, **options: Any) -> tuple[float, Any]:
    scanner = SecretsScanner()
    selected = [f for f in files if scanner.selects(f)]
    ctx = ScanContext(
        root=root,
        cancel=CancelToken(),
        deadline=time.monotonic() + 3600,
        cache=cache,
        workers=2,
        options=SecretsScanner.Options.parse(
            "secrets", {"secret_key": b"bench-key-0123456789abcdef", **options}
        ),
    )
    start = time.perf_counter()
    result = scanner.scan(ctx, selected)
    return time.perf_counter() - start, result


def folded(findings: Any) -> set[tuple[str, str, int]]:
    """detect-secrets keeps one entry per (file, type, value): fold ours the same way."""
    first: dict[tuple[str, str, str], int] = {}
    for f in sorted(findings, key=lambda f: (f.path, f.start_line or 0)):
        first.setdefault((f.path, f.properties["kind"], f.properties["secret_id"]), f.start_line or 0)
    return {(path, kind, line) for (path, kind, _sid), line in first.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", type=Path, default=TREE)
    parser.add_argument(
        "--skip-detect-secrets",
        type=float,
        metavar="SECONDS",
        help="reuse a detect-secrets wall time measured earlier instead of running it (parity is skipped)",
    )
    args = parser.parse_args()
    tree = ensure_tree(args.tree.resolve())
    files = walk(tree)
    print(f"tree: {tree} ({len(files)} files, {sum(1 for f in files if f.rel.endswith('.py'))} .py)")

    ds_results: dict[str, list[dict[str, Any]]] | None = None
    if args.skip_detect_secrets:
        ds_time = args.skip_detect_secrets
        print(f"detect-secrets scan:   {ds_time:8.2f} s (given, not measured)")
    else:
        ds_time, ds_results, considered = run_detect_secrets(tree)
        ds_count = sum(len(v) for v in ds_results.values())
        print(
            f"detect-secrets scan:   {ds_time:8.2f} s  files considered={considered}  "
            f"findings={ds_count} in {len(ds_results)} files"
        )

    with tempfile.TemporaryDirectory() as tmp:
        cache = SqliteCache(Path(tmp) / "cache.sqlite")
        cold_time, cold = scan(files, tree, cache)
        print(
            f"ours cold (2 workers): {cold_time:8.2f} s  ratio={cold_time / ds_time:.3f}x (target <= 0.25)  "
            f"scanned={len(cold.scanned)} skipped={len(cold.skipped)} findings={len(cold.findings)}"
        )
        touched = tree / "django" / "utils" / "text.py"
        original = touched.read_bytes()
        try:
            touched.write_bytes(original + b"\n# touched by bench_secrets\n")
            re_time, rescan = scan(files, tree, cache)
        finally:
            touched.write_bytes(original)
        same = sorted(f.fingerprint for f in rescan.findings) == sorted(f.fingerprint for f in cold.findings)
        print(
            f"ours re-scan (1 file): {re_time:8.2f} s  ratio={re_time / ds_time:.4f}x (target <= 0.02)  "
            f"findings={len(rescan.findings)} same-as-cold={same}"
        )
    for note in cold.notes:
        print(f"  note: {note}")
    for f in cold.findings:
        print(f"  ours: {f.path}:{f.start_line} {f.rule_id} {f.snippet}")

    if ds_results is not None:
        ds_count = sum(len(v) for v in ds_results.values())
        print(
            f"false-positive measure on clean Django: detect-secrets={ds_count} ours={len(cold.findings)} "
            f"({'OK' if len(cold.findings) <= ds_count else 'MORE'})"
        )
        raw_time, raw = scan(files, tree, None, tuned=False)
        theirs = {(f, s["type"], s["line_number"]) for f, v in ds_results.items() for s in v}
        ours = folded(raw.findings)
        print(
            f"parity (ours in detect-secrets mode, {raw_time:.2f} s): theirs={len(theirs)} ours={len(ours)} "
            f"missed={len(theirs - ours)} extra={len(ours - theirs)}"
        )
        for item in sorted(theirs - ours)[:20]:
            print(f"  missed: {item}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (this process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
