"""One real session over stdio: `secaudit serve` as a subprocess, driven by the SDK's Client."""

from __future__ import annotations

import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from secaudit.server.settings import Settings
from tests.support.cli import cli_env

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_stdio_session_survives_a_bad_call(settings: Settings) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "secaudit.server", "serve"],
        env=cli_env(settings),
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert {"create_task", "claim_next_task"} <= names

            bad = await client.call_tool("create_task", {"prompt": "x", "status": "1"})
            assert bad.is_error
            assert "string of digits" in bad.content[0].text  # type: ignore[union-attr]

            good = await client.call_tool("create_task", {"prompt": "after the bad call"})
            assert not good.is_error and good.structured_content
            task_id = good.structured_content["task"]["id"]

            got = await client.call_tool("get_task", {"id": task_id})
            assert got.structured_content and got.structured_content["task"]["prompt"] == "after the bad call"
