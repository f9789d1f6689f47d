"""Next steps in results: fixable findings, run_audit's next_steps, the import_advisories tool,
and security_summary's partial flag; through the in-memory Client over a real audit of a tiny tree."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import build_context
from secaudit.server.settings import Settings, load_settings
from tests.support.mcp import call, error_text

pytestmark = pytest.mark.anyio

APP = """\
import yaml


def load(data, expr):
    config = yaml.load(data)
    return eval(expr), config
"""
RECORD = {
    "id": "PYSEC-TEST-NEXT",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }
    ],
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "requirements.txt").write_text("requests==2.19.0\n")
    (root / "osv").mkdir()
    (root / "osv" / "record.json").write_text(json.dumps(RECORD))
    return root


@pytest.fixture
async def repo_client(tmp_path: Path, repo: Path) -> AsyncIterator[Client]:
    settings: Settings = load_settings(
        environ={}, store_path=tmp_path / "store" / "s.db", allowed_roots=(repo,), log_level="WARNING"
    )
    ctx = build_context(settings)
    try:
        async with Client(build_server(settings, context=ctx)) as client:
            yield client
    finally:
        ctx.close()


def _by_rule(findings: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {f["rule_id"]: f for f in findings}


async def test_findings_say_whether_a_fix_generator_handles_them(repo_client: Client, repo: Path) -> None:
    out = await call(repo_client, "run_audit", {"path": str(repo), "scanners": ["bandit"]})
    found = _by_rule(out["findings"])
    assert found["B506"]["fixable"] is True and found["B506"]["fix_kind"] == "code"  # yaml.load
    assert found["B307"]["fixable"] is False and found["B307"]["fix_kind"] is None  # eval
    listed = _by_rule((await call(repo_client, "list_findings", {"run_id": out["run"]["id"]}))["items"])
    assert listed["B506"]["fixable"] is True and listed["B307"]["fixable"] is False
    one = await call(repo_client, "get_finding", {"id": found["B506"]["id"]})
    assert one["finding"]["fixable"] is True and one["finding"]["fix_kind"] == "code"
    steps = {s["tool"]: s["why"] for s in out["next_steps"]}
    assert "1 open findings have an automatic fix (code: 1" in steps["plan_fix"]
    assert "import_advisories" not in steps and "get_run" not in steps  # deps did not run; complete


async def test_an_empty_advisory_database_points_at_the_import_tool(repo_client: Client, repo: Path) -> None:
    out = await call(repo_client, "run_audit", {"path": str(repo), "scanners": ["deps", "bandit"]})
    assert out["run"]["status"] == "partial"
    steps = {s["tool"]: s["why"] for s in out["next_steps"]}
    assert "advisory database is empty" in steps["import_advisories"]
    assert "is partial" in steps["get_run"] and "deps" in steps["get_run"]
    summary = (await call(repo_client, "security_summary", {}))["summary"]
    assert summary["latest_run_partial"] is True and summary["latest_run_status"] == "partial"
    assert "deps" in summary["coverage_note"] and "not a clean bill of health" in summary["coverage_note"]

    progress: list[tuple[float, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    imported = await call(
        repo_client, "import_advisories", {"path": str(repo / "osv")}, progress_callback=on_progress
    )
    assert imported["records"] == 1 and imported["inserted"] == 1 and imported["ecosystems"] == {"PyPI": 1}
    assert progress and progress[-1] == (1.0, "1 advisories read, 0 skipped")
    again = await call(repo_client, "import_advisories", {"path": "osv/record.json"})  # idempotent
    assert again["records"] == 1 and again["inserted"] == 0 and again["unchanged"] == 1

    out = await call(repo_client, "run_audit", {"path": str(repo), "scanners": ["deps", "bandit"]})
    assert out["run"]["status"] == "succeeded"
    steps = {s["tool"]: s["why"] for s in out["next_steps"]}
    assert "import_advisories" not in steps and "get_run" not in steps
    assert "2 open findings have an automatic fix (code: 1, dependency: 1;" in steps["plan_fix"]
    vulnerable = _by_rule(out["findings"])["PYSEC-TEST-NEXT"]
    assert vulnerable["fixable"] is True and vulnerable["fix_kind"] == "dependency"
    summary = (await call(repo_client, "security_summary", {}))["summary"]
    assert summary["latest_run_partial"] is False and summary["coverage_note"] is None


async def test_the_import_tool_is_confined_to_the_roots(repo_client: Client, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "record.json").write_text(json.dumps(RECORD))
    text = await error_text(repo_client, "import_advisories", {"path": str(outside / "record.json")})
    assert "allowed roots" in text and str(outside) not in text
    text = await error_text(repo_client, "import_advisories", {"path": "../elsewhere"})
    assert "allowed roots" in text
    status = await call(repo_client, "db_status", {})
    assert status["empty"] is True


async def test_the_import_tool_is_annotated(repo_client: Client) -> None:
    tools = {t.name: t for t in (await repo_client.list_tools()).tools}
    notes = tools["import_advisories"].annotations
    assert notes is not None and notes.read_only_hint is False and notes.idempotent_hint is True


async def test_paths_that_match_nothing_are_not_reported_clean(repo_client: Client, repo: Path) -> None:
    # An agent passing paths relative to the wrong folder: nothing was checked, so no clean run.
    out = await call(
        repo_client, "run_audit", {"path": str(repo), "scanners": ["bandit"], "paths": ["repo/app.py"]}
    )
    assert out["run"]["status"] == "partial" and out["run"]["findings_total"] == 0
    steps = {s["tool"]: s["why"] for s in out["next_steps"]}
    assert "`paths` entries matched no file" in steps["get_run"] and "repo/app.py" in steps["get_run"]
    summary = (await call(repo_client, "security_summary", {}))["summary"]
    assert summary["latest_run_partial"] is True and "matched no file" in summary["coverage_note"]


async def test_a_folder_nobody_audited_is_not_listed_as_clean(repo_client: Client, repo: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "more.py").write_text(APP)
    for tool in ("list_findings", "security_summary"):
        # Before any audit: say so instead of zero findings.
        text = await error_text(repo_client, tool, {"root": str(repo)})
        assert f"no audit of {repo} is recorded; run_audit it first" in text
    out = await call(repo_client, "run_audit", {"path": str(repo), "scanners": ["bandit"]})
    assert out["run"]["findings_total"] >= 4
    for tool in ("list_findings", "security_summary"):
        # A subfolder of the audited folder: its findings live under the audited root.
        text = await error_text(repo_client, tool, {"root": str(repo / "sub")})
        assert f"it lies inside the audited folder {repo}: use root={repo}" in text
        assert "path_glob='sub/*'" in text
    listed = await call(repo_client, "list_findings", {"root": str(repo), "path_glob": "sub/*"})
    assert listed["items"] and {i["path"] for i in listed["items"]} == {"sub/more.py"}
    # The audited folder itself is listed as before.
    summary = (await call(repo_client, "security_summary", {"root": str(repo)}))["summary"]
    assert summary["open_total"] == out["run"]["findings_total"]
