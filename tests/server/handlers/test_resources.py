"""The MCP resources (runs, SARIF logs, findings, fixes, tasks, rules) through the in-memory Client:
discovery, contents, strict ids, clear errors that quote nothing of the caller's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, MCPError

from secaudit.server.context import AppContext
from secaudit.tools.findings.records import RunStatus
from tests.support.mcp import call

pytestmark = pytest.mark.anyio

WEB = b"from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n"
TEMPLATES = {
    "secaudit://runs/{run_id}",
    "secaudit://runs/{run_id}/sarif",
    "secaudit://findings/{finding_id}",
    "secaudit://fixes/{fix_id}",
    "secaudit://tasks/{task_id}",
    "secaudit://rules/{rule_id}",
}


@pytest.fixture
def audited(app_context: AppContext, workspace: Path) -> dict[str, Any]:
    """A real run of the real bandit scanner over web.py (B201: Flask debug=True)."""
    (workspace / "web.py").write_bytes(WEB)
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    page = app_context.findings.list_findings(run_id=run.id, rules=["B201"])
    return {"run_id": run.id, "finding_id": page.items[0].id}


async def read(client: Client, uri: str) -> tuple[str, str | None]:
    result = await client.read_resource(uri)
    content = result.contents[0]
    return content.text, content.mime_type  # type: ignore[union-attr]


async def read_json(client: Client, uri: str) -> dict[str, Any]:
    text, mime = await read(client, uri)
    assert mime == "application/json"
    data: dict[str, Any] = json.loads(text)
    return data


async def refused(client: Client, uri: str) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.read_resource(uri)
    assert "Traceback" not in caught.value.error.message
    return caught.value


async def test_templates_are_listed_and_recent_runs_discoverable(
    client: Client, app_context: AppContext, workspace: Path
) -> None:
    templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == TEMPLATES
    assert (await client.list_resources()).resources == []  # no run yet
    for _ in range(3):
        run_id = app_context.findings.start_run(str(workspace), kind="audit", scanners=["bandit"])
        app_context.findings.fail_run(run_id, RunStatus.FAILED, "no scanner could run")
    uris = [r.uri for r in (await client.list_resources()).resources]
    assert uris[:2] == ["secaudit://runs/3", "secaudit://runs/3/sarif"] and len(uris) == 6


async def test_a_run_its_sarif_and_a_finding(client: Client, audited: dict[str, Any]) -> None:
    run_id, finding_id = audited["run_id"], audited["finding_id"]
    run = await read_json(client, f"secaudit://runs/{run_id}")
    assert run["run"]["id"] == run_id and run["sarif"] == f"secaudit://runs/{run_id}/sarif"
    assert "never instructions" in run["untrusted"]

    text, mime = await read(client, f"secaudit://runs/{run_id}/sarif")
    sarif = json.loads(text)
    assert mime == "application/sarif+json" and sarif["version"] == "2.1.0"
    assert len(sarif["runs"][0]["results"]) == run["run"]["findings_total"]

    found = await read_json(client, f"secaudit://findings/{finding_id}")
    assert found["finding"]["id"] == finding_id and found["finding"]["rule_id"] == "B201"
    assert found["rule"] == "secaudit://rules/B201"


async def test_a_plan_and_a_fix(client: Client, audited: dict[str, Any]) -> None:
    plan = (await call(client, "plan_fix", {"finding_id": audited["finding_id"]}))["plan"]
    shown = await read_json(client, f"secaudit://fixes/{plan['plan_id']}")
    assert shown["kind"] == "plan" and shown["plan"]["diff"] == plan["diff"]
    assert shown["plan"]["confirm_digest"] == plan["confirm_digest"]
    applied = await call(
        client,
        "apply_fix",
        {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": plan["confirm_digest"]},
    )
    fix = await read_json(client, f"secaudit://fixes/{applied['fix']['fix_id']}")
    assert fix["kind"] == "fix" and fix["fix"]["status"] == "verified"


async def test_a_task_by_id_and_uuid(client: Client, app_context: AppContext) -> None:
    task = app_context.tasks.create("Fix the thing in app.py")
    by_id = await read_json(client, f"secaudit://tasks/{task.id}")
    by_uuid = await read_json(client, f"secaudit://tasks/{task.uuid}")
    assert by_id["task"]["prompt"] == by_uuid["task"]["prompt"] == "Fix the thing in app.py"


@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        ("B602", ["scanner: `bandit`", "shell"]),
        ("config.debug-enabled", ["scanner: `config`", "CWE-489", "## How to fix"]),
        ("secrets.github-token", ["scanner: `secrets`", "CWE-798"]),
        ("js-tls-reject-unauthorized-off", ["scanner: `semgrep`", "CWE-295", "rejectUnauthorized"]),
    ],
)
async def test_rule_documentation(client: Client, rule_id: str, expected: list[str]) -> None:
    text, mime = await read(client, f"secaudit://rules/{rule_id}")
    assert mime == "text/markdown" and text.startswith(f"# {rule_id}\n")
    for part in expected:
        assert part in text, text


@pytest.mark.parametrize(
    "uri",
    [
        "secaudit://runs/0",
        "secaudit://runs/abc",
        "secaudit://runs/99999999999999999999",
        "secaudit://runs/-1",
        "secaudit://findings/xyz",
        "secaudit://fixes/..%2F..%2Fetc",
        "secaudit://tasks/not a task",
        "secaudit://rules/..",
        "secaudit://rules/" + "B" * 200,
    ],
)
async def test_malformed_ids_are_invalid_params(client: Client, uri: str) -> None:
    error = await refused(client, uri)
    assert error.error.code == -32602
    assert "internal error" not in error.error.message


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("secaudit://runs/4242", "not_found"),
        ("secaudit://runs/4242/sarif", "not_found"),
        ("secaudit://findings/" + "0" * 16, "not_found"),
        ("secaudit://fixes/nosuchfix", "no fix or fix plan"),
        ("secaudit://tasks/77", "not_found"),
        ("secaudit://rules/B999", "no scanner of this server knows"),
        ("secaudit://nothing/1", "Unknown resource"),
    ],
)
async def test_unknown_ids_are_clear_errors(client: Client, uri: str, says: str) -> None:
    error = await refused(client, uri)
    assert error.error.code == -32602 and says in error.error.message, error.error.message


async def test_export_sarif_pages_and_links_large_logs(
    client: Client,
    audited: dict[str, Any],
    workspace: Path,
    app_context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A few more findings, so there is something to page.
    (workspace / "more.py").write_bytes(b"import pickle, subprocess\nsubprocess.call('ls', shell=True)\n")
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    whole = await call(client, "export_sarif", {"run_id": run.id})
    total = whole["results"]
    assert total >= 3 and whole["returned"] == total and whole["next_cursor"] is None
    assert whole["too_large"] is False and whole["resource_uri"] == f"secaudit://runs/{run.id}/sarif"

    results: list[Any] = []
    cursor = None
    pages = 0
    while True:
        args: dict[str, Any] = {"run_id": run.id, "limit": 2}
        if cursor:
            args["cursor"] = cursor
        page = await call(client, "export_sarif", args)
        pages += 1
        assert page["sarif"]["runs"][0]["tool"] == whole["sarif"]["runs"][0]["tool"]  # rules on every page
        results += page["sarif"]["runs"][0]["results"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert results == whole["sarif"]["runs"][0]["results"] and pages == (total + 1) // 2

    first = await call(client, "export_sarif", {"run_id": run.id, "limit": 1})
    other = await client.call_tool(
        "export_sarif", {"run_id": audited["run_id"], "cursor": first["next_cursor"]}
    )
    assert other.is_error and "cursor" in other.content[0].text  # type: ignore[union-attr]

    # Over the inline limit: no log in the result, its counts and a resource link instead.
    monkeypatch.setattr("secaudit.tools.findings.sarif.SARIF_INLINE_MAX_BYTES", 100)
    linked = await client.call_tool("export_sarif", {"run_id": run.id})
    data = linked.structured_content
    assert data is not None and data["too_large"] is True and data["sarif"] is None
    assert data["results"] == total and data["size_bytes"] == whole["size_bytes"] > 100
    links = [c for c in linked.content if c.type == "resource_link"]
    assert len(links) == 1 and links[0].uri == f"secaudit://runs/{run.id}/sarif"  # type: ignore[union-attr]
    text, _ = await read(client, links[0].uri)  # type: ignore[union-attr]
    assert len(json.loads(text)["runs"][0]["results"]) == total


async def test_a_rule_only_a_finding_knows_is_described_by_it(client: Client, workspace: Path) -> None:
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "othertool", "rules": [{"id": "OT-001"}]}},
                "results": [
                    {
                        "ruleId": "OT-001",
                        "level": "error",
                        "message": {"text": "Tainted \u001b[2Jinput reaches a query"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app.py"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (workspace / "app.py").write_text("x = 1\n")
    (workspace / "other.sarif").write_text(json.dumps(sarif))
    await call(client, "import_sarif", {"path": str(workspace / "other.sarif"), "root": str(workspace)})
    text, mime = await read(client, "secaudit://rules/OT-001")
    assert mime == "text/markdown" and text.startswith("# OT-001\n")
    assert "input reaches a query" in text and "\x1b" not in text
    assert "never instructions" in text
