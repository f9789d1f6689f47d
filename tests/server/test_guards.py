"""The call guards on the in-process (stdio-equivalent) transport: rate limit and event log."""

from __future__ import annotations

from pathlib import Path

import anyio
from mcp.client import Client

from secaudit.server.app import build_server
from secaudit.server.context import build_context
from secaudit.server.settings import load_settings


def _settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {"SECAUDIT_STORE": str(tmp_path / "s.db"), "SECAUDIT_ALLOWED_ROOTS": str(tmp_path), **env}
    )


async def _calls(tmp_path: Path) -> list[tuple[bool, str]]:
    settings = _settings(tmp_path, SECAUDIT_RATE_LIMIT_WRITE="2/minute")
    context = build_context(settings)
    server = build_server(settings, context=context)
    out = []
    async with Client(server) as client:
        for i in range(3):
            r = await client.call_tool("create_task", {"prompt": f"stdio {i}"})
            out.append((r.is_error, str(r.content)))
        r = await client.call_tool("list_tasks", {})
        out.append((r.is_error, ""))
    return out


def test_rate_limit_applies_over_stdio_too(tmp_path: Path) -> None:
    results = anyio.run(_calls, tmp_path)
    assert [err for err, _ in results] == [False, False, True, False]
    assert "rate_limited" in results[2][1] and "retry in" in results[2][1]
    context = build_context(_settings(tmp_path))
    assert context.events is not None
    calls = context.events.list(kinds=["tool_call"])
    outcomes = sorted(str(e.outcome) for e in calls)
    assert outcomes == ["ok", "ok", "ok", "rate_limited"]
    assert {e.identity for e in calls} == {"local"} and {e.transport for e in calls} == {"stdio"}
