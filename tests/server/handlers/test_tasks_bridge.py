"""file_fix_tasks and the loop it starts, through the SDK's in-memory Client over the real MCP
protocol: real audits (bandit), a real mechanical fix, triage, and a problem that comes back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio

VULNERABLE = """\
import subprocess

import yaml


def load(data, cmd):
    subprocess.call(cmd, shell=True)
    return yaml.load(data)
"""


async def _audit(client: Client, root: Path) -> dict[str, Any]:
    return (await call(client, "run_audit", {"path": str(root), "scanners": ["bandit"]}))["run"]


async def _task(client: Client, task_id: int) -> dict[str, Any]:
    task: dict[str, Any] = (await call(client, "get_task", {"id": task_id}))["task"]
    return task


async def test_file_fix_tasks_then_fix_triage_and_return(client: Client, workspace: Path) -> None:
    (workspace / "app.py").write_text(VULNERABLE)
    run = await _audit(client, workspace)
    assert run["status"] == "succeeded" and run["findings_total"] >= 3

    dry = await call(client, "file_fix_tasks", {"run_id": run["id"]})
    assert dry["dry_run"] is True and dry["tasks_filed"] == 2  # B602 high, B506 medium; B404 is low
    assert all(item["task_id"] is None for item in dry["filed"]) and dry["filed"][0]["prompt"]
    assert (await call(client, "list_tasks", {}))["items"] == []  # a dry run writes no task

    filed = await call(client, "file_fix_tasks", {"run_id": run["id"], "dry_run": False})
    assert filed["tasks_filed"] == 2 and [i["severity"] for i in filed["filed"]] == ["high", "medium"]
    shell_id, yaml_id = (item["task_id"] for item in filed["filed"])
    again = await call(client, "file_fix_tasks", {"run_id": run["id"], "dry_run": False})
    assert again["tasks_filed"] == 0 and again["findings_existing"] == 2

    listed = (await call(client, "list_tasks", {"sort": "queue"}))["items"]
    assert [t["id"] for t in listed] == [shell_id, yaml_id]
    assert all(t["source"]["findings"][0]["status"] == "new" for t in listed)

    # The agent's side: read the prompt, apply the plan it names, re-audit as it says.
    task = await _task(client, yaml_id)
    assert task["source"]["group_by"] == "finding" and task["source"]["filed_run"] == run["id"]
    named = re.search(
        r'apply_fix \{"plan_id": "([0-9a-f]{32})", "dry_run": false, "confirm_digest": "([0-9a-f]{64})"\}',
        task["prompt"],
    )
    assert named is not None, task["prompt"]
    applied = await call(
        client,
        "apply_fix",
        {"plan_id": named.group(1), "dry_run": False, "confirm_digest": named.group(2)},
    )
    assert applied["fix"]["status"] == "verified"
    assert (await _task(client, yaml_id))["status"] == 0  # a fix's own check is not the audit
    fixing = await _audit(client, workspace)
    assert any(f"completed #{yaml_id}" in n for n in fixing["notes"])
    done = await _task(client, yaml_id)
    assert done["status"] == 1 and done["source"]["state"] == "completed"
    assert done["source"]["closed_by_run"] == fixing["id"]
    assert done["source"]["findings"][0]["status"] == "fixed"

    # A false positive: triaged, its task archived.
    shell = await _task(client, shell_id)
    finding_id = shell["source"]["findings"][0]["id"]
    await call(
        client,
        "triage_finding",
        {"id": finding_id, "status": "accepted_risk", "reason": "cmd is a constant from our own config"},
    )
    archived = await _task(client, shell_id)
    assert archived["status"] == 2 and archived["source"]["state"] == "archived"

    # The unsafe load comes back: the completed task is ready again.
    (workspace / "app.py").write_text(VULNERABLE)
    back = await _audit(client, workspace)
    assert any(f"re-readied #{yaml_id}" in n for n in back["notes"])
    again_ready = await _task(client, yaml_id)
    assert again_ready["status"] == 0 and again_ready["source"]["state"] == "open"
    assert (await _task(client, shell_id))["status"] == 2


async def test_group_modes_max_and_refusals(client: Client, workspace: Path) -> None:
    for name in ("a.py", "b.py"):
        (workspace / name).write_text(VULNERABLE)
    run = await _audit(client, workspace)
    by_rule = await call(
        client, "file_fix_tasks", {"run_id": run["id"], "group_by": "rule", "plan_fixes": False}
    )
    assert sorted(i["group_key"] for i in by_rule["filed"]) == ["bandit/B506", "bandit/B602"]
    assert all(len(i["finding_ids"]) == 2 for i in by_rule["filed"])
    capped = await call(
        client,
        "file_fix_tasks",
        {"run_id": run["id"], "group_by": "file", "max_tasks": 1, "dry_run": False, "min_severity": "high"},
    )
    assert capped["tasks_filed"] == 1 and capped["groups_over_max"] == 1
    assert capped["filed"][0]["group_key"] == "a.py"

    assert "group_by" in await error_text(client, "file_fix_tasks", {"run_id": run["id"], "group_by": "dir"})
    missing = await error_text(client, "file_fix_tasks", {"run_id": 99999})
    assert "run 99999 does not exist" in missing


async def test_completing_checks_the_lease_holder(client: Client) -> None:
    await call(client, "create_task", {"prompt": "one"})
    claimed = (await call(client, "claim_next_task", {"worker": "agent-1"}))["task"]
    refused = await error_text(client, "complete_task", {"id": claimed["id"], "lease_id": "f" * 32})
    assert "leased to another worker" in refused
    done = await call(
        client, "complete_task", {"id": claimed["id"], "lease_id": claimed["claim"]["lease_id"]}
    )
    assert done["task"]["status"] == 1


async def test_file_fix_tasks_is_a_write_tool(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    tool = tools["file_fix_tasks"]
    assert tool.annotations is not None and tool.annotations.read_only_hint is False
    assert tool.input_schema.get("additionalProperties") is False
    assert tool.input_schema["properties"]["dry_run"]["default"] is True
