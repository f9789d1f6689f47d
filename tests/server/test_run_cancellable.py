"""`run_cancellable` (server/toolkit.py): the one path long handlers run their work through."""

from __future__ import annotations

import threading

import anyio
import pytest

from secaudit.server.toolkit import run_cancellable
from secaudit.tools.walker import CancelToken

pytestmark = pytest.mark.anyio


async def test_a_cancel_while_every_worker_thread_is_busy_returns_at_once() -> None:
    # All worker threads busy: the work never starts, so the cancel must not wait out the grace
    # for it (nor for a worker to wait in).
    limiter = anyio.to_thread.current_default_thread_limiter()
    saved = limiter.total_tokens
    limiter.total_tokens = 1
    release = threading.Event()
    ran: list[str] = []
    token = CancelToken()
    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as busy:
                busy.start_soon(anyio.to_thread.run_sync, release.wait, 20.0)
                await anyio.wait_all_tasks_blocked()

                async def call() -> None:
                    await run_cancellable(lambda: ran.append("work") or 1, token, grace=30.0)

                async with anyio.create_task_group() as calling:
                    calling.start_soon(call)
                    await anyio.wait_all_tasks_blocked()  # it waits for the busy worker
                    cancelled_at = anyio.current_time()
                    calling.cancel_scope.cancel()
                assert anyio.current_time() - cancelled_at < 5
                release.set()
    finally:
        limiter.total_tokens = saved
    assert token.is_cancelled() and ran == []


async def test_a_cancel_waits_for_started_work_to_finish_its_way_out() -> None:
    token = CancelToken()
    entered = threading.Event()
    ended: list[str] = []

    def work() -> int:
        entered.set()
        assert token.wait(10), "the cancel never reached the token"
        ended.append("recorded as cancelled")
        return 1

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                await run_cancellable(work, token, grace=10.0)

            tg.start_soon(call)
            assert await anyio.to_thread.run_sync(entered.wait, 10.0)
            tg.cancel_scope.cancel()
    # The call returned only after the work's way out ran.
    assert ended == ["recorded as cancelled"]
