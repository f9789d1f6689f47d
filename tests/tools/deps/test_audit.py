"""`audit_dependencies`: what counts as checked (issue 11 item 8: look-alike names)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps import audit_dependencies
from secaudit.tools.store import Store
from tests.tools.deps.test_sources import NPM_OSV, OSV


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "a.json").write_text(json.dumps(OSV))
    (osv / "b.json").write_text(json.dumps(NPM_OSV))
    store = Store(tmp_path / "store.db")
    database = AdvisoryDB(store)
    database.import_path(osv)
    yield database
    store.close()


def test_item8_lookalike_names_are_not_counted_as_checked(tmp_path: Path, db: AdvisoryDB) -> None:
    # Issue 11 item 8: a Cyrillic `rеquests` was (correctly) not matched, but counted as checked:
    # a clean answer for a name that can match nothing. Now it is a per-dependency "not a valid
    # package name" note and one of the unchecked; so is an npm look-alike in a lockfile.
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("r\u0435quests==2.19.0\nsix==1.16.0\n", encoding="utf-8")
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"dependencies": {"lod\u0430sh": "4.17.20"}},
            "node_modules/lod\u0430sh": {"version": "4.17.20"},
        },
    }
    (root / "package-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    result = audit_dependencies(root, None, db)
    invalid = sorted(d.name for d in result.invalid_names)
    assert invalid == ["lod\u0430sh", "r\u0435quests"]
    assert {d.name for d in result.unchecked} >= set(invalid)
    assert result.checked == 1  # six only
    notes = [f"{n.path}: {n.message}" for n in result.notes]
    assert (
        "requirements.txt: line 1: 'r\\u0435quests' is not a valid PyPI package name (look-alike "
        "characters?): not checked against advisories"
    ) in notes
    assert any("'lod\\u0430sh' is not a valid npm package name" in n for n in notes)
    assert any(c.startswith("2 dependencies NOT checked: not valid package names") for c in result.coverage)
    assert not result.vulnerable
