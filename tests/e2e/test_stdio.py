"""One real session over stdio: `secaudit serve` as a subprocess, driven by the SDK's Client."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from secaudit.server.settings import Settings
from tests.support.cli import cli_env
from tests.support.stdio import RawStdio

pytestmark = pytest.mark.slow


@pytest.mark.anyio
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


def test_item16_sdk_error_texts_mask_caller_values_and_log_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    token = "ghp_" + "Zq3" * 12
    with RawStdio(settings, tmp_path) as server:
        server.initialize()
        prompt = server.request(
            {"jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": {"name": token}}
        )
        resource = server.request(
            {"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": f"file:///{token}"}}
        )
        method = server.request({"jsonrpc": "2.0", "id": 3, "method": token})
        # The session still serves after the three refusals.
        assert "result" in server.request({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert prompt["error"]["code"] == -32602 and "Unknown prompt" in prompt["error"]["message"]
    assert resource["error"]["code"] == -32602 and "Unknown resource" in resource["error"]["message"]
    assert method["error"]["code"] == -32601
    for answer in (prompt, resource, method):
        text = json.dumps(answer)
        assert token not in text and "[MASKED:github_token]" in text, text
    log = server.stderr()
    assert "Traceback" not in log and token not in log
    assert len([line for line in log.splitlines() if "prompts/get" in line]) == 1, log
    assert len([line for line in log.splitlines() if "resources/read" in line]) == 1, log
