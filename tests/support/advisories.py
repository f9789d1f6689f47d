"""An OSV folder big enough for several import batches, and the batch size that makes it so.

The real batch cap (`BATCH_RECORDS`, 5,000) would take tens of thousands of files to span several
batches; the tests that need several batches lower it with `small_batches` instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secaudit.tools.advisories import db as advisory_db

__all__ = ["record_id", "small_batches", "write_osv_folder"]


def record_id(i: int) -> str:
    """The id of the `i`th record of `write_osv_folder`; ids sort (and import) in `i` order."""
    return f"PYSEC-TEST-{i:05d}"


def write_osv_folder(folder: Path, count: int) -> Path:
    """`count` valid OSV records, one .json file each, in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rid = record_id(i)
        record = {
            "id": rid,
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": f"pkg-{i % 7}"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}],
                }
            ],
        }
        (folder / f"{rid}.json").write_text(json.dumps(record))
    return folder


def small_batches(monkeypatch: pytest.MonkeyPatch, records: int) -> None:
    """Close each import batch at `records` records (read when the import runs)."""
    monkeypatch.setattr(advisory_db, "BATCH_RECORDS", records)
