"""The dependency fix against real deps-scanner findings on real files (issue 11 item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import FixStatus
from secaudit.tools.fixes.service import FixService
from tests.support.fixes import finding, make_service, scanner_verifier

DJANGO = {
    "id": "PYSEC-TEST-DJANGO",
    "modified": "2024-01-01T00:00:00Z",
    "summary": "django test advisory",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "django"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.28"}]}],
        }
    ],
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    return root


@pytest.fixture
def svc(tmp_path: Path, repo: Path) -> FixService:
    service = make_service(tmp_path, [repo])
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "django.json").write_text(json.dumps(DJANGO))
    assert AdvisoryDB(service.store).import_path(osv).records == 1
    service.verifier = scanner_verifier(service.store)
    return service


def _audit(svc: FixService, repo: Path, rel: str) -> list[Finding]:
    """What the real deps scanner reports for `rel` (the finding a fix is planned from)."""
    assert svc.verifier is not None
    return [
        f
        for f in svc.verifier.scan(repo, finding("deps", "x", rel), [rel]).findings
        if f.rule_id == "PYSEC-TEST-DJANGO"
    ]


def test_item5_unsatisfiable_manifest_is_refused(svc: FixService, repo: Path) -> None:
    # Issue 11 item 5: `django==1.11` beside `Django<2.0` must not become `django==2.2.28` marked
    # verified: pip could not install that file any more.
    original = b"django==1.11\nDjango<2.0\n"
    (repo / "requirements.txt").write_bytes(original)
    [found] = _audit(svc, repo, "requirements.txt")
    assert found.properties["smallest_safe_upgrade"] == "2.2.28"
    with pytest.raises(FixNotApplicable, match="unsatisfiable") as err:
        svc.plan(found, repo)
    assert "requirements.txt line 2" in str(err.value) and "Django<2.0" in str(err.value)
    assert (repo / "requirements.txt").read_bytes() == original
    assert svc.list().items == []


def test_item5_unsatisfiable_through_a_constraints_file_is_refused(svc: FixService, repo: Path) -> None:
    # The same name in a file the requirements file includes (-c) counts too.
    (repo / "requirements.txt").write_bytes(b"-c constraints.txt\ndjango==1.11\n")
    (repo / "constraints.txt").write_bytes(b"django<2\n")
    [found] = _audit(svc, repo, "requirements.txt")
    with pytest.raises(FixNotApplicable, match=r"constraints\.txt line 1"):
        svc.plan(found, repo)


def test_item5_other_marker_is_not_compared_but_noted(svc: FixService, repo: Path) -> None:
    (repo / "requirements.txt").write_bytes(
        b'django==1.11 ; python_version >= "3"\ndjango<2 ; python_version < "3"\n'
    )
    [found] = _audit(svc, repo, "requirements.txt")
    plan = svc.plan(found, repo)
    assert '+django==2.2.28 ; python_version >= "3"' in plan.diff
    assert any("another environment marker" in n for n in plan.notes)


def test_item5_bom_prefixed_requirements_file_is_fixable(svc: FixService, repo: Path) -> None:
    # The audit reads past the BOM and finds the pin; the fix refused it ("may have changed since
    # the audit"). Now it is planned, applied, verified, and the BOM stays.
    (repo / "requirements.txt").write_bytes(b"\xef\xbb\xbfdjango==1.11\r\nsix==1.16.0\r\n")
    [found] = _audit(svc, repo, "requirements.txt")
    fix = svc.apply(finding=found, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.VERIFIED, fix and fix.message
    assert (repo / "requirements.txt").read_bytes() == b"\xef\xbb\xbfdjango==2.2.28\r\nsix==1.16.0\r\n"


def test_item5_bom_prefixed_pyproject_is_fixable(svc: FixService, repo: Path) -> None:
    (repo / "pyproject.toml").write_bytes(
        b'\xef\xbb\xbf[project]\nname = "x"\ndependencies = ["django==1.11"]\n'
    )
    [found] = _audit(svc, repo, "pyproject.toml")
    fix = svc.apply(finding=found, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.VERIFIED, fix and fix.message
    assert (repo / "pyproject.toml").read_bytes().startswith(b'\xef\xbb\xbf[project]\nname = "x"\n')
    assert b'"django==2.2.28"' in (repo / "pyproject.toml").read_bytes()


def test_item5_comment_ending_in_backslash_continues_as_pip_reads_it(svc: FixService, repo: Path) -> None:
    # pip joins a line ending in `\` with the next before it drops comments: the trailing comment
    # swallows `django==1.10`, which pip never installs; a full-line comment ending in `\` continues
    # nothing, so `django==1.11` after it is a requirement (the fix refused it as "changed").
    (repo / "requirements.txt").write_bytes(
        b"six==1.16.0  # pinned \\\ndjango==1.10\n# an old note \\\ndjango==1.11\n"
    )
    [found] = _audit(svc, repo, "requirements.txt")
    assert (found.start_line, found.properties["version"]) == (4, "1.11")
    fix = svc.apply(finding=found, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.VERIFIED, fix and fix.message
    assert (repo / "requirements.txt").read_bytes() == (
        b"six==1.16.0  # pinned \\\ndjango==1.10\n# an old note \\\ndjango==2.2.28\n"
    )
