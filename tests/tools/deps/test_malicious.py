"""OSV malicious-package records (`MAL-`) become findings of their own kind: `deps.malicious-package`,
critical, "remove it (do not upgrade)". The records are hand-written test fixtures in the shape of
the OSV malicious-packages data (tests/support/data/osv_mal), not copies of real ones."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps import audit_dependencies
from secaudit.tools.findings.model import Confidence, Finding, Severity
from secaudit.tools.scanners.deps import MALICIOUS_RULE, to_scan_result
from secaudit.tools.store import Store
from tests.support import DATA

FIXTURES = DATA / "osv_mal"
LODASH = {
    "id": "GHSA-test-lodash-0001",
    "modified": "2024-01-01T00:00:00Z",
    "summary": "prototype pollution",
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
        }
    ],
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    folder = tmp_path / "osv"
    folder.mkdir()
    for path in FIXTURES.glob("*.json"):
        shutil.copyfile(path, folder / path.name)
    (folder / "lodash.json").write_text(json.dumps(LODASH))
    store = Store(tmp_path / "store.db")
    database = AdvisoryDB(store)
    report = database.import_path(folder)
    assert (report.records, report.malicious, report.errors) == (6, 4, 0)
    assert database.status().malicious == 4
    yield database
    store.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    lock = {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            "": {
                "name": "app",
                "dependencies": {"expres-session-store": "^1.0.0", "colorfull-logger": "2.4.2"},
            },
            "node_modules/expres-session-store": {"version": "1.0.2"},
            "node_modules/colorfull-logger": {"version": "2.4.2"},
            "node_modules/helper": {"version": "1.0.0"},
            "node_modules/helper/node_modules/colorfull-logger": {"version": "2.4.3"},
            "node_modules/@fake-scope/env-dump": {"version": "99.9.9"},
            "node_modules/lodash": {"version": "4.17.20"},
        },
    }
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))
    (root / "requirements.txt").write_text("reqeusts-toolbelt2==0.1.0\n")
    return root


def _by_package(findings: list[Finding]) -> dict[tuple[str, str], list[Finding]]:
    out: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.properties.get("version"):
            out.setdefault((f.properties["package"], f.properties["version"]), []).append(f)
    return out


def test_mal_records_are_findings_of_their_own_kind(db: AdvisoryDB, repo: Path) -> None:
    findings = _by_package(to_scan_result(audit_dependencies(repo, None, db)).findings)
    (typo,) = findings[("expres-session-store", "1.0.2")]
    assert typo.rule_id == MALICIOUS_RULE and typo.severity == Severity.CRITICAL
    assert typo.confidence == Confidence.HIGH
    assert typo.title == "expres-session-store 1.0.2 is a malicious package: remove it (do not upgrade)"
    assert typo.properties["advisory_id"] == "MAL-TEST-0001" and typo.properties["malicious"] is True
    assert typo.properties["smallest_safe_upgrade"] is None  # nothing to upgrade to, ever
    assert "`npm uninstall expres-session-store`" in typo.message
    assert "Rotate the credentials" in typo.message and "removed, not upgraded" in typo.message
    assert "Smallest safe upgrade" not in typo.message
    assert typo.references == ["https://example.invalid/analysis/expres-session-store"]
    # A lodash advisory stays an ordinary advisory finding.
    (lodash,) = findings[("lodash", "4.17.20")]
    assert lodash.rule_id == "GHSA-test-lodash-0001" and lodash.properties["malicious"] is False


def test_mal_record_aliasing_a_ghsa_is_one_malicious_finding(db: AdvisoryDB, repo: Path) -> None:
    findings = _by_package(to_scan_result(audit_dependencies(repo, None, db)).findings)
    # MAL-TEST-0002 (explicit versions 2.4.1, 2.4.2) names GHSA-mfx3-test-0002 as an alias: one
    # finding, named by the MAL id, malicious, listed-version confidence.
    (hijacked,) = findings[("colorfull-logger", "2.4.2")]
    assert hijacked.rule_id == MALICIOUS_RULE and hijacked.properties["advisory_id"] == "MAL-TEST-0002"
    assert hijacked.properties["aliases"] == ["GHSA-mfx3-test-0002"]
    assert hijacked.properties["matched_by"] == "versions"
    # The release after the hijack is not in the record: no finding for the nested 2.4.3 copy.
    assert ("colorfull-logger", "2.4.3") not in findings


def test_transitive_and_pypi_removal_recipes(db: AdvisoryDB, repo: Path) -> None:
    findings = _by_package(to_scan_result(audit_dependencies(repo, None, db)).findings)
    (scoped,) = findings[("@fake-scope/env-dump", "99.9.9")]
    assert scoped.rule_id == MALICIOUS_RULE and scoped.properties["direct"] is False
    assert "`npm explain @fake-scope/env-dump`" in scoped.message and "npm uninstall" not in scoped.message
    (pypi,) = findings[("reqeusts-toolbelt2", "0.1.0")]
    assert pypi.rule_id == MALICIOUS_RULE and pypi.path == "requirements.txt"
    assert "`pip uninstall reqeusts-toolbelt2`" in pypi.message
    # Distinct fingerprints per (advisory, manifest, package@version), stable across runs.
    again = _by_package(to_scan_result(audit_dependencies(repo, None, db)).findings)
    assert again[("reqeusts-toolbelt2", "0.1.0")][0].fingerprint == pypi.fingerprint
    assert len({f.fingerprint for fs in findings.values() for f in fs}) == sum(
        len(fs) for fs in findings.values()
    )
