"""Cancelling import_advisories through the SDK's in-memory Client stops the import thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from secaudit.tools.advisories import AdvisoryDB, ImportReport
from secaudit.tools.errors import Cancelled
from secaudit.tools.walker import CancelToken
from tests.support.advisories import small_batches, write_osv_folder
from tests.support.mcp import call

pytestmark = pytest.mark.anyio

BATCH = 20
COUNT = 4 * BATCH + 5


async def test_cancelling_import_advisories_stops_the_import(
    client: Client, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_batches(monkeypatch, BATCH)
    osv = write_osv_folder(workspace / "osv", COUNT)

    # Watch the first import's thread: after its first batch it holds (bounded) until the call's
    # cancel reaches its token, so the cancel lands between two batches however fast the machine;
    # then note how the import ended.
    original = AdvisoryDB.import_path
    ended = threading.Event()
    outcome: list[BaseException | ImportReport] = []

    def watched(
        self: AdvisoryDB, path: Path, *, progress: Any = None, cancel: CancelToken | None = None, **kw: Any
    ) -> ImportReport:
        assert progress is not None and cancel is not None
        monkeypatch.setattr(AdvisoryDB, "import_path", original)  # only the first call is watched

        def hold(records: int, errors: int) -> None:
            progress(records, errors)
            assert cancel.wait(10), "the call's cancel never reached the import's token"

        try:
            report = original(self, path, progress=hold, cancel=cancel, **kw)
        except BaseException as exc:
            outcome.append(exc)
            raise
        finally:
            ended.set()
        outcome.append(report)
        return report

    monkeypatch.setattr(AdvisoryDB, "import_path", watched)
    progressed = anyio.Event()
    reported: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        reported.append(done)
        progressed.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:

            async def importing() -> None:
                await client.call_tool("import_advisories", {"path": str(osv)}, progress_callback=on_progress)
                pytest.fail("import_advisories returned instead of being cancelled")

            tg.start_soon(importing)
            await progressed.wait()
            cancelled_at = anyio.current_time()
            tg.cancel_scope.cancel()
        assert anyio.current_time() - cancelled_at < 5  # the cancelled call is gone at once
        # The import thread stops before its second batch.
        assert await anyio.to_thread.run_sync(ended.wait, 20)
        assert len(outcome) == 1 and isinstance(outcome[0], Cancelled), outcome
        assert reported == [float(BATCH)]

        status = await call(client, "db_status", {})
        assert status["advisories"] == BATCH < COUNT

        again = await call(client, "import_advisories", {"path": str(osv)})
        assert (again["records"], again["inserted"], again["unchanged"]) == (COUNT, COUNT - BATCH, BATCH)
        assert (await call(client, "db_status", {}))["advisories"] == COUNT
