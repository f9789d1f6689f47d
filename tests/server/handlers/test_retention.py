"""A run pruned by the run-history retention (SECAUDIT_RUNS_KEPT) over MCP: listed as pruned, its
findings refused with the setting named and a newer run to use, by tools and resources alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client, MCPError

from secaudit.server.app import build_server
from secaudit.server.context import build_context
from secaudit.server.settings import Settings, load_settings
from tests.support.history import age_runs
from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio


@pytest.fixture
def kept_one(tmp_path: Path, workspace: Path) -> Settings:
    (workspace / "web.py").write_bytes(
        b"from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n"
    )
    return load_settings(
        environ={"SECAUDIT_RUNS_KEPT": "1"},
        store_path=tmp_path / "store" / "secaudit.db",
        allowed_roots=(workspace,),
        log_level="WARNING",
    )


@pytest.fixture
async def pruning(kept_one: Settings, workspace: Path) -> AsyncIterator[tuple[Client, list[int]]]:
    app = build_context(kept_one)
    try:
        assert app.audit is not None
        # The whole tree, then two one-file runs: the first is the newest full audit and stays.
        runs = [app.audit.run(str(workspace), scanners=["bandit"]).id]
        for _ in range(2):
            age_runs(app.store)  # as if the runs so far were an hour old: past the retention's grace
            runs.append(app.audit.run(str(workspace), scanners=["bandit"], paths=["web.py"]).id)
        async with Client(build_server(kept_one, context=app)) as client:
            yield client, runs
    finally:
        app.close()


async def test_a_pruned_run_is_listed_as_such_and_its_findings_refused(
    pruning: tuple[Client, list[int]],
) -> None:
    client, (full, pruned, newest) = pruning
    listed = await call(client, "list_runs", {})
    assert {r["id"]: r["pruned"] for r in listed["runs"]} == {full: False, pruned: True, newest: False}
    assert (await call(client, "get_run", {"run_id": pruned}))["run"]["pruned"] is True
    for name, args in (
        ("list_findings", {"run_id": pruned}),
        ("export_sarif", {"run_id": pruned}),
        ("compare_runs", {"base_run": pruned, "head_run": newest}),
    ):
        text = await error_text(client, name, args)
        assert "run_pruned: the findings of run" in text and "SECAUDIT_RUNS_KEPT" in text, name
        assert f"run {newest} is the newest" in text, name
    with pytest.raises(MCPError) as caught:
        await client.read_resource(f"secaudit://runs/{pruned}/sarif")
    assert "SECAUDIT_RUNS_KEPT" in caught.value.error.message
    assert (await call(client, "list_findings", {"run_id": full}))["items"]
