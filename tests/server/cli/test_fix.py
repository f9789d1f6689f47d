"""`secaudit fix` as a real subprocess: where its paths are read from (issue 11 item 22)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from secaudit.server.settings import Settings
from tests.support.cli import cli_env, secaudit_in
from tests.support.fixes import finding

WEB = b"app.run(debug=True)\n"


def test_item22_relative_repo_is_read_against_the_current_folder(settings: Settings, tmp_path: Path) -> None:
    # Two allowed roots; run from the second with `--repo .`: the plan is for the second (it was
    # read against the first root, which has no such file).
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (second / "web.py").write_bytes(WEB)
    found = tmp_path / "finding.json"
    found.write_text(finding("bandit", "B201", "web.py", 1).model_dump_json())
    env = cli_env(settings)
    env["SECAUDIT_ALLOWED_ROOTS"] = os.pathsep.join([str(first), str(second)])
    proc = secaudit_in(env, second, "fix", "plan", "--finding-json", str(found), "--repo", ".", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["root"] == str(second.resolve()) and "+app.run(debug=False)" in plan["diff"]


def test_item22_fix_plan_from_a_subfolder_says_what_to_pass(settings: Settings, tmp_path: Path) -> None:
    # Audited from the repository root, planned from a subfolder with no root configured (the CLI
    # then allows the current folder): the refusal names the relation and the --root to pass.
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "web.py").write_bytes(b"from flask import Flask\napp = Flask(__name__)\n" + WEB)
    env = cli_env(settings)
    del env["SECAUDIT_ALLOWED_ROOTS"]
    audited = secaudit_in(env, repo, "audit", ".", "--scanners", "bandit", "--format", "json")
    assert audited.returncode == 1, audited.stderr
    [target] = [f["id"] for f in json.loads(audited.stdout)["findings"] if f["rule_id"] == "B201"]
    proc = secaudit_in(env, repo / "pkg", "fix", "plan", target)
    assert proc.returncode == 2
    assert "path_not_allowed" in proc.stderr and "1 folder(s) above the allowed root" in proc.stderr
    assert f"--root {(repo / 'pkg').resolve()}/.." in proc.stderr, proc.stderr
    again = secaudit_in(env, repo / "pkg", "fix", "plan", target, "--root", "..")
    assert again.returncode == 0, again.stderr
    assert "+app.run(debug=False)" in again.stdout
