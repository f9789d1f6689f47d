"""npm dependency fixes: the exact re-lock command, `overrides` for transitive packages, names that
never reach a command unchecked, and malicious packages refused with the removal recipe.

The integration tests run the real chain: OSV records imported into a real store, a real
package-lock.json audited by the deps scanner's functions, and the real fix service planning (and
applying) from those findings.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps import audit_dependencies
from secaudit.tools.deps.remedy import (
    npm_install_lock_only,
    npm_name_ok,
    npm_version_ok,
    overrides_for,
    removal_steps,
)
from secaudit.tools.findings.model import Finding, Severity
from secaudit.tools.fixes.deps import MALICIOUS_RULE, add_npm_override, fix_dependency
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.service import FixService
from secaudit.tools.scanners.deps import MALICIOUS_RULE as SCANNER_MALICIOUS_RULE
from secaudit.tools.scanners.deps import to_scan_result
from secaudit.tools.store import Store
from tests.support import DATA
from tests.support.fixes import make_service, scanner_verifier

FIXTURES = DATA / "osv_mal"


def osv(rid: str, name: str, fixed: str, introduced: str = "0") -> dict[str, Any]:
    return {
        "id": rid,
        "modified": "2024-01-01T00:00:00Z",
        "summary": f"{name} test advisory",
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}],
            }
        ],
    }


RECORDS = [
    osv("GHSA-test-lodash-0001", "lodash", "4.17.21"),
    osv("GHSA-test-minimist-01", "minimist", "0.2.4", introduced="0"),
    osv("GHSA-test-express-001", "express", "4.19.2", introduced="4.0.0"),
]
MANIFEST = """{
  "name": "app",
  "version": "1.0.0",
  "dependencies": {
    "express": "4.17.1",
    "expres-session-store": "^1.0.0",
    "lodash": "~4.17.20",
    "tool": "^1.0.0"
  }
}
"""
LOCK = {
    "name": "app",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {
            "name": "app",
            "version": "1.0.0",
            "dependencies": {
                "express": "4.17.1",
                "expres-session-store": "^1.0.0",
                "lodash": "~4.17.20",
                "tool": "^1.0.0",
            },
        },
        "node_modules/express": {"version": "4.17.1"},
        "node_modules/expres-session-store": {"version": "1.0.2"},
        "node_modules/lodash": {"version": "4.17.20"},
        "node_modules/tool": {"version": "1.5.0", "dependencies": {"minimist": "^0.0.8", "lodash": "4.17.4"}},
        "node_modules/tool/node_modules/lodash": {"version": "4.17.4"},
        "node_modules/minimist": {"version": "0.0.8"},
        "node_modules/@fake-scope/env-dump": {"version": "99.9.9"},
        "node_modules/colorfull-logger": {"version": "2.4.2"},
    },
}


# -- the pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["lodash", "@babel/traverse", "JSONStream", "lodash.trim", "socket.io", "cal_rd", "a" * 214]
)
def test_npm_names_accepted(name: str) -> None:
    assert npm_name_ok(name)


@pytest.mark.parametrize(
    "name",
    [
        "lodash; rm -rf ~",
        "$(id)",
        "`id`",
        "-rf",
        "--registry=http://evil",
        "a b",
        "it's",
        "x\ny",
        "@scope/",
        "@/x",
        ".hidden",
        "_private",
        "pkg@1.0.0",
        "a" * 215,
        "l\u043edash",
        "",
    ],
)
def test_npm_names_refused_before_any_command(name: str) -> None:
    assert not npm_name_ok(name)
    assert npm_install_lock_only(name, "1.0.0") is None
    assert overrides_for(name, "1.0.0", "1.0.1") is None
    assert overrides_for("lodash", "1.0.0", "1.0.1", parents=[name]) is None
    assert not any(name and name in step for step in removal_steps("npm", name, True))


def test_install_command_is_exact() -> None:
    assert npm_install_lock_only("lodash", "4.17.21") == "npm install lodash@4.17.21 --package-lock-only"
    assert (
        npm_install_lock_only("@hapi/hoek", "9.0.3", save="")
        == "npm install @hapi/hoek@9.0.3 --package-lock-only --save-exact"
    )
    assert (
        npm_install_lock_only("x", "1.2.3", save="~")
        == "npm install x@1.2.3 --package-lock-only --save-prefix=~"
    )
    for bad in ("1.2", "1.2.3 || 2", "^1.2.3", "1.2.3;id", "latest", "01.2.3"):
        assert not npm_version_ok(bad) and npm_install_lock_only("x", bad) is None


OVERRIDE_INPUTS = {
    "two spaces": '{\n  "name": "a",\n  "dependencies": {\n    "tool": "^1.0.0"\n  }\n}\n',
    "four spaces, CRLF": '{\r\n    "name": "a",\r\n    "dependencies": {}\r\n}\r\n',
    "tabs": '{\n\t"name": "a"\n}\n',
    "one line": '{"name": "a", "dependencies": {"tool": "^1.0.0"}}',
    "empty object": "{}\n",
    "overrides present": '{\n  "name": "a",\n  "overrides": {\n    "other": "1.0.0"\n  }\n}\n',
    "overrides empty": '{\n  "name": "a",\n  "overrides": {}\n}\n',
}


@pytest.mark.parametrize("case", sorted(OVERRIDE_INPUTS))
def test_override_added_in_place(case: str) -> None:
    text = OVERRIDE_INPUTS[case]
    edit = add_npm_override(text, "minimist", "0.0.8", "0.2.4")
    data = json.loads(edit.text)
    assert data["overrides"]["minimist@0.0.8"] == "0.2.4"
    before = json.loads(text)
    assert [k for k in data if k != "overrides"] == [k for k in before if k != "overrides"]
    assert data.get("dependencies") == before.get("dependencies")
    if "other" in text:
        assert data["overrides"]["other"] == "1.0.0"
    # Only additions: every line of the original is still there, and line endings are kept.
    eol = "\r\n" if "\r\n" in text else "\n"
    assert ("\r\n" in edit.text) == ("\r\n" in text)
    if "\n" in text.strip():
        removed = set(text.split(eol)) - set(edit.text.split(eol))
        assert all(
            line.strip() in ("}", "{}", '"overrides": {}') or line.endswith(("}", '"')) for line in removed
        )
    assert edit.notes == ['adds to package.json: {"overrides": {"minimist@0.0.8": "0.2.4"}}']


def test_override_indentation_follows_the_file() -> None:
    edit = add_npm_override(OVERRIDE_INPUTS["four spaces, CRLF"], "minimist", "0.0.8", "0.2.4")
    assert '\r\n    "overrides": {\r\n        "minimist@0.0.8": "0.2.4"\r\n    }\r\n}\r\n' in edit.text
    edit = add_npm_override(OVERRIDE_INPUTS["tabs"], "minimist", "0.0.8", "0.2.4")
    assert '\n\t"overrides": {\n\t\t"minimist@0.0.8": "0.2.4"\n\t}\n}\n' in edit.text


def test_scoped_override_for_several_parents() -> None:
    edit = add_npm_override('{\n  "name": "a"\n}\n', "minimist", "0.0.8", "0.2.4", ["mkdirp", "@s/opt"])
    assert edit.text == (
        '{\n  "name": "a",\n  "overrides": {\n    "mkdirp": {"minimist": "0.2.4"},\n'
        '    "@s/opt": {"minimist": "0.2.4"}\n  }\n}\n'
    )
    with pytest.raises(FixNotApplicable, match="'mkdirp@1'"):
        add_npm_override('{"overrides": {"mkdirp@1": {}}}', "minimist", "0.0.8", "0.2.4", ["mkdirp"])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"overrides": {"minimist": "1.2.6"}}', "override rules for 'minimist'"),
        ('{"overrides": {"minimist@<1": {".": "0.2.4"}}}', "override rules for 'minimist@<1'"),
        ('{"overrides": "nope"}', "not an object"),
        ("[1, 2]", "not a JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_override_refused(text: str, reason: str) -> None:
    with pytest.raises(FixNotApplicable, match=reason):
        add_npm_override(text, "minimist", "0.0.8", "0.2.4")


# -- through the real audit and fix service ---------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "web").mkdir(parents=True)
    (root / "web" / "package.json").write_text(MANIFEST, encoding="utf-8")
    (root / "web" / "package-lock.json").write_text(json.dumps(LOCK, indent=2) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def service(tmp_path: Path, repo: Path) -> Iterator[FixService]:
    svc = make_service(tmp_path, [repo])
    osv_dir = tmp_path / "osv"
    osv_dir.mkdir()
    for record in RECORDS:
        (osv_dir / f"{record['id']}.json").write_text(json.dumps(record))
    for path in FIXTURES.glob("*.json"):
        shutil.copyfile(path, osv_dir / path.name)
    report = AdvisoryDB(svc.store).import_path(osv_dir)
    assert report.errors == 0 and report.malicious == 4, report.error_samples
    svc.verifier = scanner_verifier(svc.store)
    yield svc
    svc.store.close()


def _findings(store: Store, repo: Path) -> dict[tuple[str, str, str], Finding]:
    result = to_scan_result(audit_dependencies(repo, None, AdvisoryDB(store)))
    return {
        (f.properties["package"], f.properties["version"], f.rule_id): f
        for f in result.findings
        if f.properties.get("version")
    }


def test_direct_bump_relocks_with_the_exact_command(service: FixService, repo: Path) -> None:
    found = _findings(service.store, repo)
    express = found[("express", "4.17.1", "GHSA-test-express-001")]
    assert express.path == "web/package-lock.json" and express.properties["direct"] is True
    plan = service.plan(express, repo)
    assert plan.files[0].path == "web/package.json"
    assert '+    "express": "4.19.2",' in plan.diff
    (command,) = plan.relock_commands
    # Exact pin in package.json: npm must write it back exact.
    assert command.startswith("npm install express@4.19.2 --package-lock-only --save-exact  (in web;")
    lodash = found[("lodash", "4.17.20", "GHSA-test-lodash-0001")]
    plan = service.plan(lodash, repo)
    assert '+    "lodash": "~4.17.21",' in plan.diff
    assert plan.relock_commands[0].startswith(
        "npm install lodash@4.17.21 --package-lock-only --save-prefix=~  ("
    )


def test_transitive_gets_an_override_and_applies(service: FixService, repo: Path) -> None:
    found = _findings(service.store, repo)
    minimist = found[("minimist", "0.0.8", "GHSA-test-minimist-01")]
    assert minimist.properties["direct"] is False
    plan = service.plan(minimist, repo)
    assert plan.kind == "dependency-override"
    assert '+    "minimist@0.0.8": "0.2.4"' in plan.diff
    assert 'adds to package.json: {"overrides": {"minimist@0.0.8": "0.2.4"}}' in plan.notes
    assert plan.relock_commands[0].startswith("npm install --package-lock-only  (in web;")
    assert any("`npm install minimist@0.2.4 --package-lock-only`" in n for n in plan.notes)
    # The nested copy of a package the project also depends on directly: a version-keyed rule would
    # make npm refuse the install (EOVERRIDE, checked by hand with npm 11), so the rule is scoped to
    # the package that pulls the copy in, read from the lockfile; the direct range is left alone.
    nested = found[("lodash", "4.17.4", "GHSA-test-lodash-0001")]
    plan = service.plan(nested, repo)
    assert '+    "tool": {"lodash": "4.17.21"}' in plan.diff and '-    "lodash"' not in plan.diff
    assert any("under tool" in n for n in plan.notes)
    # Applied for real: package.json gains the override; the lockfile (the finding's file) is
    # untouched until re-locked, so verification is inconclusive, never "verified".
    applied = service.apply(finding=minimist, root=repo, dry_run=False)
    assert applied.fix is not None and applied.fix.status == "applied", applied.message
    data = json.loads((repo / "web" / "package.json").read_text())
    assert data["overrides"] == {"minimist@0.0.8": "0.2.4"}
    assert json.loads((repo / "web" / "package-lock.json").read_text()) == LOCK


def test_malicious_findings_are_refused_with_the_removal_recipe(service: FixService, repo: Path) -> None:
    assert MALICIOUS_RULE == SCANNER_MALICIOUS_RULE
    found = _findings(service.store, repo)
    direct = found[("expres-session-store", "1.0.2", MALICIOUS_RULE)]
    assert direct.severity == Severity.CRITICAL
    with pytest.raises(FixNotApplicable) as refused:
        service.plan(direct, repo)
    text = str(refused.value)
    assert "malicious package (MAL-TEST-0001)" in text and "no version bump" in text
    assert "`npm uninstall expres-session-store`" in text and "Rotate the credentials" in text
    transitive = found[("@fake-scope/env-dump", "99.9.9", MALICIOUS_RULE)]
    with pytest.raises(FixNotApplicable, match="npm explain @fake-scope/env-dump") as refused:
        service.plan(transitive, repo)
    assert "npm uninstall" not in str(refused.value)
    # Even a finding whose properties offer an upgrade is never bumped.
    forged = direct.model_copy(update={"properties": {**direct.properties, "smallest_safe_upgrade": "9.9.9"}})
    with pytest.raises(FixNotApplicable, match="malicious"):
        fix_dependency(forged, _View(repo))


def test_lockfile_without_package_json_gives_the_command_in_the_refusal(tmp_path: Path) -> None:
    finding = Finding(
        scanner="deps",
        rule_id="GHSA-test-lodash-0001",
        severity=Severity.HIGH,
        path="package-lock.json",
        start_line=3,
        title="t",
        fingerprint="0" * 64,
        properties={"ecosystem": "npm", "package": "lodash", "version": "4.17.20", "direct": None,
                    "smallest_safe_upgrade": "4.17.21"},
    )  # fmt: skip
    (tmp_path / "package-lock.json").write_text("{}")
    with pytest.raises(
        FixNotApplicable, match=r"`npm install lodash@4\.17\.21 --package-lock-only` \(in \.\)"
    ):
        fix_dependency(finding, _View(tmp_path))
    hostile = finding.model_copy(update={"properties": {**finding.properties, "package": "lodash;id"}})
    with pytest.raises(FixNotApplicable, match="naming rules") as refused:
        fix_dependency(hostile, _View(tmp_path))
    assert "npm install" not in str(refused.value)


class _View:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, rel: str) -> bytes | None:
        path = self.root / rel
        return path.read_bytes() if path.is_file() else None


def test_v1_lockfile_nested_copy_of_a_direct_dependency(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        '{\n  "dependencies": {\n    "minimist": "1.2.5",\n    "mkdirp": "0.5.1"\n  }\n}\n'
    )
    lock = {
        "lockfileVersion": 1,
        "dependencies": {
            "minimist": {"version": "1.2.5"},
            "mkdirp": {"version": "0.5.1", "dependencies": {"minimist": {"version": "0.0.8"}}},
        },
    }
    (tmp_path / "package-lock.json").write_text(json.dumps(lock, indent=2))
    finding = Finding(
        scanner="deps",
        rule_id="GHSA-test-minimist-01",
        severity=Severity.HIGH,
        path="package-lock.json",
        start_line=9,
        title="t",
        fingerprint="0" * 64,
        properties={"ecosystem": "npm", "package": "minimist", "version": "0.0.8", "direct": False,
                    "smallest_safe_upgrade": "0.2.4"},
    )  # fmt: skip
    proposal = fix_dependency(finding, _View(tmp_path))
    assert json.loads(proposal.changes[0].after)["overrides"] == {"mkdirp": {"minimist": "0.2.4"}}
    # Not a direct dependency: the version-keyed rule.
    (tmp_path / "package.json").write_text('{\n  "dependencies": {\n    "mkdirp": "0.5.1"\n  }\n}\n')
    proposal = fix_dependency(finding, _View(tmp_path))
    assert json.loads(proposal.changes[0].after)["overrides"] == {"minimist@0.0.8": "0.2.4"}
