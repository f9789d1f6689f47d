"""The audit and findings tools through the SDK's in-memory Client.

The same over real stdio, `secaudit serve` as a subprocess: tests/e2e/test_audit_stdio.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.settings import Settings
from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio

AUDIT_TOOLS = {
    "run_audit",
    "get_run",
    "list_runs",
    "export_sarif",
    "import_sarif",
    "list_findings",
    "get_finding",
    "triage_finding",
    "compare_runs",
    "security_summary",
}


async def test_tools_listed_with_schemas_and_annotations(audit_client: Client) -> None:
    tools = {t.name: t for t in (await audit_client.list_tools()).tools}
    assert AUDIT_TOOLS <= set(tools)
    for name in AUDIT_TOOLS:
        tool = tools[name]
        assert tool.output_schema and tool.input_schema.get("additionalProperties") is False
        assert tool.annotations is not None
    assert tools["list_findings"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["run_audit"].annotations.read_only_hint is False  # type: ignore[union-attr]
    assert all(t.annotations.open_world_hint is False for t in tools.values())  # type: ignore[union-attr]


async def test_run_audit_is_open_world_when_online_backends_are_on(audit_settings: Settings) -> None:
    online = audit_settings.model_copy(update={"deps_online": ("osv",)})
    async with Client(build_server(online)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["run_audit"].annotations.open_world_hint is True  # type: ignore[union-attr]
    assert tools["list_findings"].annotations.open_world_hint is False  # type: ignore[union-attr]


async def test_audit_workflow_through_tools(audit_client: Client, audit_root: Path) -> None:
    progress: list[tuple[float, float | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total))

    out = await call(audit_client, "run_audit", {"path": str(audit_root), "scanners": ["bandit"]},
                     progress_callback=on_progress)  # fmt: skip
    run = out["run"]
    assert run["status"] == "succeeded" and run["findings_total"] > 50
    assert out["findings"] and out["next_cursor"]
    assert progress and progress[-1][0] == progress[-1][1]

    page = await call(
        audit_client, "list_findings", {"run_id": run["id"], "min_severity": "high", "limit": 5}
    )
    assert 0 < len(page["items"]) <= 5 and all(i["severity"] in ("high", "critical") for i in page["items"])
    nxt = await call(
        audit_client, "list_findings",
        {"run_id": run["id"], "min_severity": "high", "limit": 5, "cursor": page["next_cursor"]},
    )  # fmt: skip
    assert not {i["id"] for i in nxt["items"]} & {i["id"] for i in page["items"]}

    fid = page["items"][0]["id"]
    full = (await call(audit_client, "get_finding", {"id": fid}))["finding"]
    assert full["fingerprint"] and full["snippet"] and full["references"]

    tri = await call(
        audit_client, "triage_finding", {"id": fid, "status": "false_positive", "reason": "test"}
    )
    assert tri["finding"]["status"] == "false_positive"

    again = await call(audit_client, "run_audit", {"path": str(audit_root), "scanners": ["bandit"]})
    assert again["run"]["files_cached"] == again["run"]["files_scanned"]
    listed = await call(audit_client, "list_findings", {"status": ["false_positive"]})
    assert [i["id"] for i in listed["items"]] == [fid]

    cmp = await call(audit_client, "compare_runs", {"base_run": run["id"], "head_run": again["run"]["id"]})
    assert cmp["comparison"]["new_count"] == 0 and cmp["comparison"]["fixed_count"] == 0

    summary = await call(audit_client, "security_summary", {"root": str(audit_root)})
    assert summary["summary"]["by_status"]["false_positive"] == 1 and len(summary["summary"]["trend"]) == 2

    sarif = await call(audit_client, "export_sarif", {"run_id": run["id"]})
    assert sarif["results"] == run["findings_total"] and sarif["sarif"]["version"] == "2.1.0"
    path = audit_root / "export.sarif"
    path.write_text(json.dumps(sarif["sarif"]))
    imported = await call(audit_client, "import_sarif", {"path": str(path), "root": str(audit_root)})
    assert imported["run"]["kind"] == "import" and imported["run"]["findings_total"] == run["findings_total"]

    runs = await call(audit_client, "list_runs", {"root": str(audit_root)})
    assert [r["id"] for r in runs["runs"]][:1] == [imported["run"]["id"]]
    assert runs["next_cursor"] is None
    first = await call(audit_client, "list_runs", {"root": str(audit_root), "limit": 1})
    rest = await call(audit_client, "list_runs", {"root": str(audit_root), "cursor": first["next_cursor"]})
    assert [r["id"] for r in first["runs"] + rest["runs"]] == [r["id"] for r in runs["runs"]]
    assert "cursor" in await error_text(audit_client, "list_runs", {"cursor": first["next_cursor"]})
    got = await call(audit_client, "get_run", {"run_id": run["id"]})
    assert got["run"]["coverage"][0]["scanner"] == "bandit"


async def test_bad_input_gives_clear_errors_and_the_server_keeps_serving(
    audit_client: Client, audit_root: Path, tmp_path: Path
) -> None:
    assert "outside the allowed roots" in await error_text(audit_client, "run_audit", {"path": str(tmp_path)})
    assert "does not exist" in await error_text(audit_client, "run_audit", {"path": str(audit_root / "nope")})
    assert "not a folder" in await error_text(
        audit_client, "run_audit", {"path": str(audit_root / "pkg" / "patterns.py")}
    )
    assert "unknown scanner" in await error_text(
        audit_client, "run_audit", {"path": str(audit_root), "scanners": ["nosuch"]}
    )
    assert "unknown field" in await error_text(audit_client, "run_audit", {"path": "x", "extra": 1})
    assert "limit" in await error_text(audit_client, "list_findings", {"limit": 1000})
    assert "not_found" in await error_text(audit_client, "get_finding", {"id": "0" * 16})
    assert "reason" in await error_text(
        audit_client, "triage_finding", {"id": "0" * 16, "status": "wont_fix", "reason": ""}
    )
    assert "not_found" in await error_text(audit_client, "export_sarif", {"run_id": 12345})
    (audit_root / "bad.sarif").write_text("{nope")
    assert "not valid JSON" in await error_text(
        audit_client, "import_sarif", {"path": str(audit_root / "bad.sarif")}
    )
    # A hostile tree is per-file skips, not an error.
    (audit_root / "nul.py").write_bytes(b"\x00\x00")
    os.mkfifo(audit_root / "fifo.py")
    ok = await call(audit_client, "run_audit", {"path": str(audit_root), "scanners": ["bandit"]})
    reasons = {s["path"]: s["reason"] for s in ok["run"]["skips"]}
    assert "NUL" in reasons["nul.py"] and "FIFO" in reasons["fifo.py"]


async def test_item12_run_audit_include_test_paths(audit_client: Client, audit_root: Path) -> None:
    # Issue 11 item 12 over the protocol: `include_test_paths` (default false) reports what the
    # default run only lists per file in its notes.
    from tests.tools.scanners.test_secrets_scanner import POSITIVES

    template, value = POSITIVES["secrets.keyword"]
    (audit_root / "tests").mkdir()
    (audit_root / "tests" / "test_login.py").write_text(template.format(v=value))
    args = {"path": str(audit_root), "scanners": ["secrets"], "paths": ["tests/test_login.py"]}
    default = await call(audit_client, "run_audit", args)
    assert default["findings"] == []
    assert any("tests/test_login.py=" in n for n in default["run"]["notes"])
    included = await call(audit_client, "run_audit", {**args, "include_test_paths": True})
    assert [f["rule_id"] for f in included["findings"]] == ["secrets.keyword"]
    result = await audit_client.call_tool("run_audit", {**args, "include_test_paths": "yes"})
    assert result.is_error  # strict: a string is not a boolean
