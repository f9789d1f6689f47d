"""The composition root: the server's AppContext, and the pieces CLI commands compose."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest

from secaudit.server.context import AppContext, open_store, open_tasks
from secaudit.server.settings import Settings
from secaudit.tools.errors import StoreError
from secaudit.tools.findings import MIGRATIONS as FINDINGS_MIGRATIONS
from secaudit.tools.findings import FindingsService
from secaudit.tools.masking import Redactor


def test_the_context_is_frozen_and_holds_every_service(app_context: AppContext) -> None:
    for item in dataclasses.fields(app_context):
        assert getattr(app_context, item.name) is not None, item.name
    assert app_context.finding_source is app_context.findings
    assert app_context.tasks_store is app_context.store
    with pytest.raises(dataclasses.FrozenInstanceError):
        app_context.fixes = app_context.fixes  # type: ignore[misc]


def test_reading_a_missing_store_creates_nothing(settings: Settings) -> None:
    store = open_store(settings, write=False, schema=FINDINGS_MIGRATIONS)
    assert FindingsService(store).list_runs().runs == []
    tasks = open_tasks(settings, write=False)
    assert tasks.list().items == []
    store.close()
    tasks.store.close()
    assert not settings.store_path.parent.exists()


def test_a_reader_cannot_write_and_a_writer_migrates(settings: Settings) -> None:
    writer = open_tasks(settings, write=True, redactor=Redactor())
    writer.create("hello")
    reader = open_tasks(settings, write=False)
    assert [t.prompt for t in reader.list().items] == ["hello"]
    with pytest.raises(StoreError, match="read-only"):
        reader.create("not from a reader")
    # The in-memory answer of a missing table works from other threads too (services run in workers).
    findings = FindingsService(open_store(settings, write=False, schema=FINDINGS_MIGRATIONS))
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(len(findings.list_runs().runs)))
    worker.start()
    worker.join(30)
    assert seen == [0]
    for store in (writer.store, reader.store, findings.store):
        store.close()


def test_writing_tasks_needs_the_redactor(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="redactor"):
        open_tasks(settings, write=True)
    assert not (tmp_path / "store").exists()
