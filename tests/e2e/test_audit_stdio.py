"""An audit over real stdio: `secaudit serve` as a subprocess, driven by the SDK's Client."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.mcp import call

pytestmark = pytest.mark.anyio


@pytest.mark.slow
async def test_cancelling_the_call_over_stdio_cancels_the_run(
    audit_settings: Settings, audit_root: Path
) -> None:
    for i in range(300):
        (audit_root / "pkg" / f"gen_{i}.py").write_text("import os\n" * 200 + "eval(input())\n" * 50)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "secaudit.server", "serve"], env=cli_env(audit_settings)
    )
    started = anyio.Event()

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        if done >= 3:
            started.set()

    with anyio.fail_after(120):
        async with Client(params) as client:
            async with anyio.create_task_group() as tg:

                async def audit() -> None:
                    await client.call_tool(
                        "run_audit",
                        {"path": str(audit_root), "scanners": ["bandit"]},
                        progress_callback=on_progress,
                    )

                tg.start_soon(audit)
                await started.wait()
                tg.cancel_scope.cancel()
            # The server records the run as cancelled once its workers are gone; poll, bounded above.
            while True:
                runs = await call(client, "list_runs", {})
                if runs["runs"] and runs["runs"][0]["status"] != "running":
                    break
                await anyio.sleep(0.05)
            assert runs["runs"][0]["status"] == "cancelled"
            assert (await call(client, "security_summary", {}))["summary"] is not None


@pytest.mark.slow
async def test_audit_end_to_end_over_stdio(audit_settings: Settings, audit_root: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "secaudit.server", "serve"], env=cli_env(audit_settings)
    )
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    with anyio.fail_after(120):
        async with Client(params) as client:
            out = await call(client, "run_audit", {"path": str(audit_root)}, progress_callback=on_progress)
            assert out["run"]["status"] in ("succeeded", "partial")
            assert out["run"]["findings_total"] > 50
            assert progress and progress[-1][0] == progress[-1][1] and progress[-1][1]
            bad = await client.call_tool("run_audit", {"path": "/"})
            assert bad.is_error
            listed = await call(client, "list_findings", {"run_id": out["run"]["id"], "rule": ["B602"]})
            assert listed["items"] and {i["rule_id"] for i in listed["items"]} == {"B602"}
