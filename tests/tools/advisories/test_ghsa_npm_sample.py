"""Against the real GHSA npm sample (../shared/advisories/ghsa-npm, 145 GitHub-reviewed advisories,
CC-BY-4.0, and real lockfiles): our findings equal a reference computed here, straight from the
OSV JSON, by a separate and deliberately simple implementation of the OSV rules.

The reference's rules, which are also the documented rules of our matcher (docs/dependencies.md):
- only `affected` entries with `package.ecosystem == "npm"` count;
- npm names are compared with ASCII case folded (GHSA-8hc4-vh64-cxmj names `Axios` for `axios`:
  the registry refuses new names differing only by case, the advisory data does not follow it);
- a version is affected when listed in `versions` (SemVer equality) or inside an ECOSYSTEM/SEMVER
  range, walking the events sorted by version (`introduced: "0"` first) as the OSV spec does;
- an empty `fixed` / `last_affected` ends nothing (GitHub's "no fix" for malware);
- a bound may be partial as in npm's range grammar (`"1.0"` is 1.0.0); an installed version may not;
- SemVer 2.0 precedence (the `semver` package): pre-releases below their release, build ignored.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import semver

from secaudit.tools.advisories import AdvisoryDB, is_affected
from secaudit.tools.deps import audit_dependencies
from secaudit.tools.scanners.deps import MALICIOUS_RULE, to_scan_result
from secaudit.tools.store import Store
from tests.support.shared import require_shared

# Absent: fails in CI, skips elsewhere, with the reason (tests.support.shared).
pytestmark = pytest.mark.shared
LOCKFILES = (
    "awesome-compose-nginx-nodejs-redis-web",
    "awesome-compose-react-express-mongodb-backend",
)


# -- the reference -------------------------------------------------------------------------------


def _installed(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text)
    except ValueError:
        return None


def _bound(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text, optional_minor_and_patch=True)
    except ValueError:
        return None


def _range_hits(events: list[dict[str, str]], v: semver.Version) -> bool:
    walk: list[tuple[int, semver.Version | None, str]] = []
    for event in events:
        ((kind, text),) = event.items()
        if kind != "introduced" and text == "":
            continue
        if kind == "introduced" and text == "0":
            walk.append((0, None, kind))
            continue
        bound = _bound(text)
        if bound is None:
            return False  # a range with a bound that is no version is not evaluated
        walk.append((1, bound, kind))
    walk.sort(key=lambda item: (item[0], item[1] or semver.Version(0)))
    affected = False
    for _, bound, kind in walk:
        if kind == "introduced" and (bound is None or v >= bound):
            affected = True
        elif kind == "fixed" and bound is not None and v >= bound:
            affected = False
        elif kind == "last_affected" and bound is not None and v > bound:
            affected = False
    limits = [b for _, b, k in walk if k == "limit" and b is not None]
    return affected and (not limits or any(v < b for b in limits))


def _ref_affected(entry: dict[str, Any], version: str) -> bool:
    v = _installed(version)
    listed = entry.get("versions") or []
    if version in listed or (v is not None and any(_installed(x) == v for x in listed)):
        return True
    if v is None:
        return False
    return any(
        _range_hits(r["events"], v) for r in entry.get("ranges") or [] if r["type"] in ("ECOSYSTEM", "SEMVER")
    )


def _records(sample: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(sample.glob("*.json"))]


@pytest.fixture(scope="module")
def sample() -> Path:
    return require_shared("advisories/ghsa-npm")


@pytest.fixture(scope="module")
def reference(sample: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """npm entries by case-folded package name: (advisory id, entry)."""
    by_name: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    records = _records(sample)
    assert len(records) == 145
    owners: dict[str, str] = {}
    for record in records:
        assert not record.get("withdrawn")
        for name in (record["id"], *record.get("aliases", [])):
            # No two sample records name the same vulnerability, so no alias merging is expected.
            assert owners.setdefault(name, record["id"]) == record["id"]
        for entry in record["affected"]:
            if entry["package"]["ecosystem"] == "npm":
                by_name.setdefault(entry["package"]["name"].lower(), []).append((record["id"], entry))
    return by_name


def _ref_ids(reference: dict[str, list[tuple[str, dict[str, Any]]]], name: str, version: str) -> set[str]:
    return {aid for aid, entry in reference.get(name.lower(), []) if _ref_affected(entry, version)}


@pytest.fixture(scope="module")
def db(sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdvisoryDB]:
    folder = tmp_path_factory.mktemp("ghsa")
    # The records alone, as `secaudit db import` would be pointed at them (the sample folder also
    # holds the lockfiles, which are no OSV records).
    records = folder / "records"
    records.mkdir()
    for path in sample.glob("*.json"):
        shutil.copyfile(path, records / path.name)
    store = Store(folder / "store.db")
    database = AdvisoryDB(store)
    report = database.import_path(records)
    assert (report.records, report.inserted, report.errors) == (145, 145, 0), report.error_samples
    assert report.ecosystems["npm"] == 145
    yield database
    store.close()


# -- the lockfiles -------------------------------------------------------------------------------


def _v1_pins(lock: dict[str, Any]) -> set[tuple[str, str]]:
    pins: set[tuple[str, str]] = set()
    stack = [lock.get("dependencies") or {}]
    while stack:
        for name, entry in stack.pop().items():
            if _installed(entry.get("version", "")) is not None:
                pins.add((name, entry["version"]))
            stack.append(entry.get("dependencies") or {})
    return pins


def _findings(db: AdvisoryDB, repo: Path) -> set[tuple[str, str, str]]:
    result = audit_dependencies(repo, None, db)
    assert not result.skipped
    return {(h.dependency.name, h.dependency.version or "", h.advisory.id) for h in result.vulnerable}


@pytest.mark.parametrize("stem", LOCKFILES)
def test_real_lockfile_findings_equal_the_reference(
    stem: str,
    sample: Path,
    db: AdvisoryDB,
    reference: dict[str, list[tuple[str, dict[str, Any]]]],
    tmp_path: Path,
) -> None:
    lock_text = (sample / "lockfiles" / f"{stem}-package-lock.json").read_text(encoding="utf-8")
    shutil.copyfile(sample / "lockfiles" / f"{stem}-package.json", tmp_path / "package.json")
    (tmp_path / "package-lock.json").write_text(lock_text, encoding="utf-8")
    pins = _v1_pins(json.loads(lock_text))
    expected = {(n, v, aid) for n, v in pins for aid in _ref_ids(reference, n, v)}
    assert _findings(db, tmp_path) == expected
    assert expected  # the sample really finds something in each lockfile
    # And at the matcher's own level, for every pin (what the audit builds on).
    for name, version in pins:
        found = db.advisories_for("npm", [name])[name.lower()]
        ours = {pa.advisory.id for pa in found if any(is_affected(e, version).affected for e in pa.entries)}
        assert ours == _ref_ids(reference, name, version), (name, version)


def test_the_real_lockfiles_hold_what_the_readme_says(
    sample: Path, db: AdvisoryDB, reference: dict[str, list[tuple[str, dict[str, Any]]]], tmp_path: Path
) -> None:
    # Hand-checked against the advisories: express 4.17.1 (react-express-mongodb) is before the
    # fixes of GHSA-qw6h-vgh9-j6wx (4.20.0) and GHSA-rv95-896h-c2vc (4.19.2).
    stem = LOCKFILES[1]
    shutil.copyfile(sample / "lockfiles" / f"{stem}-package-lock.json", tmp_path / "package-lock.json")
    shutil.copyfile(sample / "lockfiles" / f"{stem}-package.json", tmp_path / "package.json")
    found = _findings(db, tmp_path)
    assert {
        ("express", "4.17.1", "GHSA-qw6h-vgh9-j6wx"),
        ("express", "4.17.1", "GHSA-rv95-896h-c2vc"),
    } <= found


# -- every quirk, on a generated lockfile of boundary versions --------------------------------------


def _neighbours(text: str) -> set[str]:
    v = _bound(text)
    if v is None:
        return set()
    out = {str(v), str(v.bump_patch()), f"{v.major}.{v.minor}.{v.patch}-0"}
    if v.patch:
        out.add(str(v.replace(patch=v.patch - 1)))
    elif v.minor:
        out.add(str(v.replace(minor=v.minor - 1, patch=99)))
    return out


def _boundary_pins(reference: dict[str, list[tuple[str, dict[str, Any]]]]) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for name, entries in reference.items():
        versions = {"0.0.1", "999.0.0"}
        for _, entry in entries:
            for listed in entry.get("versions") or []:
                versions |= _neighbours(listed)
            for rng in entry.get("ranges") or []:
                for event in rng["events"]:
                    ((_, text),) = event.items()
                    versions |= _neighbours(text) if text not in ("", "0") else set()
        pins[name] = versions
    return pins


def _v3_lockfile(pins: dict[str, set[str]]) -> dict[str, Any]:
    """One install path per (package, version): a top-level copy, the others nested in holders."""
    packages: dict[str, Any] = {"": {"name": "boundary", "version": "1.0.0", "dependencies": {}}}
    for name, versions in sorted(pins.items()):
        for i, version in enumerate(sorted(versions)):
            if i == 0:
                packages[f"node_modules/{name}"] = {"version": version}
                packages[""]["dependencies"][name] = version
            else:
                packages[f"node_modules/holder-{i}"] = {"version": "1.0.0"}
                packages[f"node_modules/holder-{i}/node_modules/{name}"] = {"version": version}
    return {"name": "boundary", "version": "1.0.0", "lockfileVersion": 3, "packages": packages}


@pytest.fixture(scope="module")
def boundary(
    db: AdvisoryDB,
    reference: dict[str, list[tuple[str, dict[str, Any]]]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any]:
    pins = _boundary_pins(reference)
    repo = tmp_path_factory.mktemp("boundary")
    (repo / "package-lock.json").write_text(json.dumps(_v3_lockfile(pins), indent=2), encoding="utf-8")
    result = audit_dependencies(repo, None, db)
    ours = {(h.dependency.name, h.dependency.version or "", h.advisory.id) for h in result.vulnerable}
    expected = {(n, v, aid) for n, vs in pins.items() for v in vs for aid in _ref_ids(reference, n, v)}
    return ours, expected, result


def test_boundary_versions_equal_the_reference(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    ours, expected, result = boundary
    assert not result.unchecked
    assert ours == expected
    assert len(expected) > 400  # the boundaries really exercise the sample
    assert len({aid for _, _, aid in expected}) >= 140  # nearly every record matches somewhere


def _ids(ours: set[tuple[str, str, str]], name: str, version: str) -> set[str]:
    return {aid for n, v, aid in ours if (n, v) == (name, version)}


def test_quirk_empty_fixed_leaves_the_range_open(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    ours = boundary[0]
    # GHSA-226w-6hhj-69hp: cal_rd, introduced 0.0.0, fixed "" (a malware report with no fix).
    assert "GHSA-226w-6hhj-69hp" in _ids(ours, "cal_rd", "0.0.1")
    assert "GHSA-226w-6hhj-69hp" in _ids(ours, "cal_rd", "999.0.0")
    for aid, name in (
        ("GHSA-25v4-mcx4-hh35", "atlasboard-atlassian-package"),
        ("GHSA-277p-xwpp-3jf7", "rrgod"),
        ("GHSA-2fwq-wx47-hm6x", "bcion"),
    ):
        assert aid in _ids(ours, name, "999.0.0"), aid


def test_quirk_fixed_below_introduced(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    ours, _, result = boundary
    # GHSA-28f8-hqmc-7ph8: introduced 1.0.8, fixed 1.0.7, versions ["1.0.8"]. Sorted, the fix comes
    # first and ends nothing; the OSV rules then leave >= 1.0.8 affected.
    assert "GHSA-28f8-hqmc-7ph8" not in _ids(ours, "ember-power-timepicker", "1.0.7")
    assert "GHSA-28f8-hqmc-7ph8" in _ids(ours, "ember-power-timepicker", "1.0.8")
    assert "GHSA-28f8-hqmc-7ph8" in _ids(ours, "ember-power-timepicker", "1.0.9")
    listed = next(
        h
        for h in result.vulnerable
        if (h.dependency.name, h.dependency.version) == ("ember-power-timepicker", "1.0.8")
    )
    assert listed.via == "versions"


def test_quirk_partial_introduced_is_evaluated(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    ours = boundary[0]
    # GHSA-r683-j2x4-v87g: node-fetch `introduced: "1.0"`, fixed 3.1.1 (and 0 .. 2.6.7).
    assert "GHSA-r683-j2x4-v87g" in _ids(ours, "node-fetch", "3.1.0")
    assert "GHSA-r683-j2x4-v87g" not in _ids(ours, "node-fetch", "3.1.1")
    assert "GHSA-r683-j2x4-v87g" in _ids(ours, "node-fetch", "1.0.0")


def test_quirk_last_affected_is_inclusive(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    ours = boundary[0]
    # GHSA-78xj-cgh5-2h22: ip, introduced 0, last_affected 1.1.8.
    assert "GHSA-78xj-cgh5-2h22" in _ids(ours, "ip", "1.1.8")
    assert "GHSA-78xj-cgh5-2h22" not in _ids(ours, "ip", "1.1.9")
    # A pre-release of the bound is below it: affected.
    assert "GHSA-78xj-cgh5-2h22" in _ids(ours, "ip", "1.1.8-0")


def test_quirk_capitalised_name_matches_and_says_so(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    ours, _, result = boundary
    # GHSA-8hc4-vh64-cxmj names `Axios` (introduced 1.3.2, fixed 1.7.4) for the axios package.
    assert "GHSA-8hc4-vh64-cxmj" in _ids(ours, "axios", "1.7.3")
    assert "GHSA-8hc4-vh64-cxmj" not in _ids(ours, "axios", "1.7.4")
    hit = next(
        h
        for h in result.vulnerable
        if h.advisory.id == "GHSA-8hc4-vh64-cxmj" and h.dependency.version == "1.7.3"
    )
    assert any("'Axios'" in note for note in hit.notes)
    finding = next(
        f for f in to_scan_result(result).findings if f.properties["advisory_id"] == hit.advisory.id
    )
    assert "'Axios'" in finding.message


def test_quirk_non_npm_entries_are_not_matched(db: AdvisoryDB) -> None:
    # GHSA-f2jv-r9rf-7988 (handlebars) also lists a Maven entry; GHSA-gxr4-xjj5-5px2 (jquery) Maven,
    # NuGet and RubyGems ones. Under npm only the npm entries exist.
    for name, aid in (("handlebars", "GHSA-f2jv-r9rf-7988"), ("jquery", "GHSA-gxr4-xjj5-5px2")):
        found = {pa.advisory.id: pa for pa in db.advisories_for("npm", [name])[name]}
        assert {e.ecosystem for e in found[aid].entries} == {"npm"}
    status = db.status()
    assert {e.ecosystem for e in status.ecosystems} == {"npm", "Maven", "NuGet", "RubyGems"}


def _severity(db: AdvisoryDB, name: str, aid: str) -> tuple[str, float | None, str]:
    pa = next(pa for pa in db.advisories_for("npm", [name])[name] if pa.advisory.id == aid)
    return pa.advisory.severity.level, pa.advisory.severity.score, pa.advisory.severity.source


def test_quirk_severities(db: AdvisoryDB, sample: Path) -> None:
    # CVSS v4 preferred over the v3 vector beside it (GHSA-25hc-qcg6-38wj: v4 6.9, GitHub label HIGH).
    assert _severity(db, "socket.io", "GHSA-25hc-qcg6-38wj") == ("medium", 6.9, "CVSS_V4")
    # Empty `severity`: GitHub's label (LOW) is used.
    assert _severity(db, "@hapi/hoek", "GHSA-22h7-7wwg-qmgg") == ("low", None, "database_specific")
    # `github_reviewed: null` and a lower-case `severity: "moderate"` in the stored record.
    raw = json.loads((sample / "GHSA-x5rq-j2xg-h7qm.json").read_text())
    assert raw["database_specific"]["github_reviewed"] is None
    assert raw["database_specific"]["severity"] == "moderate"
    assert _severity(db, "lodash", "GHSA-x5rq-j2xg-h7qm") == ("medium", None, "database_specific")
    # Every CVSS_V4 record of the sample is scored from its v4 vector.
    for record in _records(sample):
        if any(s["type"] == "CVSS_V4" for s in record.get("severity") or []):
            name = next(
                e["package"]["name"] for e in record["affected"] if e["package"]["ecosystem"] == "npm"
            )
            _, score, source = _severity(db, name.lower(), record["id"])
            assert source == "CVSS_V4" and score is not None, record["id"]


def test_malware_records_without_a_mal_id_stay_advisories(
    boundary: tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], Any],
) -> None:
    # GitHub's own "Malicious Package in X" records carry GHSA ids: no MAL- id, so they are ordinary
    # advisory findings (with GitHub's rating), not the malicious-package kind, which only an OSV
    # MAL- record (or a record aliasing one) makes.
    result = boundary[2]
    findings = to_scan_result(result).findings
    assert not any(f.rule_id == MALICIOUS_RULE for f in findings)
    cal = next(f for f in findings if f.properties.get("advisory_id") == "GHSA-226w-6hhj-69hp")
    assert cal.severity.value == "critical"
