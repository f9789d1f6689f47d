"""The CI files at the repository root: `.pre-commit-hooks.yaml` and `action.yml` parse, use only
flags `secaudit audit --help` lists, and the pre-commit hook's entry command does what it says on a
real git repository (a staged secret fails the commit, a clean one passes); with `pre-commit`
installed, the hook runs through `pre-commit try-repo` too."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.git import Repo, needs_git, secret_line

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def _hooks() -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(data, list)
    return data


def _action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text())
    assert isinstance(data, dict)
    return data


def _help(*command: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", *command, "--help"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return proc.stdout


def test_hooks_are_well_formed_and_use_real_flags() -> None:
    hooks = _hooks()
    assert {h["id"] for h in hooks} == {"secaudit-secrets", "secaudit-audit"}
    known = set(_FLAG.findall(_help("audit")))
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        argv = shlex.split(hook["entry"])
        assert argv[:2] == ["secaudit", "audit"] and "--staged" in argv
        assert set(_FLAG.findall(hook["entry"])) <= known, hook["entry"]


def test_action_is_composite_and_uses_real_flags() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    for name in (
        "path",
        "fail-on",
        "scanners",
        "advisories-dump",
        "base-ref",
        "sarif-category",
        "python-version",
    ):
        assert name in inputs
    scripts = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    # Inputs reach the scripts through the environment, never pasted into the shell text.
    assert "${{" not in scripts
    audit_flags = set(_FLAG.findall(_help("audit")))
    # The audit's argv is built in `args=(audit ...)` / `args+=(...)`; other commands (git) aside.
    built = " ".join(m for m in re.findall(r"args\+?=\(([^)]*)\)", scripts))
    used = set(_FLAG.findall(built))
    assert used and used <= audit_flags, used - audit_flags
    assert {"--since", "--format", "--fail-on"} <= used
    assert "secaudit db import" in scripts and "secaudit db update" in scripts
    upload = [s for s in action["runs"]["steps"] if "upload-sarif" in str(s.get("uses", ""))]
    assert len(upload) == 1 and upload[0]["with"]["category"] == "${{ inputs.sarif-category }}"


@needs_git
def test_hook_entry_on_a_real_repository(settings: Settings, workspace: Path, tmp_path: Path) -> None:
    repo = Repo(workspace, tmp_path / "home")
    repo.write("app.py", "def add(a, b):\n    return a + b\n")
    repo.commit("base")
    env = {**cli_env(settings), **repo.env}
    env.pop("SECAUDIT_ALLOWED_ROOTS")  # as in a hook: the folder named on the command line is the root
    env.pop("CI", None)
    entry = shlex.split(next(h for h in _hooks() if h["id"] == "secaudit-secrets")["entry"])
    argv = [sys.executable, "-m", "secaudit.server", *entry[1:]]

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=repo.path, env=env, capture_output=True, text=True, timeout=300)

    repo.write("notes.py", "GREETING = 'hello'\n")
    repo.git("add", "notes.py")
    clean = hook()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    repo.write("config.py", secret_line())
    repo.git("add", "config.py")
    dirty = hook()
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "config.py" in dirty.stdout


@needs_git
@pytest.mark.skipif(
    shutil.which("pre-commit") is None, reason="pre-commit is not installed (pip install pre-commit)"
)
def test_pre_commit_try_repo(tmp_path: Path) -> None:
    """The whole path a user takes: pre-commit builds the hook's environment from this repository
    (its committed HEAD) and runs the hook on a staged secret. Slow (it installs secaudit)."""
    repo = Repo(tmp_path / "project", tmp_path / "home")
    repo.write("app.py", "x = 1\n")
    repo.commit("base")
    repo.write("config.py", secret_line())
    repo.git("add", "config.py")
    env = {**repo.env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}
    env.pop("CI", None)
    proc = subprocess.run(
        ["pre-commit", "try-repo", str(ROOT), "secaudit-secrets", "--verbose"],
        cwd=repo.path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "config.py" in proc.stdout and "Failed" in proc.stdout


# -- the action's shell steps, run locally (a runner has network; this machine has not) ----------
#
# Each test runs a step's `run:` script as GitHub does (`bash --noprofile --norc -eo pipefail`),
# with the step's `env:` values set and a stand-in `secaudit` first on PATH that records its argv
# (and exits with $FAKE_EXIT), so the shell logic is checked without the network or a real audit.

_FAKE_SECAUDIT = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
exit "${FAKE_EXIT:-0}"
"""


