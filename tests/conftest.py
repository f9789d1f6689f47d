"""Fixtures every area shares: real database files in tmp_path, the real server, the SDK's in-memory
Client, and the audit fixtures (a vulnerable tree and an app context around it).

Plain helpers live in the `tests.support` package; a fixture only one area uses lives in that area's
conftest.py (or in its test module when only that module uses it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import AppContext, build_context
from secaudit.server.settings import Settings, load_settings
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from tests.support.audit import make_settings, make_vulnerable_tree


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


# -- audit: a tree full of known-vulnerable patterns (tests.support.audit), and the app around it --


@pytest.fixture
def audit_root(tmp_path: Path) -> Path:
    return make_vulnerable_tree(tmp_path / "repo")


@pytest.fixture
def audit_settings(tmp_path: Path, audit_root: Path) -> Settings:
    return make_settings(tmp_path, audit_root)


@pytest.fixture
def audit_app(audit_settings: Settings) -> Iterator[AppContext]:
    ctx = build_context(audit_settings)
    yield ctx
    ctx.close()


@pytest.fixture
async def audit_client(audit_settings: Settings, audit_app: AppContext) -> AsyncIterator[Client]:
    server = build_server(audit_settings, context=audit_app)
    async with Client(server) as c:
        yield c


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The store as the server makes it: a real SQLite file with every migration applied."""
    s = Store(tmp_path / "secaudit.db")
    s.migrate(STORE_MIGRATIONS)
    yield s
    s.close()
