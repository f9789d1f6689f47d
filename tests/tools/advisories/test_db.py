"""The advisory database on a real SQLite file: import, re-import, withdrawn, status, update."""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from secaudit.tools.advisories import AdvisoryDB, DatabaseUpdateFailed, is_affected
from secaudit.tools.advisories.osv import MAX_RECORD_BYTES
from secaudit.tools.store import Store


def rec(
    rid: str,
    name: str,
    fixed: str,
    *,
    eco: str = "PyPI",
    modified: str = "2024-01-01T00:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": rid,
        "modified": modified,
        "aliases": [f"CVE-{rid}"],
        "affected": [
            {
                "package": {"ecosystem": eco, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
    }
    data.update(extra)
    return data


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    store = Store(tmp_path / "store.db")
    yield AdvisoryDB(store)
    store.close()


def write_tree(root: Path, records: list[dict[str, Any]], *, as_yaml: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for r in records:
        folder = root / r["affected"][0]["package"]["name"]
        folder.mkdir(exist_ok=True)
        if as_yaml:
            (folder / f"{r['id']}.yaml").write_text(yaml.safe_dump(r))
        else:
            (folder / f"{r['id']}.json").write_text(json.dumps(r))
    return root


def test_import_directory_yaml_and_json(db: AdvisoryDB, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "osv", [rec("PYSEC-1", "Demo_Pkg", "1.5")])
    write_tree(tree, [rec("GHSA-1111-2222-3333", "other", "2.0")], as_yaml=False)
    (tree / "broken.yaml").write_text("id: [unclosed")
    (tree / "notes.txt").write_text("ignored")
    report = db.import_path(tree)
    assert (report.records, report.inserted, report.errors) == (2, 2, 1)
    assert "broken.yaml" in report.error_samples[0]
    found = db.advisories_for("PyPI", ["demo.pkg"])["demo-pkg"]
    assert [pa.advisory.id for pa in found] == ["PYSEC-1"]
    assert is_affected(found[0].entries[0], "1.4").affected


def test_unquoted_yaml_numbers_stay_versions(db: AdvisoryDB, tmp_path: Path) -> None:
    tree = tmp_path / "osv"
    tree.mkdir()
    # `1.10` unquoted would be the float 1.1 under a type-resolving YAML loader.
    (tree / "r.yaml").write_text(
        "id: PYSEC-9\nmodified: 2024-01-01T00:00:00Z\naffected:\n- package: {ecosystem: PyPI, name: n}\n"
        "  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n"
    )
    db.import_path(tree)
    entry = db.advisories_for("PyPI", ["n"])["n"][0].entries[0]
    assert entry.fixed_versions == ("1.10",)
    assert is_affected(entry, "1.9").affected and not is_affected(entry, "1.10").affected


def test_reimport_is_idempotent_and_replaces_changed_records(db: AdvisoryDB, tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "osv", [rec("PYSEC-1", "a", "1.0"), rec("PYSEC-2", "b", "2.0")])
    first = db.import_path(tree)
    again = db.import_path(tree)
    assert (first.inserted, again.inserted, again.unchanged, again.updated) == (2, 0, 2, 0)
    write_tree(tree, [rec("PYSEC-1", "a", "1.1", modified="2024-02-01T00:00:00Z")])
    changed = db.import_path(tree)
    assert (changed.updated, changed.unchanged) == (1, 1)
    assert db.advisories_for("PyPI", ["a"])["a"][0].entries[0].fixed_versions == ("1.1",)
    # An older copy of a record does not overwrite a newer one.
    old = write_tree(tmp_path / "old", [rec("PYSEC-1", "a", "0.9", modified="2023-01-01T00:00:00Z")])
    stale = db.import_path(old)
    assert stale.stale == 1
    assert db.advisories_for("PyPI", ["a"])["a"][0].entries[0].fixed_versions == ("1.1",)
    # Importing a source without PYSEC-2 removes nothing.
    assert db.status().advisories == 2


def test_withdrawn_records_never_match(db: AdvisoryDB, tmp_path: Path) -> None:
    tree = write_tree(
        tmp_path / "osv",
        [rec("PYSEC-1", "a", "9.0", withdrawn="2024-03-01T00:00:00Z"), rec("PYSEC-2", "a", "2.0")],
    )
    db.import_path(tree)
    assert [pa.advisory.id for pa in db.advisories_for("PyPI", ["a"])["a"]] == ["PYSEC-2"]
    status = db.status()
    assert status.withdrawn == 1 and status.advisories == 2


def test_zip_dump_and_status(db: AdvisoryDB, tmp_path: Path) -> None:
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w") as zf:
        zf.writestr(
            "GHSA-aaaa-bbbb-cccc.json", json.dumps(rec("GHSA-aaaa-bbbb-cccc", "lodash", "4.17.21", eco="npm"))
        )
        zf.writestr(
            "GHSA-dddd-eeee-ffff.json", json.dumps(rec("GHSA-dddd-eeee-ffff", "left-pad", "1.1.0", eco="npm"))
        )
        zf.writestr("bad.json", "{not json")
    report = db.import_path(dump)
    assert (report.inserted, report.errors) == (2, 1)
    assert report.ecosystems == {"npm": 2}
    status = db.status()
    assert status.covers("npm") and not status.covers("PyPI")
    assert status.sources[0].kind == "zip" and status.sources[0].records == 2
    assert status.age_seconds is not None and status.age_seconds < 3600


def test_oversized_record_is_refused(db: AdvisoryDB, tmp_path: Path) -> None:
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("HUGE-1.json", b" " * (MAX_RECORD_BYTES + 10))
    report = db.import_path(dump)
    assert report.errors == 1 and report.records == 0


def test_unusable_path(db: AdvisoryDB, tmp_path: Path) -> None:
    from secaudit.tools.advisories import AdvisoryFormatError

    with pytest.raises(AdvisoryFormatError):
        db.import_path(tmp_path / "missing")
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(AdvisoryFormatError):
        db.import_path(tmp_path / "x.zip")


def test_update_offline_fails_fast_and_changes_nothing(db: AdvisoryDB) -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseUpdateFailed) as err:
        # Nothing listens on port 9 of loopback: the same failure path as a machine without network.
        db.update(base_url="http://127.0.0.1:9", timeout=2)
    assert time.monotonic() - started < 10
    assert "db import" in str(err.value)
    assert db.status().empty


class _Handler(http.server.BaseHTTPRequestHandler):
    payloads: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.payloads.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _zip_of(*records: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for r in records:
            zf.writestr(f"{r['id']}.json", json.dumps(r))
    return buf.getvalue()


def test_update_downloads_and_imports_from_a_local_server(db: AdvisoryDB) -> None:
    _Handler.payloads = {
        "/PyPI/all.zip": _zip_of(rec("PYSEC-1", "a", "1.0")),
        "/npm/all.zip": _zip_of(rec("GHSA-aaaa-bbbb-cccc", "b", "1.0.0", eco="npm")),
    }
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        reports = db.update(base_url=base, timeout=5)
        assert [r.inserted for r in reports] == [1, 1]
        assert reports[0].location == f"{base}/PyPI/all.zip"
        # A missing dump fails the whole update before anything is imported.
        _Handler.payloads.pop("/npm/all.zip")
        _Handler.payloads["/PyPI/all.zip"] = _zip_of(rec("PYSEC-2", "c", "1.0"))
        with pytest.raises(DatabaseUpdateFailed, match="HTTP 404"):
            db.update(base_url=base, timeout=5)
        assert db.status().advisories == 2
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
