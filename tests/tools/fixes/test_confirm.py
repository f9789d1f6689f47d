"""The confirmation a fix write needs: the plan's digest, the question shown, diff statistics."""

from __future__ import annotations

import pytest

from secaudit.tools.fixes.confirm import (
    check_confirm_digest,
    confirmation_message,
    diff_stats,
    require_digest,
)
from secaudit.tools.fixes.errors import ConfirmationRequired
from secaudit.tools.fixes.model import FixPlan, PlannedFile

DIFF = (
    "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n-password = 'hunter2'\n+password = os.environ['PW']\n"
    " x = 1\n--- /dev/null\n+++ b/.env.example\n@@ -0,0 +1,2 @@\n+PW=\n+# set me\n"
)


def plan(**changes: object) -> FixPlan:
    base: dict[str, object] = {
        "plan_id": "p1",
        "kind": "secrets-env",
        "summary": "move the secret",
        "root": "/work/app",
        "finding_fingerprint": "f" * 64,
        "scanner": "secrets",
        "rule_id": "secrets.keyword",
        "files": [
            PlannedFile(path="app.py", before_sha256="a" * 64, after_sha256="b" * 64),
            PlannedFile(path=".env.example", before_sha256=None, after_sha256="c" * 64, created=True),
        ],
        "diff": DIFF,
        "risks": ["the program now needs PW set"],
        "created_at": "2026-12-03T12:00:00.000000Z",
    }
    return FixPlan.model_validate({**base, **changes})


def test_the_digest_covers_what_is_written_not_the_plan_id() -> None:
    first = plan()
    assert len(first.confirm_digest) == 64
    assert plan(plan_id="p2", created_at="2027-01-01T00:00:00Z").confirm_digest == first.confirm_digest
    assert plan(diff=DIFF + "+more\n").confirm_digest == first.confirm_digest  # the hashes pin the bytes
    assert plan(confirm_digest="0" * 64).confirm_digest == first.confirm_digest  # never taken from input
    assert plan(root="/work/other").confirm_digest != first.confirm_digest
    moved = [PlannedFile(path="app.py", before_sha256="d" * 64, after_sha256="b" * 64)]
    assert plan(files=moved).confirm_digest != first.confirm_digest
    assert first.model_dump()["confirm_digest"] == first.confirm_digest  # shown with every plan
    assert "confirm_digest" in FixPlan.model_json_schema()["properties"]  # and in the output schemas


def test_check_and_require() -> None:
    shown = plan()
    check_confirm_digest(shown, shown.confirm_digest)
    for bad in ("0" * 64, shown.confirm_digest.upper(), shown.confirm_digest[:63], ""):
        with pytest.raises(ConfirmationRequired, match="does not match"):
            check_confirm_digest(shown, bad)
    assert require_digest("p1", "d") == ("p1", "d")
    for plan_id, digest in ((None, "d"), ("p1", None), (None, None)):
        with pytest.raises(ConfirmationRequired, match="elicitation"):
            require_digest(plan_id, digest)


def test_the_question_shows_files_and_counts_never_a_diff_line() -> None:
    shown = plan()
    stats = diff_stats(shown)
    assert [(s.path, s.added, s.removed, s.created) for s in stats] == [
        ("app.py", 1, 1, False),
        (".env.example", 2, 0, True),
    ]
    message = confirmation_message(shown)
    assert "change app.py (+1 -1 lines)" in message and "create .env.example (+2 -0 lines)" in message
    assert "Risk: the program now needs PW set" in message and shown.confirm_digest[:12] in message
    assert "hunter2" not in message and "environ" not in message
    # Control characters in a path from the scanned repository do not reach the user's dialog.
    odd = plan(files=[PlannedFile(path="a\x1b[31mb.py", before_sha256="a" * 64, after_sha256="b" * 64)])
    assert "\x1b" not in confirmation_message(odd)
