"""`secaudit tasks from-findings` and the operator's commands, as real subprocesses on a tasks
database another program created by plain SQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.tasks import foreign_rows, make_operator_db, schema_of

pytestmark = pytest.mark.slow

SOURCE = """\
import subprocess

import yaml


def load(data, cmd):
    subprocess.call(cmd, shell=True)
    return yaml.load(data)
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_from_findings_dry_run_file_again_group_and_max(
    settings: Settings, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "a.py").write_text(SOURCE)
    (workspace / "b.py").write_text(SOURCE)
    operator_db = tmp_path / "operator.db"
    make_operator_db(operator_db)
    schema, foreign = schema_of(operator_db), foreign_rows(operator_db)
    env = cli_env(settings, SECAUDIT_TASKS_DB=str(operator_db))

    audited = run(env, "audit", str(workspace), "--scanners", "bandit", "--format", "json")
    assert audited.returncode == 1, audited.stderr  # open findings at or above low
    run_id = json.loads(audited.stdout)["run"]["id"]

    dry = run(env, "tasks", "from-findings", str(run_id), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True and report["tasks_filed"] == 4
    assert foreign_rows(operator_db) == foreign and len(_ours(operator_db)) == 0

    capped = run(env, "tasks", "from-findings", str(run_id), "--group-by", "file", "--max", "1", "--no-plan")
    assert capped.returncode == 0, capped.stderr
    assert "filed 1 task(s) for 2 finding(s), one per file" in capped.stdout
    assert "1 more group(s) not filed: --max reached" in capped.stdout

    rest = run(env, "tasks", "from-findings", str(run_id))
    assert rest.returncode == 0, rest.stderr
    assert "filed 2 task(s) for 2 finding(s), one per finding" in rest.stdout
    assert "2 finding(s) already have a task, nothing new filed" in rest.stdout

    again = run(env, "tasks", "from-findings", str(run_id), "--json")
    assert json.loads(again.stdout)["tasks_filed"] == 0 and json.loads(again.stdout)["findings_existing"] == 4
    assert len(_ours(operator_db)) == 3
    assert schema_of(operator_db) == schema and foreign_rows(operator_db) == foreign

    shown = run(env, "tasks", "show", str(_ours(operator_db)[0]), "--json")
    source = json.loads(shown.stdout)["source"]
    assert source["group_by"] == "file" and source["findings_total"] == 2


def test_claim_exits_1_when_nothing_is_ready_and_done_checks_the_worker(settings: Settings) -> None:
    env = cli_env(settings)
    assert run(env, "tasks", "add", "only one").returncode == 0
    claimed = run(env, "tasks", "claim", "--worker", "w1", "--json")
    assert claimed.returncode == 0
    task = json.loads(claimed.stdout)["task"]
    empty = run(env, "tasks", "claim", "--worker", "w2")
    assert empty.returncode == 1 and "no ready task" in empty.stdout
    refused = run(env, "tasks", "done", str(task["id"]), "--worker", "w2")
    assert refused.returncode == 2 and "leased to another worker" in refused.stderr
    done = run(
        env, "tasks", "done", str(task["id"]), "--worker", "w1", "--lease-id", task["claim"]["lease_id"]
    )
    assert done.returncode == 0, done.stderr
    assert run(env, "tasks", "done", str(task["id"])).returncode == 0  # no lease given: not checked


def _ours(db: Path) -> list[int]:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        return [
            int(r[0]) for r in conn.execute("SELECT id FROM tasks WHERE uuid NOT LIKE 'op-%' ORDER BY id")
        ]
    finally:
        conn.close()
