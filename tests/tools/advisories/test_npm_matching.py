"""Regression tests for the npm matching bugs the GHSA sample found (they need no ../shared):
`fixed: ""`, partial bounds (`"1.0"`), capitalised names, and the ecosystem filter."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secaudit.tools.advisories import AdvisoryDB, is_affected, parse_record, smallest_safe_upgrade
from secaudit.tools.advisories.db import MIGRATIONS
from secaudit.tools.store import Migration, Store


def record(rid: str, affected: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": rid, "modified": "2024-01-01T00:00:00Z", "affected": affected, **extra}


def npm(name: str, events: list[dict[str, str]], eco: str = "npm", **extra: Any) -> dict[str, Any]:
    return {
        "package": {"ecosystem": eco, "name": name},
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        **extra,
    }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    store = Store(tmp_path / "store.db")
    yield AdvisoryDB(store)
    store.close()


def _import(db: AdvisoryDB, tmp_path: Path, *records: dict[str, Any]) -> None:
    folder = tmp_path / "osv"
    folder.mkdir(exist_ok=True)
    for r in records:
        (folder / f"{r['id']}.json").write_text(json.dumps(r))
    report = db.import_path(folder)
    assert report.errors == 0, report.error_samples


def _hits(db: AdvisoryDB, name: str, version: str) -> set[str]:
    found = db.advisories_for("npm", [name])[name.lower()]
    return {pa.advisory.id for pa in found if any(is_affected(e, version).affected for e in pa.entries)}


def test_empty_fixed_is_no_fix_and_the_record_is_kept() -> None:
    adv = parse_record(record("GHSA-aaaa-bbbb-cccc", [npm("evil", [{"introduced": "0.0.0"}, {"fixed": ""}])]))
    (entry,) = adv.affected
    assert [e.kind for e in entry.ranges[0].events] == ["introduced"]
    assert is_affected(entry, "0.0.0").affected and is_affected(entry, "42.1.0").affected
    assert smallest_safe_upgrade(adv.affected, "1.0.0", "npm").version is None
    # Same for an empty last_affected or limit; an empty introduced is still an error.
    adv = parse_record(
        record("GHSA-aaaa-bbbb-dddd", [npm("x", [{"introduced": "1.0.0"}, {"last_affected": " "}])])
    )
    assert is_affected(adv.affected[0], "9.0.0").affected
    with pytest.raises(Exception, match="empty"):
        parse_record(record("GHSA-aaaa-bbbb-eeee", [npm("x", [{"introduced": ""}])]))


def test_partial_bounds_read_as_npm_reads_them() -> None:
    adv = parse_record(
        record("GHSA-r683-test-0001", [npm("node-fetch", [{"introduced": "1.0"}, {"fixed": "3.1"}])])
    )
    entry = adv.affected[0]
    assert not is_affected(entry, "0.9.9").affected
    assert is_affected(entry, "1.0.0").affected and is_affected(entry, "3.0.9").affected
    assert not is_affected(entry, "3.1.0").affected
    # A partial fix is suggested as the release it pads to; an installed "1.0" is no version.
    assert smallest_safe_upgrade(adv.affected, "2.0.0", "npm").version == "3.1.0"
    assert not is_affected(entry, "1.0").affected
    # "01.0" is not SemVer, partial or not: the range is not evaluated, with a note.
    bad = parse_record(record("GHSA-r683-test-0002", [npm("x", [{"introduced": "01.0"}])]))
    outcome = is_affected(bad.affected[0], "2.0.0")
    assert not outcome.affected and "not a valid SemVer version" in outcome.notes[0]


def test_capitalised_advisory_name_matches_the_lower_case_package(db: AdvisoryDB, tmp_path: Path) -> None:
    _import(
        db,
        tmp_path,
        record("GHSA-8hc4-test-0001", [npm("Axios", [{"introduced": "1.3.2"}, {"fixed": "1.7.4"}])]),
    )
    assert _hits(db, "axios", "1.7.3") == {"GHSA-8hc4-test-0001"}
    assert _hits(db, "AXIOS", "1.7.3") == {"GHSA-8hc4-test-0001"}
    assert _hits(db, "axios", "1.7.4") == set()
    (pa,) = db.advisories_for("npm", ["axios"])["axios"]
    assert pa.entries[0].name == "Axios"  # the advisory's spelling is kept for the note
    # Only ASCII is folded: a look-alike name never matches.
    assert db.advisories_for("npm", ["\u212axios"])["\u212axios"] == ()


def test_ecosystem_filter_with_the_same_name_elsewhere(db: AdvisoryDB, tmp_path: Path) -> None:
    _import(
        db,
        tmp_path,
        record(
            "GHSA-eco0-test-0001",
            [
                npm("moment", [{"introduced": "0"}, {"fixed": "2.0.0"}]),
                npm("moment", [{"introduced": "0"}, {"fixed": "9.0.0"}], eco="NuGet"),
                npm("moment", [{"introduced": "0"}, {"fixed": "9.0.0"}], eco="Maven"),
            ],
        ),
    )
    assert _hits(db, "moment", "1.9.0") == {"GHSA-eco0-test-0001"}
    assert _hits(db, "moment", "5.0.0") == set()  # the NuGet/Maven ranges are not npm's


def test_migration_folds_npm_names_stored_before(tmp_path: Path) -> None:
    # A database written by version 1 (exact npm names) is upgraded in place.
    path = tmp_path / "old.db"
    store = Store(path)
    store.migrate((MIGRATIONS[0],))
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO advisories (id, modified, aliases, summary, details, severity, severity_source, refs,"
        " content_hash, imported_at) VALUES ('GHSA-old0-test-0001', '2024-01-01T00:00:00.000000Z', '[]', '',"
        " '', 'high', 'none', '[]', 'x', '2024-01-01T00:00:00.000000Z')"
    )
    conn.execute(
        "INSERT INTO advisory_affected VALUES ('GHSA-old0-test-0001', 0, 'npm', 'JSONStream', 'JSONStream',"
        ' \'[{"type":"ECOSYSTEM","repo":null,"events":[["introduced","0"],["fixed","1.3.2"]]}]\', \'[]\')'
    )
    conn.execute(
        "INSERT INTO advisory_affected VALUES ('GHSA-old0-test-0001', 1, 'PyPI', 'Other', 'Other', '[]', '[]')"
    )
    conn.commit()
    conn.close()
    store.close()
    store = Store(path)
    db = AdvisoryDB(store)
    assert _hits(db, "JSONStream", "1.3.1") == {"GHSA-old0-test-0001"}
    rows = {tuple(r) for r in store.query("SELECT ecosystem, name FROM advisory_affected")}
    assert rows == {("npm", "jsonstream"), ("PyPI", "Other")}  # only npm rows are folded
    store.close()
    assert isinstance(MIGRATIONS[1], Migration) and MIGRATIONS[1].version == 2
