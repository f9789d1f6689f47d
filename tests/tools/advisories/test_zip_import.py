"""`db import` of an OSV all.zip: streamed member by member in bounded memory, with per-record skips
that say why, MAL counts, and the zip reader's own checks (CRC, sizes, zip64, damage)."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secaudit.server.settings import Settings
from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.advisories.model import SKIP_INVALID, SKIP_TOO_LARGE, SKIP_UNDECODABLE, SKIP_UNREADABLE
from secaudit.tools.advisories.osv import MAX_RECORD_BYTES
from secaudit.tools.advisories.zipstream import (
    ZipMemberError,
    ZipStreamError,
    iter_members,
    read_member,
)
from secaudit.tools.store import Store
from tests.support import DATA
from tests.support.cli import cli_env
from tests.support.shared import require_shared

MAL_FIXTURES = DATA / "osv_mal"
GENERATED = 30_000
MEMORY_BOUND = 64 * 1024 * 1024


def generated_record(i: int) -> dict[str, Any]:
    """Small records in the shapes of the npm dump: mostly MAL- reports, some ranges, some PyPI."""
    if i % 10 < 7:
        return {
            "id": f"MAL-GEN-{i:06d}",
            "modified": "2024-05-01T00:00:00Z",
            "summary": f"Malicious code in gen-pkg-{i} (npm)",
            "details": "Generated test record: the install script sends environment variables out.",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": f"gen-pkg-{i}"},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                }
            ],
            "database_specific": {
                "malicious-packages-origins": [{"source": "generated", "versions": ["1.0.0"]}]
            },
        }
    eco, name = ("PyPI", f"gen-py-{i}") if i % 10 == 9 else ("npm", f"gen-lib-{i}")
    return {
        "id": f"GHSA-gen0-{i:04x}-{i % 97:04d}",
        "modified": "2024-05-01T00:00:00Z",
        "summary": f"Generated advisory {i}",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [
            {
                "package": {"ecosystem": eco, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.3"}]}],
            }
        ],
    }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    store = Store(tmp_path / "store.db")
    yield AdvisoryDB(store)
    store.close()


def test_large_zip_streams_in_bounded_memory(db: AdvisoryDB, tmp_path: Path) -> None:
    sample = require_shared("advisories/ghsa-npm")
    dump = tmp_path / "all.zip"
    real = sorted(sample.glob("*.json"))
    assert len(real) == 145
    with zipfile.ZipFile(dump, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for i in range(GENERATED):
            record = generated_record(i)
            zf.writestr(f"{record['id']}.json", json.dumps(record))
        for path in real:
            zf.write(path, path.name)
        for path in MAL_FIXTURES.glob("*.json"):
            zf.write(path, f"fixtures/{path.name}")
        zf.writestr("broken/not-json.json", "{ nope")
        zf.writestr("broken/no-id.json", json.dumps({"modified": "2024-01-01T00:00:00Z"}))
        # Compresses to a few kilobytes, expands past the per-record cap: skipped without a full read.
        zf.writestr("broken/huge.json", b"[" + b" " * (MAX_RECORD_BYTES + 1) + b"]")
        zf.writestr("docs/", b"")
        zf.writestr("README.md", b"not a record; not an OSV suffix")
    tracemalloc.start()
    try:
        report = db.import_path(dump)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"peak traced memory {peak / 2**20:.1f} MiB"
    total = GENERATED + 145 + 5
    assert (report.records, report.inserted, report.errors) == (total, total, 3)
    assert report.skipped == {SKIP_INVALID: 1, SKIP_TOO_LARGE: 1, SKIP_UNDECODABLE: 1}
    assert report.malicious == sum(1 for i in range(GENERATED) if i % 10 < 7) + 4
    assert report.batches >= total // 5_000
    assert report.ecosystems["npm"] == sum(1 for i in range(GENERATED) if i % 10 != 9) + 145 + 4
    status = db.status()
    assert status.advisories == total and status.malicious == report.malicious
    assert status.sources[0].kind == "zip" and status.sources[0].records == total


def test_cli_imports_a_zip_and_reports_counts(settings: Settings, tmp_path: Path) -> None:
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in MAL_FIXTURES.glob("*.json"):
            zf.write(path, path.name)
        zf.writestr("bad.json", "{")
    run = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "db", "import", str(dump), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(settings),
        check=False,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert (data["records"], data["malicious"], data["errors"]) == (5, 4, 1)
    assert data["skipped"] == {SKIP_UNDECODABLE: 1}
    text = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "db", "import", str(dump)],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(settings),
        check=False,
    )
    assert text.returncode == 0, text.stderr
    assert "4 of them malicious-package reports (MAL-), 1 skipped" in text.stdout
    assert f"skipped 1: {SKIP_UNDECODABLE}" in text.stdout


def test_folder_single_file_and_zip_agree_and_reimport_changes_nothing(
    db: AdvisoryDB, tmp_path: Path
) -> None:
    folder = tmp_path / "osv"
    shutil.copytree(MAL_FIXTURES, folder)
    assert db.import_path(folder).records == 5
    single = db.import_path(MAL_FIXTURES / "MAL-TEST-0001.json")
    assert (single.records, single.unchanged, single.malicious) == (1, 1, 1)
    dump = tmp_path / "all.zip"
    with zipfile.ZipFile(dump, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(MAL_FIXTURES.glob("*.json")):
            zf.write(path, path.name)
    again = db.import_path(dump)
    assert (again.records, again.inserted, again.updated, again.unchanged) == (5, 0, 0, 5)


# -- the zip reader ----------------------------------------------------------------------------------


def _zip(members: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, method in members:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buf.getvalue()


def _central(blob: bytes) -> list[int]:
    """Offsets of the central-directory entries."""
    end = blob.rfind(b"PK\x05\x06")
    count, _, offset = struct.unpack("<HII", blob[end + 10 : end + 20])
    out = []
    for _ in range(count):
        out.append(offset)
        n, m, k = struct.unpack("<HHH", blob[offset + 28 : offset + 34])
        offset += 46 + n + m + k
    return out


def _patch(blob: bytes, at: int, fmt: str, value: int) -> bytes:
    return blob[:at] + struct.pack(fmt, value) + blob[at + struct.calcsize(fmt) :]


def test_members_read_as_zipfile_reads_them(tmp_path: Path) -> None:
    text = json.dumps({"x": "y" * 5000}).encode()
    blob = _zip(
        [("a.json", text, zipfile.ZIP_STORED), ("b.json", text, zipfile.ZIP_DEFLATED), ("d/", b"", 0)]
    )
    path = tmp_path / "a.zip"
    path.write_bytes(blob)
    members = list(iter_members(path))
    assert [m.name for m in members] == ["a.json", "b.json", "d/"] and members[2].is_dir
    with path.open("rb") as fh:
        assert [read_member(fh, m, 10_000) for m in members[:2]] == [text, text]
        with pytest.raises(ZipMemberError) as exc:
            read_member(fh, members[1], 100)
        assert exc.value.too_large


def test_damaged_members_are_refused_one_by_one(tmp_path: Path) -> None:
    big = b"{" + b" " * 1_000_000 + b"}"
    blob = _zip(
        [
            ("crc.json", b'{"id": "A"}', zipfile.ZIP_STORED),
            ("liar.json", big, zipfile.ZIP_DEFLATED),
            ("locked.json", b"{}", zipfile.ZIP_STORED),
            ("bz.json", b"{}", zipfile.ZIP_BZIP2),
        ]
    )
    crc_at, liar_at, locked_at, _ = _central(blob)
    local = struct.unpack("<I", blob[crc_at + 42 : crc_at + 46])[0]
    blob = blob[: local + 30 + 8] + b"B" + blob[local + 30 + 9 :]  # one byte of crc.json's data
    blob = _patch(blob, liar_at + 24, "<I", 100)  # the directory claims 100 bytes for 1 MB
    blob = _patch(blob, locked_at + 8, "<H", 0x1)  # the encrypted flag
    path = tmp_path / "d.zip"
    path.write_bytes(blob)
    members = list(iter_members(path))
    reasons = []
    with path.open("rb") as fh:
        for member in members:
            with pytest.raises(ZipMemberError) as exc:
                read_member(fh, member, 10_000)
            reasons.append((str(exc.value), exc.value.too_large))
    assert reasons == [
        ("its content does not match its size or CRC-32 (damaged, or the header lies)", False),
        ("larger than 10000 bytes", True),  # inflating stopped one byte past the cap
        ("encrypted; not read", False),
        ("compression method 12 is not supported (stored or deflated)", False),
    ]


def test_whole_archive_damage(db: AdvisoryDB, tmp_path: Path) -> None:
    records = [
        json.dumps({"id": f"MAL-T-{i}", "modified": "2024-01-01T00:00:00Z"}).encode() for i in range(4)
    ]
    blob = _zip([(f"{i}.json", r, zipfile.ZIP_DEFLATED) for i, r in enumerate(records)])
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ZipStreamError, match="end-of-central-directory"):
        list(iter_members(not_zip))
    truncated = tmp_path / "t.zip"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ZipStreamError):
        list(iter_members(truncated))
    # A directory damaged after two entries: the two are imported, the report says the rest was not.
    third = _central(blob)[2]
    damaged = tmp_path / "m.zip"
    damaged.write_bytes(blob[:third] + b"XX" + blob[third + 2 :])
    report = db.import_path(damaged)
    assert (report.records, report.errors, report.malicious) == (2, 1, 2)
    assert report.skipped == {SKIP_UNREADABLE: 1}
    assert "damaged at entry 3 of 4; the members after it were not read" in report.error_samples[0]


def test_zip64_directory_of_more_than_65535_members(db: AdvisoryDB, tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(65_600):
            zf.writestr(f"pad/{i}.txt", b"")
        zf.writestr("r.json", json.dumps({"id": "MAL-Z64-1", "modified": "2024-01-01T00:00:00Z"}))
    blob_tail = path.read_bytes()[-200:]
    assert b"PK\x06\x06" in blob_tail  # zipfile wrote a zip64 end record
    assert sum(1 for _ in iter_members(path)) == 65_601
    report = db.import_path(path)
    assert (report.records, report.malicious, report.errors) == (1, 1, 0)
