"""Shared fixtures: real database files in tmp_path, the real server, the SDK's in-memory Client."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import AppContext, build_context
from secaudit.server.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root


@pytest.fixture
def settings(tmp_path: Path, workspace: Path) -> Settings:
    return load_settings(
        environ={},
        store_path=tmp_path / "store" / "secaudit.db",
        allowed_roots=(workspace,),
        log_level="WARNING",
    )


@pytest.fixture
def app_context(settings: Settings) -> Iterator[AppContext]:
    ctx = build_context(settings)
    yield ctx
    ctx.close()


@pytest.fixture
async def client(settings: Settings, app_context: AppContext) -> AsyncIterator[Client]:
    server = build_server(settings, context=app_context)
    async with Client(server) as c:
        yield c


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a `secaudit` subprocess pointing at the test's store and roots."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
    env["SECAUDIT_STORE"] = str(settings.store_path)
    env["SECAUDIT_ALLOWED_ROOTS"] = os.pathsep.join(str(r) for r in settings.allowed_roots)
    env.update(extra)
    return env
