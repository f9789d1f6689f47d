"""Diff-scoped audits (tools/audit/diff.py) through the real AuditService on real git repositories:
what is new, what is pre-existing, renames, staged content, changed lines, SARIF, the lifecycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.server.context import AppContext
from secaudit.tools.audit.diff import DiffAudit, DiffRequest, diff_request, scope_sarif
from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.sarif import export_sarif
from secaudit.tools.gitdiff import DiffMode
from tests.support.git import Repo, needs_git, secret_line

pytestmark = needs_git

OLD_BUG = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
NEW_BUG = "\n\ndef ev(text):\n    return eval(text)\n"


@pytest.fixture
def repo(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    r = Repo(workspace, tmp_path / "home")
    for key, value in r.env.items():
        monkeypatch.setenv(key, value)
    r.write("app.py", OLD_BUG)
    r.write("clean.py", "def add(a, b):\n    return a + b\n")
    r.commit("base")
    return r


def _diff(app: AppContext, root: Path, request: DiffRequest, scanners: list[str]):  # type: ignore[no-untyped-def]
    return DiffAudit(app.audit).run(str(root), request, scanners=scanners)


def test_only_new_findings_are_reported(app_context: AppContext, repo: Repo) -> None:
    repo.write("app.py", OLD_BUG + NEW_BUG)
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING), ["bandit"])
    assert {f.rule_id for f in out.findings} == {"B307"}  # eval: new
    assert out.summary.findings_preexisting >= 1  # the shell=True call (and its import) were there
    assert out.summary.files_changed == 1 and out.summary.base_commit
    # The run recorded every finding of the changed file, and is scoped to it.
    everything = app_context.findings.run_summaries(out.run.id)
    assert {"B602", "B307"} <= {f.rule_id for f in everything}
    assert out.run.paths == ["app.py"]
    assert any("diff-scoped (working)" in n for n in out.run.notes)


def test_rename_keeps_findings_pre_existing(app_context: AppContext, repo: Repo) -> None:
    repo.git("mv", "app.py", "moved.py")
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING), ["bandit"])
    assert out.findings == [] and out.summary.findings_preexisting >= 1


def test_staged_scans_the_index_not_the_working_copy(app_context: AppContext, repo: Repo) -> None:
    repo.write("config.py", secret_line())
    repo.git("add", "config.py")
    repo.write("config.py", "TOKEN = None\n")  # the working copy is clean; the commit would not be
    repo.write("other.py", secret_line())  # not staged: not part of the commit
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.STAGED), ["secrets"])
    assert [f.path for f in out.findings] == ["config.py"]
    working = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING), ["secrets"])
    assert [f.path for f in working.findings] == ["other.py"]


def test_changed_lines(app_context: AppContext, repo: Repo) -> None:
    repo.write("app.py", OLD_BUG + NEW_BUG)
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING, changed_lines=True), ["bandit"])
    assert {f.rule_id for f in out.findings} == {"B307"}
    repo.commit("eval")
    # A second copy of the same eval above the first: bandit numbers equal code in file order, so
    # the copy on the changed lines takes the old identity and the untouched one is the new finding.
    repo.write("app.py", "def ev0(text):\n    return eval(text)\n" + OLD_BUG + NEW_BUG)
    plain = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING), ["bandit"])
    scoped = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING, changed_lines=True), ["bandit"])
    assert [f.rule_id for f in plain.findings] == ["B307"] and plain.findings[0].start_line > 2
    assert scoped.findings == [] and scoped.summary.findings_outside_changed_lines == 1


def test_since_a_commit(app_context: AppContext, repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("app.py", OLD_BUG + NEW_BUG)
    repo.commit("add eval")
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.SINCE, since=base), ["bandit"])
    assert {f.rule_id for f in out.findings} == {"B307"} and out.summary.base_commit == base
    head = _diff(app_context, repo.path, DiffRequest(DiffMode.SINCE, since="HEAD"), ["bandit"])
    assert head.findings == [] and head.summary.files_changed == 0


def test_a_diff_run_marks_nothing_fixed(app_context: AppContext, repo: Repo) -> None:
    full = app_context.audit.run(str(repo.path), scanners=["bandit"])
    assert full.findings_total >= 1
    repo.write("app.py", "x = 1\n")  # the bug is gone from the working tree
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING), ["bandit"])
    assert out.run.findings_fixed == 0
    assert all(f.status != "fixed" for f in app_context.findings.run_summaries(full.id))


def test_sarif_is_cut_to_the_new_findings(app_context: AppContext, repo: Repo) -> None:
    repo.write("app.py", OLD_BUG + NEW_BUG)
    out = _diff(app_context, repo.path, DiffRequest(DiffMode.WORKING), ["bandit"])
    doc = scope_sarif(export_sarif(app_context.findings, out.run.id, tool_version="t"), out)
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["bandit/B307"]
    assert all(r["baselineState"] == "new" for r in results)
    diff = doc["runs"][0]["properties"]["secaudit"]["diff"]
    assert diff["findings_preexisting"] == out.summary.findings_preexisting and diff["mode"] == "working"


def test_request_rules() -> None:
    assert diff_request(changed=None, since=None, changed_lines=False, paths=["a"]) is None
    assert diff_request(changed="staged", since=None, changed_lines=True, paths=None) == DiffRequest(
        DiffMode.STAGED, None, True
    )
    for kw in (
        {"changed": "working", "since": "HEAD", "changed_lines": False, "paths": None},
        {"changed": None, "since": None, "changed_lines": True, "paths": None},
        {"changed": "working", "since": None, "changed_lines": False, "paths": ["a.py"]},
        {"changed": "both", "since": None, "changed_lines": False, "paths": None},
        {"changed": None, "since": "--output=x", "changed_lines": False, "paths": None},
    ):
        with pytest.raises(InvalidInput):
            diff_request(**kw)  # type: ignore[arg-type]
