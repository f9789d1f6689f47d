"""Against the real PyPA advisory database: our matches equal a reference computed here, straight
from the OSV rules, by a separate and deliberately simple implementation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import InvalidVersion, Version

from secaudit.tools.advisories import AdvisoryDB, is_affected, smallest_safe_upgrade
from secaudit.tools.deps import audit_dependencies
from secaudit.tools.store import Store
from tests.shared_paths import in_ci, require_shared, shared_path

_LOADER: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

VULNS = shared_path("advisories", "pypa", "vulns")
pytestmark = [
    pytest.mark.shared,
    # Skipped outside CI when absent; in CI the fixtures below fail instead (require_shared).
    pytest.mark.skipif(
        VULNS is None and not in_ci(),
        reason="../shared/advisories/pypa/vulns (the real PyPA database) is absent; set SECAUDIT_SHARED_DIR",
    ),
]

PINS = [
    ("django", "2.2.0"), ("django", "3.2.0"), ("Django", "4.0rc1"), ("flask", "0.12"), ("Jinja2", "2.10"),
    ("PyYAML", "5.3"), ("requests", "2.19.0"), ("urllib3", "1.24.1"), ("Pillow", "8.0.0"),
    ("numpy", "1.16.0"), ("cryptography", "3.2"), ("lxml", "4.6.2"), ("paramiko", "2.4.1"),
    ("SQLAlchemy", "1.2.0"), ("Werkzeug", "0.15.0"), ("tornado", "5.0"), ("Twisted", "19.2.0"),
    ("aiohttp", "3.7.0"), ("Babel", "2.9.0"), ("bleach", "3.1.0"), ("setuptools", "65.0.0"),
    ("pip", "20.0"), ("tensorflow", "2.4.0"), ("ansible", "2.9.0"), ("celery", "4.0.0"),
    ("mistune", "0.8.3"), ("gunicorn", "19.4.0"), ("httplib2", "0.17.0"), ("psutil", "5.6.5"),
    ("pycrypto", "2.6.1"), ("PyJWT", "1.5.0"), ("rsa", "4.0"), ("waitress", "1.4.0"),
    ("requests", "2.32.3"), ("no-such-package-xyz", "1.0"),
]  # fmt: skip


def _norm(name: str) -> str:
    out = []
    for ch in name.lower():
        out.append("-" if ch in "-_." else ch)
    text = "".join(out)
    while "--" in text:
        text = text.replace("--", "-")
    return text


def _v(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _range_hits(events: list[dict[str, str]], v: Version) -> bool:
    """The status at `v` is set by the greatest event at or below it (ties: the later event)."""
    parsed: list[tuple[Version | None, int, str]] = []
    for order, event in enumerate(events):
        ((kind, text),) = event.items()
        if kind == "introduced" and text == "0":
            parsed.append((None, order, kind))
            continue
        bound = _v(text)
        if bound is None:
            return False  # the same policy as ours: a range with an invalid bound is not evaluated
        parsed.append((bound, order, kind))
    limits = [b for b, _, k in parsed if k == "limit"]
    if limits and not any(v < b for b in limits if b is not None):
        return False
    applicable = [
        (b, o, k) for b, o, k in parsed
        if k != "limit" and (b is None or (b < v if k == "last_affected" else b <= v))
    ]  # fmt: skip
    if not applicable:
        return False
    zero = Version("0")
    _, _, kind = max(applicable, key=lambda item: (item[0] or zero, item[0] is not None, item[1]))
    return kind == "introduced"


def _reference_affected(entry: dict[str, Any], version: str) -> bool:
    v = _v(version)
    listed = entry.get("versions") or []
    if version in listed or (v is not None and any(_v(x) == v for x in listed)):
        return True
    if v is None:
        return False
    return any(_range_hits(r["events"], v) for r in entry.get("ranges") or [] if r["type"] == "ECOSYSTEM")


@pytest.fixture(scope="module")
def reference() -> dict[str, list[dict[str, Any]]]:
    vulns = require_shared("advisories", "pypa", "vulns")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for path in vulns.rglob("*.yaml"):
        data = yaml.load(path.read_bytes(), Loader=_LOADER)
        if data.get("withdrawn"):
            continue
        for entry in data.get("affected") or []:
            if entry["package"]["ecosystem"] == "PyPI":
                by_name.setdefault(_norm(entry["package"]["name"]), []).append({"id": data["id"], **entry})
    return by_name


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdvisoryDB]:
    vulns = require_shared("advisories", "pypa", "vulns")
    store = Store(tmp_path_factory.mktemp("pypa") / "store.db")
    database = AdvisoryDB(store)
    report = database.import_path(vulns)
    assert report.errors == 0 and report.records >= 2600
    yield database
    store.close()


def _reference_ids(reference: dict[str, list[dict[str, Any]]], name: str, version: str) -> set[str]:
    return {e["id"] for e in reference.get(_norm(name), []) if _reference_affected(e, version)}


def test_matches_equal_the_reference(db: AdvisoryDB, reference: dict[str, list[dict[str, Any]]]) -> None:
    total = 0
    for name, version in PINS:
        found = db.advisories_for("PyPI", [name])[_norm(name)]
        ours = {pa.advisory.id for pa in found if any(is_affected(e, version).affected for e in pa.entries)}
        expected = _reference_ids(reference, name, version)
        assert ours == expected, f"{name} {version}"
        total += len(ours)
    assert total > 100  # the list really exercises the database


def test_upgrade_is_the_smallest_fixed_version_no_advisory_covers(
    db: AdvisoryDB, reference: dict[str, list[dict[str, Any]]]
) -> None:
    for name, version in PINS:
        entries = [e for pa in db.advisories_for("PyPI", [name])[_norm(name)] for e in pa.entries]
        ref_entries = reference.get(_norm(name), [])
        if not any(_reference_affected(e, version) for e in ref_entries):
            continue
        fixes = sorted(
            {
                v for e in ref_entries for r in e.get("ranges") or [] if r["type"] == "ECOSYSTEM"
                for ev in r["events"] for k, t in ev.items() if k == "fixed"
                and (v := _v(t)) is not None and v > Version(version) and not v.is_prerelease
            }
        )  # fmt: skip
        expected = next(
            (str(f) for f in fixes if not any(_reference_affected(e, str(f)) for e in ref_entries)), None
        )
        got = smallest_safe_upgrade(entries, version, "PyPI").version
        assert (None if got is None else Version(got)) == (None if expected is None else Version(expected)), (
            name
        )


def test_audit_pipeline_reports_the_same(
    db: AdvisoryDB, reference: dict[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    (tmp_path / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in PINS))
    result = audit_dependencies(tmp_path, None, db)
    assert not result.unchecked and len(result.dependencies) == len(PINS)
    for name, version in PINS:
        hits = [h for h in result.vulnerable if h.dependency.name == name and h.dependency.version == version]
        covered = {h.advisory.id for h in hits} | {a for h in hits for a in h.aliases}
        expected = _reference_ids(reference, name, version)
        assert expected <= covered, name
        assert {h.advisory.id for h in hits} <= expected
        for h in hits:
            assert h.dependency.line == PINS.index((name, version)) + 1
