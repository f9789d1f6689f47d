"""A cancelled advisory import on a real SQLite file: the batches stored stay, a re-run finishes."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.errors import Cancelled
from secaudit.tools.store import Store
from secaudit.tools.walker import CancelToken
from tests.support.advisories import record_id, small_batches, write_osv_folder

BATCH = 20
COUNT = 4 * BATCH + 5  # five batches, the last one short


def _stored_ids(store: Store) -> list[str]:
    return [row[0] for row in store.query("SELECT id FROM advisories ORDER BY id")]


def test_cancel_after_the_first_batch_keeps_it_and_a_second_import_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_batches(monkeypatch, BATCH)
    osv = write_osv_folder(tmp_path / "osv", COUNT)
    store = Store(tmp_path / "store.db")
    try:
        db = AdvisoryDB(store)
        token = CancelToken()
        reported: list[int] = []

        def cancel_after_first_batch(records: int, errors: int) -> None:
            reported.append(records)
            token.cancel()

        with pytest.raises(Cancelled) as caught:
            db.import_path(osv, progress=cancel_after_first_batch, cancel=token)
        message = str(caught.value)
        assert f"the {BATCH} advisories stored before the cancel stay" in message
        assert "importing the same path again finishes it" in message
        assert reported == [BATCH]
        # Exactly the first batch is stored, each advisory with its affected package.
        assert _stored_ids(store) == [record_id(i) for i in range(BATCH)]
        status = db.status()
        assert status.advisories == BATCH < COUNT
        assert sum(e.advisories for e in status.ecosystems) == BATCH
        # The source row is there (made before the first batch), its counters untouched.
        assert [(s.records, s.errors) for s in status.sources] == [(0, 0)]

        report = db.import_path(osv)
        assert (report.records, report.inserted, report.unchanged) == (COUNT, COUNT - BATCH, BATCH)
        assert _stored_ids(store) == [record_id(i) for i in range(COUNT)]
        assert [s.records for s in db.status().sources] == [COUNT]
    finally:
        store.close()


def test_a_token_cancelled_before_the_import_stores_nothing(tmp_path: Path) -> None:
    osv = write_osv_folder(tmp_path / "osv", 3)
    store = Store(tmp_path / "store.db")
    try:
        db = AdvisoryDB(store)
        token = CancelToken()
        token.cancel()
        with pytest.raises(Cancelled, match="the 0 advisories stored"):
            db.import_path(osv, cancel=token)
        assert db.is_empty()
    finally:
        store.close()
