"""Start-up time of light `secaudit` commands, as ratios to a bare interpreter.

Each command runs as a real subprocess of the installed `secaudit` console script, against a
private store holding a few tasks and one imported SARIF run. The named baseline,
`python -c "import sqlite3, json"` (the same interpreter), runs in the same rounds: every round runs
the baseline and each command once, in that order, so machine noise hits them alike. Prints the
median wall time of `--runs` rounds per command and its ratio to the baseline's median, and the
same for CPU time (user + system: steadier than wall time on a busy machine).

The commands run with Python's bytecode cache on, as an installed package has it (pip compiles
`.pyc` files at install time); `PYTHONDONTWRITEBYTECODE` in the environment would make every run
compile secaudit's modules from source again. `--no-bytecode` keeps the environment as it is.

Targets (issue 13, item 5): `--version` <= 5x the baseline; `tasks list` and `findings list` <= 10x.
The other rows (`--help`, `tasks show`, `findings show`, `mask`) are shown for reference.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = "python -c 'import sqlite3, json'"
TARGETS = {"--version": 5.0, "tasks list": 10.0, "findings list": 10.0}
_TIMEOUT = 120

_SARIF = {
    "version": "2.1.0",
    "runs": [
        {
            "tool": {"driver": {"name": "othertool", "rules": [{"id": "X1"}]}},
            "results": [
                {
                    "ruleId": "X1",
                    "level": "warning",
                    "message": {"text": f"something to look at, number {n}"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": "app.py"},
                                "region": {"startLine": n},
                            }
                        }
                    ],
                }
                for n in range(1, 21)
            ],
        }
    ],
}


def _console_script() -> str:
    beside = Path(sys.executable).with_name("secaudit")
    found = str(beside) if beside.exists() else shutil.which("secaudit")
    if found is None:
        raise SystemExit("the `secaudit` console script is not installed: pip install -e .")
    return found


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(argv: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the CPU time of the child just waited for)."""
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=_TIMEOUT, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[:500]}")
    return elapsed, _cpu() - cpu


def _prepare(secaudit: str, env: dict[str, str], root: Path) -> dict[str, str]:
    """Fill the store the way a user would: tasks added, a SARIF file imported. Returns ids to show."""
    for n in range(5):
        _run([secaudit, "tasks", "add", f"benchmark task {n}"], env)
    (root / "app.py").write_text("".join(f"line_{n} = {n}\n" for n in range(1, 30)))
    sarif = root / "other.sarif"
    sarif.write_text(json.dumps(_SARIF))
    _run([secaudit, "findings", "import", str(sarif), "--repo", str(root)], env)
    listed = subprocess.run(
        [secaudit, "findings", "list", "--json", "--limit", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=True,
    )
    return {"finding": json.loads(listed.stdout)["items"][0]["id"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="rounds; the median is reported")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if the environment sets it"
    )
    args = parser.parse_args()

    secaudit = _console_script()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
        if not args.no_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(SECAUDIT_STORE=str(Path(tmp) / "store" / "secaudit.db"), SECAUDIT_ALLOWED_ROOTS=str(root))
        ids = _prepare(secaudit, env, root)
        commands: dict[str, tuple[list[str], str | None]] = {
            BASELINE: ([sys.executable, "-c", "import sqlite3, json"], None),
            "--version": ([secaudit, "--version"], None),
            "--help": ([secaudit, "--help"], None),
            "tasks list": ([secaudit, "tasks", "list"], None),
            "tasks show": ([secaudit, "tasks", "show", "1"], None),
            "findings list": ([secaudit, "findings", "list"], None),
            "findings show": ([secaudit, "findings", "show", ids["finding"]], None),
            "mask": ([secaudit, "mask"], "password=hunter2-but-longer-than-that\nplain line\n" * 50),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for argv, stdin in commands.values():  # one warm-up each: page cache, .pyc files
            _run(argv, env, stdin)
        for _ in range(args.runs):
            for name, (argv, stdin) in commands.items():
                times[name].append(_run(argv, env, stdin))

    base = statistics.median(t for t, _ in times[BASELINE])
    base_cpu = statistics.median(c for _, c in times[BASELINE])
    cache = "off" if args.no_bytecode and "PYTHONDONTWRITEBYTECODE" in os.environ else "on"
    print(f"median of {args.runs} runs (bytecode cache {cache}); baseline {BASELINE}:")
    print(f"  {base * 1000:.1f} ms wall, {base_cpu * 1000:.1f} ms CPU")
    print(f"{'command':<16} {'wall ms':>9} {'ratio':>7} {'CPU ms':>8} {'ratio':>7}  target (wall)")
    for name, samples in times.items():
        if name == BASELINE:
            continue
        wall = statistics.median(t for t, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        ratio = wall / base
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target:g}x {'met' if ratio <= target else 'MISSED'}"
        print(
            f"{name:<16} {wall * 1000:>9.1f} {ratio:>6.1f}x {cpu * 1000:>8.1f} {cpu / base_cpu:>6.1f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