def _step(name: str) -> dict[str, Any]:
    return next(s for s in _action()["runs"]["steps"] if s.get("name") == name)


def _run_step(
    name: str, tmp_path: Path, env: dict[str, str], *, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, str]]:
    """Run step `name`'s script; its result, the fake secaudit's argv lines, its GITHUB_OUTPUT."""
    step = _step(name)
    assert step["shell"] == "bash"
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "secaudit"
    fake.write_text(_FAKE_SECAUDIT)
    fake.chmod(0o755)
    log, output, genv = tmp_path / "argv.log", tmp_path / "github_output", tmp_path / "github_env"
    for f in (log, output, genv):
        f.write_text("")
    script = tmp_path / "step.sh"
    script.write_text(step["run"])
    full = {
        **env,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_ENV": str(genv),
        "RUNNER_TEMP": str(tmp_path),
        "RUNNER_TOOL_CACHE": str(tmp_path / "toolcache"),
    }
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd or tmp_path, env=full, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return proc, log.read_text().splitlines(), outputs


def _step_env(name: str, **values: str) -> dict[str, str]:
    """The step's `env:` names, each set to `values[name]` or empty (as an unset input is)."""
    names = _step(name).get("env", {})
    return {k: values.get(k, "") for k in names} | {k: v for k, v in values.items() if k not in names}


