"""The fix tools over the real MCP protocol (in-memory Client), and `secaudit fix` as a subprocess."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.context import AppContext
from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.fixes import finding
from tests.support.mcp import call

WEB = b"from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n"


@pytest.fixture
def findings(app_context: AppContext, workspace: Path) -> dict[str, str]:
    """Real findings: web.py audited by the real bandit scanner; name -> finding id."""
    (workspace / "web.py").write_bytes(WEB)
    assert app_context.audit is not None and app_context.findings is not None
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    page = app_context.findings.list_findings(run_id=run.id, rules=["B201"])
    assert len(page.items) == 1
    return {"f1": page.items[0].id}


@pytest.mark.anyio
async def test_fix_tools_end_to_end(client: Client, findings: dict[str, str], workspace: Path) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["apply_fix"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["revert_fix"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["list_fixes"].annotations.read_only_hint is True  # type: ignore[union-attr]

    plan = (await call(client, "plan_fix", {"finding_id": findings["f1"]}))["plan"]
    assert "+app.run(debug=False)" in plan["diff"] and plan["files"][0]["path"] == "web.py"

    dry = await call(client, "apply_fix", {"plan_id": plan["plan_id"]})
    assert dry["dry_run"] is True and dry["fix"] is None
    assert (workspace / "web.py").read_bytes() == WEB

    applied = await call(
        client,
        "apply_fix",
        {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": plan["confirm_digest"]},
    )
    assert applied["fix"]["status"] == "verified"  # the real bandit scanner re-checked web.py
    assert b"debug=False" in (workspace / "web.py").read_bytes()

    again = await client.call_tool(
        "apply_fix", {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": plan["confirm_digest"]}
    )
    assert again.is_error and "conflict" in again.content[0].text  # type: ignore[union-attr]

    listed = await call(client, "list_fixes", {})
    assert [f["fix_id"] for f in listed["items"]] == [applied["fix"]["fix_id"]]
    # The status filter takes the statuses as JSON strings, as the schema's enum lists them.
    verified = await call(client, "list_fixes", {"status": ["verified", "applied"]})
    assert [f["fix_id"] for f in verified["items"]] == [applied["fix"]["fix_id"]]
    assert (await call(client, "list_fixes", {"status": ["reverted"]}))["items"] == []

    reverted = await call(client, "revert_fix", {"fix_id": applied["fix"]["fix_id"]})
    assert reverted["fix"]["status"] == "reverted"
    assert (workspace / "web.py").read_bytes() == WEB


@pytest.mark.anyio
async def test_fix_tool_errors_are_clean(client: Client, findings: dict[str, str]) -> None:
    for name, args in [
        ("plan_fix", {"finding_id": "nope"}),
        ("plan_fix", {"finding_id": "0123456789abcdef"}),
        ("apply_fix", {}),
        ("apply_fix", {"plan_id": "a", "finding_id": findings["f1"]}),
        ("apply_fix", {"plan_id": "x", "dry_run": "false"}),  # strict: a string is not a boolean
        ("revert_fix", {"fix_id": "missing"}),
        ("list_fixes", {"limit": 0}),
        ("list_fixes", {"status": ["done"]}),
        ("list_fixes", {"status": [1]}),
        ("plan_fix", {"finding_id": findings["f1"], "extra": 1}),
    ]:
        result = await client.call_tool(name, args)
        assert result.is_error, (name, args)
        text = result.content[0].text  # type: ignore[union-attr]
        assert "Traceback" not in text and "internal error" not in text, text


@pytest.mark.slow
def test_cli_fix_plan_apply_list_revert(settings: Settings, workspace: Path, tmp_path: Path) -> None:
    (workspace / "web.py").write_bytes(WEB)
    finding_file = tmp_path / "finding.json"
    finding_file.write_text(finding("bandit", "B201", "web.py", 3).model_dump_json())

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "secaudit.server", "fix", *args],
            env=cli_env(settings),
            capture_output=True,
            text=True,
            timeout=120,
        )

    planned = run("plan", "--finding-json", str(finding_file))
    assert planned.returncode == 0, planned.stderr
    assert "+++ b/web.py" in planned.stdout
    dry = run("apply", "--finding-json", str(finding_file))
    assert dry.returncode == 0 and "dry run" in dry.stdout
    assert (workspace / "web.py").read_bytes() == WEB
    applied = run("apply", "--finding-json", str(finding_file), "--write", "--json")
    assert applied.returncode == 0, applied.stderr
    fix_id = json.loads(applied.stdout)["fix"]["fix_id"]
    assert b"debug=False" in (workspace / "web.py").read_bytes()
    listed = run("list")
    assert fix_id in listed.stdout
    reverted = run("revert", fix_id)
    assert reverted.returncode == 0 and "reverted" in reverted.stdout
    assert (workspace / "web.py").read_bytes() == WEB
    missing = run("revert", "nope")
    assert missing.returncode == 2 and "not_found" in missing.stderr


@pytest.mark.anyio
async def test_item19_full_disk_reaches_the_caller_as_a_named_condition(
    client: Client, findings: dict[str, str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 11 item 19 over the real protocol: ENOSPC on the temp file's write is the tool error
    # `write_failed` naming the condition, not "internal error (reference ...)".
    plan = (await call(client, "plan_fix", {"finding_id": findings["f1"]}))["plan"]
    real_write = os.write

    def full(fd: int, data: object) -> int:
        if ".secaudit-tmp-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", full)
    result = await client.call_tool(
        "apply_fix", {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": plan["confirm_digest"]}
    )
    monkeypatch.undo()
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and "write_failed" in text and "no space left on the device" in text, text
    assert "internal error" not in text
    assert (workspace / "web.py").read_bytes() == WEB
