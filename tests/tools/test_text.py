"""tools/text.py: the bounded list every note and message names its first few items with."""

from __future__ import annotations

from secaudit.tools.text import first_few


def test_first_few_names_the_first_items_and_marks_the_rest() -> None:
    assert first_few([], 3) == ""
    assert first_few(["a", "b", "c"], 3) == "a, b, c"
    assert first_few(["a", "b", "c", "d"], 3) == "a, b, c ..."
    assert first_few(("x",), 1) == "x"
