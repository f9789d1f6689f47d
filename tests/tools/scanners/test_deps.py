"""The `deps` scanner through the scanner interface, its online option included."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.findings.model import Severity
from secaudit.tools.scanners.builtin import SCANNERS
from secaudit.tools.scanners.deps import DepsScanner
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext, ScannerUnavailable
from secaudit.tools.store import Store

OSV = {
    "id": "PYSEC-TEST-1",
    "modified": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2099-1"],
    "summary": "request smuggling",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
    "references": [{"type": "ADVISORY", "url": "https://example.invalid/adv"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }
    ],
}
GHSA_ALIAS = {**OSV, "id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2099-1"], "severity": []}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "store.db")
    yield s
    s.close()


@pytest.fixture
def db(store: Store, tmp_path: Path) -> AdvisoryDB:
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "a.json").write_text(json.dumps(OSV))
    (osv / "b.json").write_text(json.dumps(GHSA_ALIAS))
    database = AdvisoryDB(store)
    database.import_path(osv)
    return database


def refs(root: Path) -> list[FileRef]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out.append(
                FileRef(path=path, rel=path.relative_to(root).as_posix(), size=st.st_size, mode=st.st_mode)
            )
    return out


def context(root: Path, store: Store | None = None, **options: object) -> ScanContext:
    return ScanContext(
        root=root,
        cancel=CancelToken(),
        deadline=time.monotonic() + 60,
        options=DepsScanner.Options.parse("deps", options),
        store=store,
    )


def test_registered() -> None:
    assert "deps" in SCANNERS.names()


def test_findings_per_package_version_advisory(tmp_path: Path, db: AdvisoryDB, store: Store) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("flask>=2\nrequests==2.19.0\n")
    (root / "main.py").write_text("print('hi')\n")
    scanner = DepsScanner()
    files = [f for f in refs(root) if scanner.selects(f)]
    assert [f.rel for f in files] == ["requirements.txt"]
    result = scanner.scan(context(root, store=store), files)
    vuln = [f for f in result.findings if f.rule_id == "PYSEC-TEST-1"]
    assert len(vuln) == 1  # the GHSA alias of the same vulnerability is merged, not a second finding
    f = vuln[0]
    assert f.severity == Severity.HIGH and f.path == "requirements.txt" and f.start_line == 2
    assert "GHSA-aaaa-bbbb-cccc" in f.message and "CVE-2099-1" in f.message
    assert "Smallest safe upgrade: 2.20.0" in f.message and "(direct)" in f.message
    assert f.properties["smallest_safe_upgrade"] == "2.20.0"
    assert f.properties["fixed_versions"] == ["2.20.0"]
    assert f.references == ["https://example.invalid/adv"]
    unpinned = [f for f in result.findings if f.rule_id == "deps.unpinned"]
    assert len(unpinned) == 1 and unpinned[0].severity == Severity.INFO and unpinned[0].start_line == 1
    assert any("1 of 2 dependencies checked" in n for n in result.notes)
    assert result.scanned == ["requirements.txt"]
    # Lines inserted above keep the fingerprint.
    (root / "requirements.txt").write_text("# new header\n\nflask>=2\nrequests==2.19.0\n")
    again = scanner.scan(context(root, advisory_db=db), files)
    moved = next(x for x in again.findings if x.rule_id == "PYSEC-TEST-1")
    assert moved.start_line == 4 and moved.fingerprint == f.fingerprint


def test_unavailable_without_a_database_or_with_an_empty_one(tmp_path: Path, store: Store) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.19.0\n")
    with pytest.raises(ScannerUnavailable, match="no advisory database"):
        DepsScanner().scan(context(root), refs(root))
    with pytest.raises(ScannerUnavailable, match="empty"):
        DepsScanner().scan(context(root, store=store), refs(root))


def test_online_option_adds_a_clear_note_when_offline(tmp_path: Path, db: AdvisoryDB) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("requests==2.19.0\n")
    result = DepsScanner().scan(context(root, advisory_db=db, online="osv"), refs(root))
    assert any(f.rule_id == "PYSEC-TEST-1" for f in result.findings)  # the offline result stands
    assert any(n.startswith("online check") for n in result.notes)


def test_item6_ecosystem_without_advisories_makes_the_run_partial(tmp_path: Path) -> None:
    # Issue 11 item 6: an npm-only repository against a PyPI-only database was recorded
    # `succeeded`, deps `complete`, "No findings.". Nothing npm was checked: the run is partial and
    # says which ecosystem was not checked, how many dependencies, and how to fix it.
    from secaudit.server.context import build_context
    from tests.support.audit import npm_repo_pypi_db

    root, settings = npm_repo_pypi_db(tmp_path)
    app = build_context(settings)
    try:
        assert app.audit is not None
        run = app.audit.run(str(root), scanners=["deps"])
        assert run.status.value == "partial"
        [deps] = run.coverage
        assert deps.complete is False and deps.error is None
        assert any("ecosystems NOT checked" in n and "npm (2 dependencies)" in n for n in run.notes), (
            run.notes
        )
        assert any("no npm records" in n and "secaudit db import" in n for n in run.notes)
    finally:
        app.close()


def test_item8_lookalike_name_makes_the_run_partial(tmp_path: Path) -> None:
    # Issue 11 item 8 through the engine: the look-alike is not checked, so deps is incomplete and
    # the run partial, with the per-dependency note in the run's notes.
    from secaudit.server.context import build_context
    from tests.support.audit import make_settings

    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("r\u0435quests==2.19.0\n", encoding="utf-8")
    app = build_context(make_settings(tmp_path, root))
    try:
        osv = tmp_path / "osv"
        osv.mkdir()
        (osv / "a.json").write_text(json.dumps(OSV))
        AdvisoryDB(app.store).import_path(osv)
        assert app.audit is not None
        run = app.audit.run(str(root), scanners=["deps"])
        assert run.status.value == "partial"
        assert run.coverage[0].complete is False
        assert any("not a valid PyPI package name (look-alike characters?)" in n for n in run.notes)
        assert any("0 of 1 dependencies checked" in n for n in run.notes), run.notes
    finally:
        app.close()
