"""Every task tool through the SDK's in-memory Client, over the real MCP protocol."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio

TASK_TOOLS = {
    "create_task",
    "get_task",
    "list_tasks",
    "update_task",
    "claim_next_task",
    "complete_task",
    "archive_task",
    "backlog_task",
    "ready_task",
}


async def test_tools_are_listed_with_schemas_and_annotations(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert TASK_TOOLS <= set(tools)
    for name in TASK_TOOLS:
        tool = tools[name]
        assert tool.output_schema is not None, name
        assert tool.input_schema.get("additionalProperties") is False, name
        assert tool.annotations is not None and tool.annotations.read_only_hint is not None
    assert tools["get_task"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["list_tasks"].annotations.idempotent_hint is True  # type: ignore[union-attr]
    assert tools["create_task"].annotations.read_only_hint is False  # type: ignore[union-attr]


async def test_task_lifecycle_through_tools(client: Client) -> None:
    created = (await call(client, "create_task", {"prompt": "fix CVE-1 'quoted'", "order": 2}))["task"]
    assert created["status"] == 0 and created["uuid"]
    backlog = (await call(client, "create_task", {"prompt": "later", "status": "backlogged"}))["task"]
    assert backlog["status"] == 3

    by_uuid = (await call(client, "get_task", {"uuid": created["uuid"]}))["task"]
    assert by_uuid["id"] == created["id"]

    page = await call(client, "list_tasks", {"status": ["ready"], "limit": 1})
    assert [t["id"] for t in page["items"]] == [created["id"]] and page["next_cursor"] is None

    claimed = await call(client, "claim_next_task", {"worker": "agent-1", "lease_seconds": 30})
    assert claimed["claimed"] is True and claimed["task"]["claim"]["worker"] == "agent-1"
    assert (await call(client, "claim_next_task", {"worker": "agent-2"}))["claimed"] is False

    updated = (
        await call(
            client,
            "update_task",
            {"id": created["id"], "order": 7, "expected_version": claimed["task"]["version"]},
        )
    )["task"]
    assert updated["order"] == 7

    for tool, status in (("complete_task", 1), ("archive_task", 2), ("backlog_task", 3), ("ready_task", 0)):
        moved = (await call(client, tool, {"id": created["id"]}))["task"]
        assert moved["status"] == status


async def test_conflict_is_a_clear_error(client: Client) -> None:
    task = (await call(client, "create_task", {"prompt": "x"}))["task"]
    await call(client, "update_task", {"id": task["id"], "prompt": "y", "expected_version": task["version"]})
    text = await error_text(
        client, "update_task", {"id": task["id"], "prompt": "z", "expected_version": task["version"]}
    )
    assert "conflict" in text and "read it again" in text


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("create_task", {"prompt": "x", "status": True}, "status"),
        ("create_task", {"prompt": "x", "status": 1.0}, "status"),
        ("create_task", {"prompt": "x", "status": "1"}, "string of digits"),
        ("create_task", {"prompt": "x", "status": 9}, "out of range"),
        ("create_task", {"prompt": "x", "status": 1}, "ready (0) or backlogged (3)"),
        ("create_task", {"prompt": "x", "order": "3"}, "order"),
        ("create_task", {"prompt": "x", "order": 2**64}, "order"),
        ("create_task", {"prompt": "x", "priority": 1}, "priority: unknown field"),
        ("create_task", {"prompt": 5}, "prompt"),
        ("create_task", {}, "prompt: required"),
        ("get_task", {"id": True}, "id"),
        ("get_task", {}, "exactly one of id or uuid"),
        ("get_task", {"id": 424242}, "not_found"),
        ("list_tasks", {"limit": 500}, "limit"),
        ("list_tasks", {"cursor": "bm9wZQ"}, "cursor is not valid"),
        ("claim_next_task", {"worker": ""}, "worker"),
        ("claim_next_task", {"worker": "w", "lease_seconds": 0}, "lease_seconds"),
        ("update_task", {"id": 1, "expected_version": "0" * 32}, "nothing to update"),
        ("update_task", {"id": 1, "prompt": "p"}, "expected_version"),
        (
            "update_task",
            {"id": 1, "prompt": "p", "expected_version": "2026-01-01 10:00:00"},
            "expected_version",
        ),
    ],
)
async def test_hostile_arguments_get_clear_errors(
    client: Client, tool: str, args: dict[str, Any], expected: str
) -> None:
    await call(client, "create_task", {"prompt": "keep me"})
    text = await error_text(client, tool, args)
    assert expected in text
    # Nothing was lost and the server still answers.
    page = await call(client, "list_tasks", {})
    assert [t["prompt"] for t in page["items"]] == ["keep me"]


async def test_rejected_values_are_not_echoed(client: Client) -> None:
    canary = "CANARY-VALUE-7f3a9"
    text = await error_text(client, "create_task", {"prompt": "x", "order": canary})
    assert canary not in text
    text = await error_text(client, "create_task", {"prompt": "x", canary: 1})
    assert "unknown field" in text


async def test_prompt_over_the_cap(client: Client, settings: Any) -> None:
    text = await error_text(client, "create_task", {"prompt": "a" * (settings.max_prompt_bytes + 1)})
    assert "the limit is" in text
