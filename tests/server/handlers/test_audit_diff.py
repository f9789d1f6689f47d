"""run_audit's diff scope (changed / since / changed_lines) through the SDK's in-memory Client, on a
real git repository: new findings only, the diff summary, strict inputs, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from tests.support.git import Repo, needs_git, secret_line
from tests.support.mcp import call, error_text

pytestmark = [pytest.mark.anyio, needs_git]

OLD_BUG = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


@pytest.fixture
def repo(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    r = Repo(workspace, tmp_path / "home")
    for key, value in r.env.items():
        monkeypatch.setenv(key, value)  # the server runs git in this process
    r.write("app.py", OLD_BUG)
    r.commit("base")
    return r


async def test_changed_working_and_staged(client: Client, repo: Repo) -> None:
    repo.write("app.py", OLD_BUG + "\n\nvalue = eval(input())\n")
    out = await call(
        client, "run_audit", {"path": str(repo.path), "scanners": ["bandit"], "changed": "working"}
    )
    assert [f["rule_id"] for f in out["findings"]] == ["B307"]
    diff = out["diff"]
    assert diff["mode"] == "working" and diff["files_changed"] == 1 and diff["findings_preexisting"] >= 1
    assert out["next_cursor"] is None and out["run"]["paths"] == ["app.py"]

    repo.write("key.py", secret_line())
    repo.git("add", "key.py")
    staged = await call(
        client, "run_audit", {"path": str(repo.path), "scanners": ["secrets"], "changed": "staged"}
    )
    assert [f["path"] for f in staged["findings"]] == ["key.py"] and staged["diff"]["mode"] == "staged"


async def test_since_with_changed_lines(client: Client, repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("app.py", OLD_BUG + "\n\nvalue = eval(input())\n")
    repo.commit("eval")
    out = await call(
        client,
        "run_audit",
        {"path": str(repo.path), "scanners": ["bandit"], "since": base, "changed_lines": True},
    )
    assert [f["rule_id"] for f in out["findings"]] == ["B307"]
    assert out["diff"]["base_commit"] == base and out["diff"]["changed_lines"] is True


async def test_a_whole_audit_has_no_diff(client: Client, repo: Repo) -> None:
    out = await call(client, "run_audit", {"path": str(repo.path), "scanners": ["bandit"]})
    assert out.get("diff") is None and out["findings"]


async def test_inputs_are_strict_and_errors_clear(client: Client, repo: Repo) -> None:
    path = str(repo.path)
    for args in (
        {"path": path, "changed": "everything"},
        {"path": path, "since": "--output=/tmp/x"},
        {"path": path, "since": "x" * 300},
        {"path": path, "changed_lines": "yes"},
    ):
        assert "invalid arguments" in (await error_text(client, "run_audit", args)).lower()
    both = await error_text(client, "run_audit", {"path": path, "changed": "working", "since": "HEAD"})
    assert "at most one" in both
    scoped = await error_text(client, "run_audit", {"path": path, "changed": "working", "paths": ["a.py"]})
    assert "paths cannot be combined" in scoped
    unknown = await error_text(client, "run_audit", {"path": path, "since": "no-such-branch"})
    assert "git_error" in unknown and "names no commit" in unknown
