"""apply_fix's confirmation over the real protocol (in-memory Client): elicitation on a client that
declares it (accept, decline, cancel, an unticked box; both protocol eras), the plan's
confirm_digest on one that does not, and never a write without one of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import mcp.types as mcp_types
import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import AppContext
from secaudit.server.settings import Settings
from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio

WEB = b"from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n"
Answer = Callable[[Any, mcp_types.ElicitRequestParams], Awaitable[mcp_types.ElicitResult]]


@pytest.fixture
def finding_id(app_context: AppContext, workspace: Path) -> str:
    """A real finding: web.py audited by the real bandit scanner (B201, Flask debug=True)."""
    (workspace / "web.py").write_bytes(WEB)
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    page = app_context.findings.list_findings(run_id=run.id, rules=["B201"])
    assert len(page.items) == 1
    return page.items[0].id


def answering(action: str, content: dict[str, Any] | None, asked: list[str]) -> Answer:
    async def answer(_ctx: Any, params: mcp_types.ElicitRequestParams) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return answer


def _client(settings: Settings, app: AppContext, answer: Answer | None, mode: str = "auto") -> Client:
    return Client(build_server(settings, context=app), elicitation_callback=answer, mode=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["plan_id", "finding_id"])
@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 (input_required) and 2025-11-25
async def test_an_accepted_elicitation_writes_the_plan(
    settings: Settings, app_context: AppContext, finding_id: str, workspace: Path, mode: str, target: str
) -> None:
    asked: list[str] = []
    async with _client(settings, app_context, answering("accept", {"apply": True}, asked), mode) as client:
        plan = (await call(client, "plan_fix", {"finding_id": finding_id}))["plan"]
        named = {"plan_id": plan["plan_id"]} if target == "plan_id" else {"finding_id": finding_id}
        applied = await call(client, "apply_fix", {**named, "dry_run": False})
    assert applied["confirmation"] == "elicitation" and applied["fix"]["status"] == "verified"
    assert b"debug=False" in (workspace / "web.py").read_bytes()
    # Asked once, with the files and their line counts, never a line of the diff.
    assert len(asked) == 1
    assert "change web.py (+1 -1 lines)" in asked[0] and "B201" in asked[0]
    assert "debug=" not in asked[0] and plan["confirm_digest"][:12] in asked[0]


@pytest.mark.parametrize(
    ("action", "content", "expected"),
    [
        ("decline", None, "declined"),
        ("cancel", None, "cancelled"),
        ("accept", {"apply": False}, "declined"),  # accepting the form with the box unticked is a no
    ],
)
async def test_no_explicit_accept_writes_nothing(
    settings: Settings,
    app_context: AppContext,
    finding_id: str,
    workspace: Path,
    action: str,
    content: dict[str, Any] | None,
    expected: str,
) -> None:
    asked: list[str] = []
    async with _client(settings, app_context, answering(action, content, asked)) as client:
        result = await call(client, "apply_fix", {"finding_id": finding_id, "dry_run": False})
        fixes = await call(client, "list_fixes", {})
    assert result["confirmation"] == expected and result["fix"] is None
    assert "nothing was written" in result["message"] and len(asked) == 1
    assert (workspace / "web.py").read_bytes() == WEB and fixes["items"] == []


async def test_a_dry_run_asks_nothing(settings: Settings, app_context: AppContext, finding_id: str) -> None:
    asked: list[str] = []
    async with _client(settings, app_context, answering("accept", {"apply": True}, asked)) as client:
        dry = await call(client, "apply_fix", {"finding_id": finding_id})
    assert dry["dry_run"] is True and dry["fix"] is None and asked == []


async def test_without_elicitation_the_plan_digest_confirms(
    client: Client, finding_id: str, workspace: Path
) -> None:
    plan = (await call(client, "plan_fix", {"finding_id": finding_id}))["plan"]
    digest = plan["confirm_digest"]
    # No confirmation at all: refused, naming the way out; a finding cannot be written blind.
    for args in (
        {"plan_id": plan["plan_id"], "dry_run": False},
        {"finding_id": finding_id, "dry_run": False},
        {"finding_id": finding_id, "dry_run": False, "confirm_digest": digest},
    ):
        text = await error_text(client, "apply_fix", args)
        assert "confirmation_required" in text and "confirm_digest" in text
    # Another plan's digest (or an altered one) is refused.
    other = "0" * 64
    text = await error_text(
        client, "apply_fix", {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": other}
    )
    assert "confirmation_required" in text and "does not match" in text
    assert (workspace / "web.py").read_bytes() == WEB

    applied = await call(
        client, "apply_fix", {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": digest}
    )
    assert applied["confirmation"] == "digest" and applied["fix"]["status"] == "verified"


async def test_a_stale_plan_is_refused_on_both_paths(
    settings: Settings, app_context: AppContext, client: Client, finding_id: str, workspace: Path
) -> None:
    plan = (await call(client, "plan_fix", {"finding_id": finding_id}))["plan"]
    (workspace / "web.py").write_bytes(WEB + b"# edited after planning\n")
    text = await error_text(
        client,
        "apply_fix",
        {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": plan["confirm_digest"]},
    )
    assert "conflict" in text and "changed since the fix was planned" in text
    asked: list[str] = []
    async with _client(settings, app_context, answering("accept", {"apply": True}, asked)) as elicited:
        text = await error_text(elicited, "apply_fix", {"plan_id": plan["plan_id"], "dry_run": False})
    assert "conflict" in text and len(asked) == 1
    # A dry run shows what a write would do: it says the plan is stale too, not the old diff.
    text = await error_text(client, "apply_fix", {"plan_id": plan["plan_id"]})
    assert "conflict" in text and "changed since the fix was planned" in text
    assert (workspace / "web.py").read_bytes() == WEB + b"# edited after planning\n"


async def test_a_digest_given_to_an_eliciting_client_must_match(
    settings: Settings, app_context: AppContext, finding_id: str, workspace: Path
) -> None:
    asked: list[str] = []
    async with _client(settings, app_context, answering("accept", {"apply": True}, asked)) as client:
        plan = (await call(client, "plan_fix", {"finding_id": finding_id}))["plan"]
        text = await error_text(
            client, "apply_fix", {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": "f" * 64}
        )
    assert "does not match" in text and asked == [] and (workspace / "web.py").read_bytes() == WEB
