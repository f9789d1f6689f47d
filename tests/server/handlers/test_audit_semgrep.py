"""run_audit with scanners=["semgrep"], through the real MCP protocol (the SDK's in-memory Client)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import build_context
from secaudit.server.settings import load_settings
from tests.support.mcp import call
from tests.support.semgrep import FIXTURE_RULES, require_semgrep

pytestmark = pytest.mark.anyio


async def test_run_audit_accepts_semgrep_and_lists_it(tmp_path: Path) -> None:
    semgrep = require_semgrep()
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "handler.ts").write_text(
        "export const h = (req: any) => {\n  return eval(req.body.code);\n};\n", encoding="utf-8"
    )
    settings = load_settings(
        environ={},
        store_path=tmp_path / "store" / "secaudit.db",
        allowed_roots=(repo,),
        log_level="WARNING",
        semgrep_path=semgrep,
        semgrep_rules=str(FIXTURE_RULES),
        engines_dir=tmp_path / "engines",
    )
    app = build_context(settings)
    try:
        async with Client(build_server(settings, context=app)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            run_audit = tools["run_audit"]
            assert "semgrep" in (run_audit.description or "")
            assert "semgrep" in str(run_audit.input_schema["properties"]["scanners"])
            out = await call(client, "run_audit", {"path": str(repo), "scanners": ["semgrep"]})
    finally:
        app.close()
    run = out["run"]
    assert run["status"] == "succeeded"
    [cov] = run["coverage"]
    assert (cov["scanner"], cov["selected"], cov["scanned"], cov["complete"]) == ("semgrep", 1, 1, True)
    mine = [f for f in out["findings"] if f["rule_id"] == "fixture-eval-body"]
    assert [(f["scanner"], f["path"], f["start_line"], f["severity"]) for f in mine] == [
        ("semgrep", "src/handler.ts", 2, "critical")
    ]
