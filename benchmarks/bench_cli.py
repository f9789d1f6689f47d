"""Start-up time of light `secaudit` commands, as ratios to a bare interpreter.

Each command runs as a real subprocess of the installed `secaudit` console script, against a
private store holding a few tasks and one imported SARIF run. The named baseline,
`python -c "import sqlite3, json"` (the same interpreter), runs in the same rounds: every round runs
the baseline and each command once, in that order, so machine noise hits them alike. Prints the
median wall time of `--runs` rounds per command and its ratio to the baseline's median.

Targets (issue 13, item 5): `--version` <= 5x the baseline; `tasks list` and `findings list` <= 10x.
The other rows (`--help`, `tasks show`, `findings show`, `mask`) are shown for reference.

    .venv/bin/python benchmarks/bench_cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
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


def _run(argv: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=_TIMEOUT, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[:500]}")
    return elapsed


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
    args = parser.parse_args()

    secaudit = _console_script()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
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
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv, stdin in commands.values():  # one warm-up each: page cache, .pyc files
            _run(argv, env, stdin)
        for _ in range(args.runs):
            for name, (argv, stdin) in commands.items():
                times[name].append(_run(argv, env, stdin))

    base = statistics.median(times[BASELINE])
    print(f"median of {args.runs} runs; baseline {BASELINE}: {base * 1000:.1f} ms")
    print(f"{'command':<16} {'median ms':>10} {'ratio':>7}  target")
    for name, samples in times.items():
        if name == BASELINE:
            continue
        med = statistics.median(samples)
        ratio = med / base
        target = TARGETS.get(name)
        verdict = "" if target is None else f"<= {target:g}x {'met' if ratio <= target else 'MISSED'}"
        print(f"{name:<16} {med * 1000:>10.1f} {ratio:>6.1f}x  {verdict}")


if __name__ == "__main__":
    main()
