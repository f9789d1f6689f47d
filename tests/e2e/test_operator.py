"""The reference operator loop (examples/operator) end to end, every part a real process.

A tasks database that another program created by plain SQL with the exact contract schema (and
rows of its own); an audit and `tasks from-findings` file fix tasks into it; a real
`secaudit serve --http` serves it; the operator loop claims each task over HTTP with a scoped
token and runs an "agent" command that fixes the file the prompt names and re-audits it, which
closes the task; the loop then completes it with its lease id.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT
from tests.support.http import ServerProcess, tokens_env
from tests.support.tasks import FOREIGN_ROWS, foreign_rows, make_operator_db, schema_of

pytestmark = pytest.mark.slow

LOOP = REPO_ROOT / "examples" / "operator" / "operator_loop.py"
OPERATOR_TOKEN = "operator-" + "o" * 40
SOURCE = "import yaml\n\n\ndef load(data):\n    return yaml.load(data)\n"

# The agent: fixes the file named in the prompt's "Where" line and runs the audit the prompt asks for.
AGENT = """\
import os, re, subprocess, sys
prompt = sys.stdin.read()
where = re.search(r"^- Where: (\\S+), line", prompt, re.M)
root = re.search(r"^Repository root: (\\S+)$", prompt, re.M)
if where is None or root is None:
    sys.exit(3)
path = os.path.join(root.group(1), where.group(1))
with open(path) as fh:
    text = fh.read()
with open(path, "w") as fh:
    fh.write(text.replace("yaml.load(", "yaml.safe_load("))
audit = subprocess.run(
    [sys.executable, "-m", "secaudit.server", "audit", root.group(1), "--paths", where.group(1),
     "--scanners", "bandit", "--format", "json"],
    capture_output=True, text=True, timeout=300,
)
sys.exit(0 if audit.returncode == 0 else 4)
"""


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_operator_loop_over_http_on_a_shared_contract_database(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("a.py", "b.py"):
        (repo / name).write_text(SOURCE)
    operator_db = tmp_path / "operator.db"
    # The operator's rows are done or backlogged: the loop only ever sees the tasks we file.
    make_operator_db(operator_db, rows=FOREIGN_ROWS[1:])
    schema, foreign = schema_of(operator_db), foreign_rows(operator_db, ("op-2", "op-3"))
    (tmp_path / "agent.py").write_text(AGENT)

    env = {
        "SECAUDIT_STORE": str(tmp_path / "store" / "secaudit.db"),
        "SECAUDIT_TASKS_DB": str(operator_db),
        "SECAUDIT_ALLOWED_ROOTS": str(repo),
        "SECAUDIT_HTTP_TOKENS": tokens_env({"operator": ("read,write", OPERATOR_TOKEN)}),
    }
    with ServerProcess(tmp_path, env=env) as server:
        audited = _cli(server.env, "audit", str(repo), "--scanners", "bandit", "--format", "json")
        first_run = json.loads(audited.stdout)["run"]["id"]
        filed = _cli(server.env, "tasks", "from-findings", str(first_run), "--json")
        assert filed.returncode == 0, filed.stderr
        report = json.loads(filed.stdout)
        assert report["tasks_filed"] == 2 and report["dry_run"] is False
        task_ids = sorted(item["task_id"] for item in report["filed"])

        loop = subprocess.run(
            [
                sys.executable,
                str(LOOP),
                "--url",
                server.url,
                "--worker",
                "e2e-operator",
                "--lease",
                "600",
                "--",
                sys.executable,
                str(tmp_path / "agent.py"),
            ],
            env={**server.env, "SECAUDIT_OPERATOR_TOKEN": OPERATOR_TOKEN},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert loop.returncode == 0, loop.stderr
        handled = [json.loads(line) for line in loop.stdout.splitlines()]
        assert [h["task"] for h in handled] == task_ids  # queue order: same severity, a.py first
        assert all(h["command_exit"] == 0 and h["outcome"] == "complete" for h in handled), handled
        assert OPERATOR_TOKEN not in loop.stdout + loop.stderr + server.stderr()

        # Nothing is ready any more: the CLI's claim says so with its exit code.
        assert _cli(server.env, "tasks", "claim", "--worker", "after").returncode == 1

    assert (
        "yaml.safe_load(" in (repo / "a.py").read_text() and "yaml.safe_load(" in (repo / "b.py").read_text()
    )
    conn = sqlite3.connect(operator_db)
    links = conn.execute(
        "SELECT l.task_id, t.status, l.state, l.closed_by_run, l.filed_run FROM secaudit_task_links l"
        " JOIN tasks t ON t.id = l.task_id ORDER BY l.task_id"
    ).fetchall()
    conn.close()
    assert [row[0] for row in links] == task_ids
    for _task_id, status, state, closed_by, filed_run in links:
        # Completed by the agent's own audit (a later run than the one it was filed from).
        assert status == 1 and state == "completed" and closed_by is not None and closed_by > filed_run
    assert len({row[3] for row in links}) == 2  # each closed by its own verifying audit
    assert schema_of(operator_db) == schema
    assert foreign_rows(operator_db, ("op-2", "op-3")) == foreign
