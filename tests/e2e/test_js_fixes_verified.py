"""The four mechanical JS/TS fixes on the bundled Express + TypeScript example, end to end: a real
semgrep audit finds each fault, the fix is applied, and the real semgrep scanner verifies it gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from secaudit.server.context import AppContext
from secaudit.tools.fixes.model import FixStatus
from tests.support import REPO_ROOT
from tests.support.semgrep import require_semgrep

FIXABLE = (
    "js-math-random-secret",
    "js-tls-reject-unauthorized-off",
    "js-jwt-verify-no-algorithms",
    "js-express-x-powered-by",
)


@pytest.mark.slow
def test_each_js_fix_is_verified_by_the_real_semgrep(app_context: AppContext, workspace: Path) -> None:
    require_semgrep()
    repo = workspace / "express-ts-service"
    shutil.copytree(REPO_ROOT / "examples" / "express-ts-service", repo)
    for rule in FIXABLE:
        # Audit again before each fix: an earlier fix in the same file moves the later ones.
        run = app_context.audit.run(str(repo), scanners=["semgrep"])
        assert run.status == "succeeded", run.notes
        page = app_context.findings.list_findings(run_id=run.id, rules=[rule])
        assert len(page.items) == 1, (rule, [f.rule_id for f in page.items])
        finding, root = app_context.findings.finding_for_fix(page.items[0].id)
        result = app_context.fixes.apply(finding=finding, root=root, dry_run=False)
        assert result.fix is not None
        assert result.fix.status == FixStatus.VERIFIED, (rule, result.fix.message)
    last = app_context.audit.run(str(repo), scanners=["semgrep"])
    left = app_context.findings.list_findings(run_id=last.id, rules=list(FIXABLE))
    assert left.items == []
