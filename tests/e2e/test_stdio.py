"""One real session over stdio: `secaudit serve` as a subprocess, driven by the SDK's Client."""

from __future__ import annotations

import json
import sys
import threading
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


def _send_in_background(server: RawStdio, data: bytes) -> threading.Thread:
    # The pipe holds 64 KiB: the write returns only as fast as the server reads.
    thread = threading.Thread(target=server.send, args=(data,), daemon=True)
    thread.start()
    return thread


def test_item17_oversized_stdio_line_is_refused_without_buffering(settings: Settings, tmp_path: Path) -> None:
    with RawStdio(settings, tmp_path) as server:
        server.initialize()
        assert "result" in server.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        before = server.peak_rss_kib()

        filler = b"x" * (64 * 1024 * 1024)
        line = (
            b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"create_task",'
            b'"arguments":{"prompt":"' + filler + b'"}}}\n'
        )
        writer = _send_in_background(server, line)
        refused = server.answer(timeout=120)
        writer.join(120)
        assert not writer.is_alive(), "the server stopped reading the long line"
        assert refused is not None, "the oversized line got no answer"
        assert refused["id"] is None and refused["error"]["code"] == -32600, refused
        assert "16777216 bytes" in refused["error"]["message"]
        grown_mib = (server.peak_rss_kib() - before) / 1024
        # At most the 16 MiB cap is ever held (the SDK's reader grew by several times the line).
        assert grown_mib < 40, f"peak RSS grew by {grown_mib:.0f} MiB for a 64 MiB line"

        # The session goes on: the next request on the wire is read and served.
        created = server.request(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "create_task", "arguments": {"prompt": "after the long line"}},
            }
        )
        assert created["id"] == 3 and created["result"]["isError"] is False, created
    log = server.stderr()
    assert len([ln for ln in log.splitlines() if "SECAUDIT_MAX_REQUEST_BYTES" in ln]) == 1, log
    assert "Traceback" not in log


def test_item17_stdio_cap_is_configurable(settings: Settings, tmp_path: Path) -> None:
    with RawStdio(settings, tmp_path, SECAUDIT_MAX_REQUEST_BYTES="4096") as server:
        server.initialize()
        big = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "create_task", "arguments": {"prompt": "y" * 5000}}}  # fmt: skip
        refused = server.request(big)
        assert refused["error"]["code"] == -32600 and "4096 bytes" in refused["error"]["message"]
        small = {**big, "id": 2, "params": {"name": "create_task", "arguments": {"prompt": "y" * 3000}}}
        assert server.request(small)["result"]["isError"] is False


def test_item17_unparseable_stdio_lines_are_answered_and_logged(settings: Settings, tmp_path: Path) -> None:
    with RawStdio(settings, tmp_path) as server:
        server.initialize()
        server.send(b"this is not json\n")
        not_json = server.answer(timeout=10)
        server.send(b'{"jsonrpc":"2.0","id":1,"method":"tools/list","x":"\xff\xfe"}\n')
        not_utf8 = server.answer(timeout=10)
        server.send(b'{"hello":"world"}\n')
        wrong_shape = server.answer(timeout=10)
        server.send(b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":5}}\n')
        wrong_model = server.answer(timeout=10)
        server.send(b"\n   \n")  # blank lines are not messages: skipped, not answered
        assert "result" in server.request({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    assert not_json is not None and not_json["error"]["code"] == -32700 and not_json["id"] is None
    assert not_utf8 is not None and not_utf8["error"]["code"] == -32700
    assert wrong_shape is not None and wrong_shape["error"]["code"] == -32600
    assert wrong_model is not None and wrong_model["error"]["code"] in (-32600, -32602), wrong_model
    log = server.stderr()
    assert len([ln for ln in log.splitlines() if "stdio: answered a line" in ln]) >= 3, log


def test_item15_duplicate_keys_over_stdio_are_refused(settings: Settings, tmp_path: Path) -> None:
    with RawStdio(settings, tmp_path) as server:
        server.initialize()
        server.send(b'{"jsonrpc":"2.0","id":1,"id":999999,"method":"tools/list"}\n')
        refused = server.answer(timeout=10)
        # The session goes on; the next answer is for the next request, not for id 999999.
        assert server.request({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})["id"] == 2
    assert refused is not None and refused["id"] is None, refused
    assert refused["error"]["code"] == -32600 and "repeats a key" in refused["error"]["message"]
