"""tools/gcpause.py: the collector is off inside a pause and back as it was after the last one."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from secaudit.tools.gcpause import paused_gc


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_off_inside_and_on_after(collector_on: None) -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested: the inner end does not switch it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_exception_still_ends_the_pause(collector_on: None) -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_program_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_overlapping_pauses_in_threads_end_with_the_last(collector_on: None) -> None:
    # Thread A pauses, B pauses, A ends: still off until B ends (two audits in the server's threads).
    a_in, b_in, a_out, b_may_end = (threading.Event() for _ in range(4))
    seen: dict[str, bool] = {}

    def first() -> None:
        with paused_gc():
            a_in.set()
            assert b_in.wait(10)
        a_out.set()

    def second() -> None:
        assert a_in.wait(10)
        with paused_gc():
            b_in.set()
            assert a_out.wait(10)
            seen["after A ended"] = gc.isenabled()
            assert b_may_end.wait(10)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    assert a_out.wait(10)
    b_may_end.set()
    for t in threads:
        t.join(10)
    assert seen == {"after A ended": False}
    assert gc.isenabled()


def test_overlapping_pauses_collect_once_the_collector_was_off_too_long(
    collector_on: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Audits that keep overlapping in the server would keep the collector off indefinitely.
    from secaudit.tools import gcpause

    now = [1000.0]
    collected: list[float] = []
    monkeypatch.setattr(gcpause, "_clock", lambda: now[0])
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(now[0]) or 0)
    with paused_gc():
        with paused_gc():  # a second audit starts while the first runs
            pass
        assert collected == []  # off for less than LONGEST_OFF: nothing to do
        now[0] += gcpause.LONGEST_OFF + 1
        with paused_gc():
            assert collected == [now[0]]  # starting a pause after too long a stretch: one collection
            now[0] += 1
        assert collected == [now[0] - 1]  # and the stretch starts again from it
        assert not gc.isenabled()
    assert gc.isenabled()
