"""`secaudit db ...` as a real subprocess, and the db_status tool through the in-memory Client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.context import AppContext
from secaudit.server.settings import Settings
from secaudit.tools.advisories import AdvisoryDB
from tests.support.cli import cli_env

RECORD = {
    "id": "PYSEC-TEST-1",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }
    ],
}


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(settings),
        check=False,
    )


def test_cli_db_import_status_and_offline_update(settings: Settings, tmp_path: Path) -> None:
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "r.json").write_text(json.dumps(RECORD))
    empty = _cli(settings, "db", "status")
    assert empty.returncode == 0 and "empty" in empty.stdout
    imported = _cli(settings, "db", "import", str(osv), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["inserted"] == 1
    status = _cli(settings, "db", "status", "--json")
    data = json.loads(status.stdout)
    assert data["advisories"] == 1 and data["ecosystems"][0]["ecosystem"] == "PyPI"
    # No vulnerability service answers from build machines: the update must fail fast and clearly.
    update = _cli(settings, "db", "update", "--timeout", "2")
    assert update.returncode == 2 and "the database was not changed" in update.stderr


@pytest.mark.anyio
async def test_db_status_tool(client: Client, app_context: AppContext, tmp_path: Path) -> None:
    osv = tmp_path / "outside" / "osv"
    osv.mkdir(parents=True)
    (osv / "r.json").write_text(json.dumps(RECORD))
    AdvisoryDB(app_context.store).import_path(osv)
    result = await client.call_tool("db_status", {})
    assert not result.is_error
    data = result.structured_content
    assert data is not None and data["advisories"] == 1 and not data["empty"]
    # The import path lies outside the allowed roots: it is not echoed.
    assert str(tmp_path) not in json.dumps(data)
    assert data["sources"][0]["location"].endswith("/osv")
