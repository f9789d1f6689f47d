"""mask_secrets through MCP and `secaudit mask`; the redaction layer on task prompts and results."""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.settings import Settings
from tests.support.cli import cli_env

_RNG = random.Random(20261124)


def fake_github_token() -> str:
    return "gh" + "p_" + "".join(_RNG.choice(string.ascii_letters + string.digits) for _ in range(36))


def fake_aws_key() -> str:
    return "AK" + "IA" + "".join(_RNG.choice(string.ascii_uppercase + "234567") for _ in range(16))


@pytest.mark.anyio
async def test_mask_secrets_tool_masks_and_never_returns_raw(client: Client) -> None:
    token, aws = fake_github_token(), fake_aws_key()
    text = f"export GITHUB_TOKEN={token}\nclient = boto3.client(aws_access_key_id='{aws}')\nplain text\n"
    result = await client.call_tool("mask_secrets", {"text": text})
    assert not result.is_error and result.structured_content
    out = result.structured_content
    dumped = json.dumps(out) + "".join(c.text for c in result.content)  # type: ignore[union-attr]
    assert token not in dumped and aws not in dumped
    assert out["count"] == len(out["matches"]) >= 2
    for match in out["matches"]:
        assert match["preview"] == "***" or len(match["preview"]) <= 11
        assert 0 <= match["start"] < match["end"] <= len(text)
    assert out["masked"].endswith("plain text\n")


@pytest.mark.anyio
async def test_mask_secrets_refuses_oversized_and_wrong_types(client: Client) -> None:
    for args in ({"text": 5}, {"text": "x", "entropy": "yes"}, {"text": "x" * (2 * 1024 * 1024 + 1)}):
        result = await client.call_tool("mask_secrets", args)
        assert result.is_error
    assert not (await client.call_tool("mask_secrets", {"text": "still serving"})).is_error


@pytest.mark.anyio
async def test_secrets_in_task_prompts_never_reach_the_table(client: Client, settings: Settings) -> None:
    token = fake_github_token()
    created = await client.call_tool("create_task", {"prompt": f"rotate {token} today"})
    assert created.structured_content
    prompt = created.structured_content["task"]["prompt"]
    assert token not in prompt and prompt.startswith("rotate [MASKED:") and prompt.endswith(" today")
    listed = await client.call_tool("list_tasks", {})
    assert token not in json.dumps(listed.structured_content)
    # The database file itself, byte by byte (WAL included).
    for path in Path(settings.store_path).parent.iterdir():
        assert token.encode() not in path.read_bytes(), path.name


def test_mask_cli(settings: Settings) -> None:
    token = fake_github_token()
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "mask"],
        input=f"a\nAuthorization: Bearer {token}\nb\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(settings),
    )
    assert proc.returncode == 0
    assert token not in proc.stdout + proc.stderr
    assert proc.stdout.startswith("a\nAuthorization: Bearer [MASKED:") and proc.stdout.endswith("\nb\n")
    as_json = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "mask", "--json"],
        input=token,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(settings),
    )
    data = json.loads(as_json.stdout)
    assert data["count"] == 1 and data["matches"][0]["kind"] == "github_token"
