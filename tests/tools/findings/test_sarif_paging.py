"""export_sarif's answer: the whole log when small, pages of results, none when too large."""

from __future__ import annotations

from typing import Any

import pytest

from secaudit.tools.errors import InvalidInput
from secaudit.tools.findings.sarif import page_sarif


def log(results: int) -> dict[str, Any]:
    return {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "secaudit", "rules": [{"id": "r"}]}},
                "results": [
                    {"ruleId": "r", "ruleIndex": 0, "message": {"text": f"n{i}"}} for i in range(results)
                ],
            }
        ],
    }


def test_small_logs_come_whole_large_ones_not() -> None:
    doc = log(5)
    whole = page_sarif(doc, 1)
    assert whole.doc is doc and whole.returned == whole.total == 5 and not whole.too_large
    big = page_sarif(doc, 1, inline_max_bytes=50)
    assert big.doc is None and big.too_large and big.total == 5 and big.size_bytes > 50


def test_pages_concatenate_to_the_whole_and_leave_the_log_alone() -> None:
    doc = log(7)
    seen: list[Any] = []
    cursor = None
    while True:
        page = page_sarif(doc, 3, limit=3, cursor=cursor)
        assert page.doc is not None and page.offset == len(seen)
        assert page.doc["runs"][0]["tool"] == doc["runs"][0]["tool"]
        seen += page.doc["runs"][0]["results"]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == doc["runs"][0]["results"] and len(doc["runs"][0]["results"]) == 7


def test_cursors_are_bound_to_their_run_and_checked() -> None:
    doc = log(4)
    first = page_sarif(doc, 1, limit=2)
    assert first.next_cursor is not None
    with pytest.raises(InvalidInput, match="cursor"):
        page_sarif(doc, 2, cursor=first.next_cursor)
    with pytest.raises(InvalidInput, match="cursor"):
        page_sarif(doc, 1, cursor=first.next_cursor[:-2] + "xx")
    with pytest.raises(InvalidInput, match="limit"):
        page_sarif(doc, 1, limit=0)
    rest = page_sarif(doc, 1, cursor=first.next_cursor)  # the default page size
    assert rest.returned == 2 and rest.next_cursor is None
