"""Applying takes exactly one of a plan and a finding, whichever face asks."""

from __future__ import annotations

import pytest

from secaudit.tools.errors import InvalidInput
from secaudit.tools.fixes.service import require_one_target


@pytest.mark.parametrize(("plan", "finding"), [(None, None), ("plan-1", "finding-1")])
def test_none_or_both_are_refused_in_the_callers_words(plan: str | None, finding: str | None) -> None:
    with pytest.raises(InvalidInput, match=r"^give exactly one of --plan-id or a finding$"):
        require_one_target(plan, finding, names=("--plan-id", "a finding"))


@pytest.mark.parametrize(("plan", "finding"), [("plan-1", None), (None, "finding-1")])
def test_one_is_accepted(plan: str | None, finding: str | None) -> None:
    require_one_target(plan, finding, names=("plan_id", "finding_id"))
