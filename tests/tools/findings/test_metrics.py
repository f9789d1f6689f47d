"""Comparisons of runs (`tools/findings/metrics.py`)."""

from __future__ import annotations

from pathlib import Path

from secaudit.server.context import build_context
from tests.support.audit import make_settings


def test_item22_compare_runs_lists_fixed_findings_as_fixed(tmp_path: Path) -> None:
    # Issue 11 item 22: the `fixed` list of compare_runs carried each finding's status in the base
    # run (`new`/`open`). A finding the head run looked for and did not find is fixed.
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("eval(input())\n")
    (root / "b.py").write_text("exec(input())\n")
    app = build_context(make_settings(tmp_path, root))
    try:
        assert app.audit is not None and app.findings is not None
        base = app.audit.run(str(root), scanners=["bandit"])
        (root / "a.py").write_text("print(input())\n")
        head = app.audit.run(str(root), scanners=["bandit"])
        cmp = app.findings.compare_runs(base.id, head.id)
        assert cmp.fixed_count == 1 and [f.path for f in cmp.fixed] == ["a.py"]
        [fixed] = cmp.fixed
        assert (fixed.status, fixed.lifecycle) == ("fixed", "fixed")
        assert app.findings.get_finding(fixed.id).status == "fixed"  # what the store says too
        assert cmp.unchanged_count == 1 and cmp.new == []
    finally:
        app.close()
