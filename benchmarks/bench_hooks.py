"""The agent hook round trip: a Claude Code PostToolUse for a one-file edit, end to end.

Builds a medium tree (`--files` Python and JS files in nested folders, committed to git), installs
the Claude Code hooks into it with `secaudit hooks install`, then, per round, changes one file and
runs the installed PostToolUse command (a real subprocess of the installed console script, the
JSON Claude Code sends on stdin) and, for reference, the PreToolUse snapshot and the Stop re-check.
Prints the median wall time of `--runs` rounds and its ratio to the target (issue 13: PostToolUse
for a one-file edit <= 0.5 s): for an edited Python file and an edited JavaScript file with every
available scanner, and for the Python file with `--scanners` leaving semgrep out (a semgrep
process per scan). HOME and the store are private.

The hooks run with Python's bytecode cache on, as an installed package has it (pip compiles `.pyc`
files at install time); `PYTHONDONTWRITEBYTECODE` in the environment would make every run compile
secaudit's modules from source again. `--no-bytecode` keeps the environment as it is.

    .venv/bin/python benchmarks/bench_hooks.py [--runs 3] [--files 300] [--no-bytecode] [--edit py|js|both]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.5
_TIMEOUT = 120
_FAST = "bandit,secrets,config,deps"


def _tree(repo: Path, files: int) -> None:
    for n in range(files):
        folder = repo / f"pkg{n % 20}" / f"sub{n % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        if n % 3 == 0:
            (folder / f"mod{n}.js").write_text(f"export function f{n}(a) {{\n  return a + {n};\n}}\n")
        else:
            (folder / f"mod{n}.py").write_text(f"def f{n}(a):\n    return a + {n}\n" * 5)
    for argv in (
        ["git", "init", "-q", "."],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-q", "-m", "tree"],
    ):
        subprocess.run(argv, cwd=repo, check=True, capture_output=True, timeout=_TIMEOUT)


def _commands(repo: Path) -> dict[str, list[str]]:
    settings = json.loads((repo / ".claude" / "settings.json").read_text())
    found = {}
    for event in ("PreToolUse", "PostToolUse", "Stop"):
        for group in settings["hooks"][event]:
            for hook in group["hooks"]:
                if " hook claude " in hook["command"]:
                    found[event] = shlex.split(hook["command"])
    return found


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(argv: list[str], payload: dict[str, object], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of the hook command."""
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        argv, input=json.dumps(payload).encode(), env=env, cwd=cwd, capture_output=True, timeout=_TIMEOUT
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"the hook failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
    return elapsed, _cpu() - cpu


def measure(
    runs: int, files: int, scanners: str | None, *, bytecode: bool = True, edit: str = "py"
) -> dict[str, tuple[float, float]]:
    """Per event, the median (wall, CPU) seconds."""
    secaudit = shutil.which("secaudit", path=str(Path(sys.executable).parent))
    if secaudit is None:
        raise SystemExit("the secaudit console script is not installed next to this interpreter")
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp:
        base = Path(tmp).resolve()
        repo, home = base / "repo", base / "home"
        repo.mkdir()
        home.mkdir()
        _tree(repo, files)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(HOME=str(home), SECAUDIT_STORE=str(base / "store" / "secaudit.db"))
        if "SECAUDIT_ENGINES_DIR" in os.environ:
            env["SECAUDIT_ENGINES_DIR"] = os.environ["SECAUDIT_ENGINES_DIR"]
        else:  # the semgrep engine installed for the real user, not the private HOME
            env["SECAUDIT_ENGINES_DIR"] = str(Path.home() / ".local" / "share" / "secaudit" / "engines")
        install = [secaudit, "hooks", "install", "--client", "claude"]
        if scanners:
            install += ["--scanners", scanners]
        subprocess.run(install, cwd=repo, env=env, check=True, capture_output=True, timeout=_TIMEOUT)
        commands = _commands(repo)
        # A Python file (bandit, secrets, semgrep's Python rules) or a JavaScript one (the whole
        # JavaScript/TypeScript pack, 29 rules, no bandit).
        target = repo / "pkg1" / "sub1" / "mod1.py" if edit == "py" else repo / "pkg0" / "sub0" / "mod0.js"
        times: dict[str, list[tuple[float, float]]] = {"PreToolUse": [], "PostToolUse": [], "Stop": []}
        for n in range(runs):
            session = f"bench-{n}"
            common = {"session_id": session, "transcript_path": str(home / "t.jsonl"), "cwd": str(repo)}
            edit = {
                **common,
                "tool_name": "Edit",
                "tool_input": {"file_path": str(target), "old_string": "a", "new_string": "b"},
            }
            times["PreToolUse"].append(
                _time(commands["PreToolUse"], {**edit, "hook_event_name": "PreToolUse"}, env, repo)
            )
            line = f"VALUE_{n} = {n}" if edit == "py" else f"export const VALUE_{n} = {n};"
            target.write_text(target.read_text() + f"\n{line}\n")
            times["PostToolUse"].append(
                _time(commands["PostToolUse"], {**edit, "hook_event_name": "PostToolUse"}, env, repo)
            )
            times["Stop"].append(
                _time(
                    commands["Stop"],
                    {**common, "hook_event_name": "Stop", "stop_hook_active": False},
                    env,
                    repo,
                )
            )
        return {
            event: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for event, values in times.items()
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if set")
    parser.add_argument(
        "--edit",
        choices=["py", "js", "both"],
        default="both",
        help="the edited file's language (default both)",
    )
    args = parser.parse_args()
    print(f"tree: {args.files} files; median of {args.runs} rounds; target PostToolUse <= {TARGET_SECONDS} s")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    edits = ["py", "js"] if args.edit == "both" else [args.edit]
    cases = [(f"{edit} edit, all scanners", None, edit) for edit in edits]
    cases += [(f"py edit, --scanners {_FAST}", _FAST, "py")] * ("py" in edits)
    for label, scanners, edit in cases:
        result = measure(args.runs, args.files, scanners, bytecode=not args.no_bytecode, edit=edit)
        wall, cpu = result["PostToolUse"]
        print(
            f"{label:<46} PostToolUse wall {wall:.3f} s ({wall / TARGET_SECONDS:.2f}x target), "
            f"CPU {cpu:.3f} s ({cpu / TARGET_SECONDS:.2f}x)  |  PreToolUse wall {result['PreToolUse'][0]:.3f} s"
            f"  Stop wall {result['Stop'][0]:.3f} s"
        )
    print("CPU (user + system of the hook process) is the steadier figure on a shared machine.")


if __name__ == "__main__":
    main()
