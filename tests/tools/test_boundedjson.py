"""tools/boundedjson.py: untrusted JSON with a nesting bound."""

from __future__ import annotations

import pytest

from secaudit.tools import boundedjson


def test_a_document_within_the_bound_parses() -> None:
    assert boundedjson.loads('{"a": [1, {"b": 2}]}', 3) == {"a": [1, {"b": 2}]}


@pytest.mark.parametrize("text", ["[" * 5 + "]" * 5, "[" * 200_000])
def test_too_deep_is_one_error_whether_or_not_the_parser_could_recurse(text: str) -> None:
    with pytest.raises(boundedjson.TooDeep, match="deeper than 4 levels"):
        boundedjson.loads(text, 4)


def test_other_errors_stay_json_errors() -> None:
    with pytest.raises(ValueError) as caught:
        boundedjson.loads("{nope", 4)
    assert not isinstance(caught.value, boundedjson.TooDeep)


def test_depth_counts_objects_and_arrays_only() -> None:
    assert not boundedjson.depth_exceeds({"a": "[[[[["}, 1)
    assert boundedjson.depth_exceeds({"a": []}, 1)