def test_action_missing_dump_falls_back_to_db_update(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    proc, argv, _ = _run_step(
        "Load the advisory database",
        tmp_path,
        env | _step_env("Load the advisory database", DUMP="osv/all.zip"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert argv == ["db update"]
    assert "::notice::" in proc.stdout and "does not exist" in proc.stdout
    # An existing dump is imported offline, as before.
    dump = tmp_path / "osv" / "all.zip"
    dump.parent.mkdir()
    dump.write_bytes(b"PK")
    proc, argv, _ = _run_step(
        "Load the advisory database", tmp_path, env | _step_env("Load the advisory database", DUMP=str(dump))
    )
    assert proc.returncode == 0 and argv == [f"db import {dump}"]
    proc, argv, _ = _run_step(
        "Load the advisory database", tmp_path, env | _step_env("Load the advisory database", UPDATE="true")
    )
    assert proc.returncode == 0 and argv == ["db update"]


def test_action_installs_semgrep_into_the_tool_cache(tmp_path: Path) -> None:
    step = _step("Install the semgrep engine")
    assert (
        step["if"] == "${{ inputs.semgrep == 'true' }}"
        and _action()["inputs"]["semgrep"]["default"] == "true"
    )
    env = {k: v for k, v in os.environ.items() if k != "SECAUDIT_ENGINES_DIR"}
    proc, argv, _ = _run_step("Install the semgrep engine", tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert argv == ["engines install semgrep"]
    genv = (tmp_path / "github_env").read_text()
    assert genv.startswith(f"SECAUDIT_ENGINES_DIR={tmp_path / 'toolcache' / 'secaudit' / 'engines' / 'py'}")
    # A failed install does not stop the job: the audit reports semgrep unavailable (partial).
    proc, _, _ = _run_step("Install the semgrep engine", tmp_path, env | {"FAKE_EXIT": "2"})
    assert proc.returncode == 0 and "::warning::" in proc.stdout
    # The folder is named after the minor release (a cache key can say it; a patch upgrade's
    # dangling venv is rebuilt by the install itself).
    assert f"/engines/py{sys.version_info[0]}.{sys.version_info[1]}\n" in genv
    # Scanners that leave semgrep out: nothing is installed.
    proc, argv, _ = _run_step("Install the semgrep engine", tmp_path, env | {"SCANNERS": "bandit, secrets"})
    assert proc.returncode == 0 and argv == [] and "not installing" in proc.stdout
    proc, argv, _ = _run_step("Install the semgrep engine", tmp_path, env | {"SCANNERS": "secrets,semgrep"})
    assert proc.returncode == 0 and argv == ["engines install semgrep"]


def test_the_action_exit_code_output_says_could_not_run_when_an_earlier_step_failed() -> None:
    assert _action()["outputs"]["exit-code"]["value"] == "${{ steps.audit.outputs.exit-code || '2' }}"


def _origin_and_shallow_clone(tmp_path: Path) -> tuple[Repo, Repo, str]:
    origin = Repo(tmp_path / "origin", tmp_path / "home")
    origin.write("app.py", "x = 1\n")
    base = origin.commit("base")
    origin.git("checkout", "-q", "-b", "feature")
    origin.write("sub/new.py", "y = 2\n")
    origin.commit("feature")
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--branch", "feature", f"file://{origin.path}", "clone"],
        cwd=tmp_path, env=origin.env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    clone = Repo.__new__(Repo)
    clone.path, clone.env = tmp_path / "clone", origin.env
    return origin, clone, base


@needs_git
def test_action_base_branch_is_fetched_and_passed_as_a_sha(tmp_path: Path) -> None:
    _origin, clone, base = _origin_and_shallow_clone(tmp_path)
    # The shallow clone has only the feature branch: `main` names no commit there.
    with pytest.raises(subprocess.CalledProcessError):
        clone.git("rev-parse", "--verify", "main^{commit}")
    env = clone.env | _step_env(
        "Audit", TARGET=".", FAIL_ON="high", FAIL_ON_PARTIAL="true", BASE_INPUT="main",
        CATEGORY="secaudit", SARIF=str(tmp_path / "out.sarif"),
    )  # fmt: skip
    proc, argv, outputs = _run_step("Audit", tmp_path, env, cwd=clone.path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(argv) == 1 and f"--since {base}" in argv[0], argv
    assert "--sarif-category secaudit" in argv[0] and f"--sarif-root {clone.path}" in argv[0]
    assert outputs["exit-code"] == "0"
    # A subfolder: the SARIF is still made relative to the repository's top folder.
    proc, argv, _ = _run_step("Audit", tmp_path, env | {"TARGET": "sub"}, cwd=clone.path)
    assert (
        proc.returncode == 0 and argv[0].startswith("audit sub ") and f"--sarif-root {clone.path}" in argv[0]
    )


@needs_git
@pytest.mark.parametrize(
    "base",
    [
        "no-such-branch", "0123456789abcdef0123456789abcdef01234567", "--upload-pack=x",
        # A refspec would write a local ref (`main:refs/heads/evil`), a forced one overwrite it.
        "main:refs/heads/evil", "+main", "two..dots",
    ],
)  # fmt: skip
def test_action_unfetchable_base_is_exit_2_with_an_error(tmp_path: Path, base: str) -> None:
    _origin, clone, _ = _origin_and_shallow_clone(tmp_path)
    env = clone.env | _step_env(
        "Audit", TARGET=".", FAIL_ON="high", FAIL_ON_PARTIAL="true", PR_BASE=base,
        CATEGORY="secaudit", SARIF=str(tmp_path / "out.sarif"),
    )  # fmt: skip
    proc, argv, outputs = _run_step("Audit", tmp_path, env, cwd=clone.path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert outputs == {"exit-code": "2"} and argv == []  # secaudit never ran, no SARIF to upload
    assert "::error::secaudit:" in proc.stdout and "base" in proc.stdout
    assert "refs/heads/evil" not in clone.git("for-each-ref", "--format=%(refname)")


def test_action_gate_and_upload_follow_the_exit_code() -> None:
    upload = next(s for s in _action()["runs"]["steps"] if "upload-sarif" in str(s.get("uses", "")))
    assert "steps.audit.outputs.sarif-file != ''" in upload["if"]
    gate = _step("Gate")["run"]
    for code, rc in (("0", 0), ("1", 1), ("2", 2), ("3", 3)):
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", gate],
            env={"PATH": os.environ["PATH"], "CODE": code}, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert proc.returncode == rc, (code, proc.stdout)
