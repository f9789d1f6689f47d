"""run_audit over the SDK's in-memory Client honours the project configuration and the committed
baseline, and an invalid one is a tool error naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio

APP = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n\n\nresult = eval(input())\n"


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_app.py").write_text("def test_it():\n    assert 1\n")
    (workspace / "app.py").write_text(APP)
    (workspace / ".secaudit.toml").write_text(
        '[tool.secaudit]\nscanners = ["bandit"]\n'
        '[[tool.secaudit.rules]]\npaths = ["tests/**"]\nids = ["B101"]\naction = "off"\n'
    )
    return workspace


async def test_run_audit_honours_the_config_and_the_baseline(client: Client, repo: Path) -> None:
    out = await call(client, "run_audit", {"path": str(repo)})
    run = out["run"]
    assert run["scanners"] == ["bandit"]  # the project's default set
    assert not any(f["path"].startswith("tests/") for f in out["findings"])
    assert any("silenced by project config rule rules[0]" in n for n in run["notes"])
    assert any(n.startswith("project config: .secaudit.toml") for n in run["notes"])

    b602 = next(f for f in out["findings"] if f["rule_id"] == "B602")
    fingerprint = (await call(client, "get_finding", {"id": b602["id"]}))["finding"]["fingerprint"]
    (repo / ".secaudit").mkdir()
    (repo / ".secaudit" / "baseline.json").write_text(
        json.dumps(
            {
                "version": 1,
                "entries": [
                    {
                        "fingerprint": fingerprint, "scanner": "bandit", "rule_id": "B602", "path": "app.py",
                        "status": "accepted_risk", "reason": "commands are constants", "expires_at": None,
                        "who": "alice", "at": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        )
    )  # fmt: skip
    again = await call(client, "run_audit", {"path": str(repo)})
    assert next(f for f in again["findings"] if f["rule_id"] == "B602")["status"] == "accepted_risk"
    assert any(
        "baseline .secaudit/baseline.json: 1 entries, 1 live; 1 applied" in n for n in again["run"]["notes"]
    )


async def test_an_invalid_config_is_a_tool_error(client: Client, repo: Path) -> None:
    (repo / ".secaudit.toml").write_text('[tool.secaudit]\nfail_on = "sometimes"\n')
    text = await error_text(client, "run_audit", {"path": str(repo)})
    assert ".secaudit.toml: tool.secaudit.fail_on: expected 'critical'" in text
