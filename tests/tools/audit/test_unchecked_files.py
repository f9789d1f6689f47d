"""Hardening item 21: a selected file a scanner could not check makes the run partial."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from secaudit.server.context import AppContext

GOOD = "import subprocess\nsubprocess.call('ls', shell=True)\n"


def test_python_the_interpreter_cannot_parse_makes_the_run_partial(
    app_context: AppContext, workspace: Path
) -> None:
    (workspace / "good.py").write_text(GOOD)
    (workspace / "broken.py").write_text("def f(:\n    return 1\n")
    assert app_context.audit is not None
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    assert run.status == "partial"
    assert any("broken.py" in n and "could not be checked" in n for n in run.notes), run.notes
    assert any(s.path == "broken.py" for s in run.skips)
    assert run.findings_total >= 1  # the file that parsed was still checked


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the 3.12 f-string syntax parses on this Python")
def test_newer_syntax_is_not_reported_clean(app_context: AppContext, workspace: Path) -> None:
    (workspace / "new.py").write_text('data = {"a": 1}\nprint(f"{data["a"]}")\n')
    assert app_context.audit is not None
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    assert run.status == "partial"


def test_binary_content_is_a_skip_but_not_a_coverage_loss(app_context: AppContext, workspace: Path) -> None:
    (workspace / "blob.txt").write_bytes(b"\x00\x01\x02 binary")
    (workspace / "app.py").write_text("x = 1\n")
    assert app_context.audit is not None
    run = app_context.audit.run(str(workspace), scanners=["secrets", "bandit"])
    assert run.status == "succeeded", run.notes


def test_a_clean_tree_still_succeeds(app_context: AppContext, workspace: Path) -> None:
    (workspace / "good.py").write_text(GOOD)
    assert app_context.audit is not None
    assert app_context.audit.run(str(workspace), scanners=["bandit"]).status == "succeeded"


def test_a_selected_file_over_the_size_limit_makes_the_run_partial(
    app_context: AppContext, workspace: Path
) -> None:
    limit = app_context.audit.max_file_bytes
    (workspace / "good.py").write_text(GOOD)
    (workspace / "huge.py").write_text("x = 1\n" * (limit // 6 + 10))
    run = app_context.audit.run(str(workspace), scanners=["bandit"])
    assert run.status == "partial"
    assert any("over the size limit" in n and "huge.py" in n for n in run.notes), run.notes
    # Named on its own too (a hook or a diff scope asks for exactly that file).
    assert app_context.audit.run(str(workspace), scanners=["bandit"], paths=["huge.py"]).status == "partial"


def test_an_oversize_file_no_scanner_reads_or_binary_keeps_the_run_complete(
    app_context: AppContext, workspace: Path
) -> None:
    limit = app_context.audit.max_file_bytes
    (workspace / "good.py").write_text(GOOD)
    (workspace / "data.txt").write_text("a" * (limit + 10))  # bandit does not select text files
    (workspace / "image.bin").write_bytes(b"\x89PNG\x00" + b"\x01" * (limit + 10))  # binary: nothing to read
    assert app_context.audit.run(str(workspace), scanners=["bandit"]).status == "succeeded"
    assert (
        app_context.audit.run(str(workspace), scanners=["secrets"], paths=["image.bin"]).status == "succeeded"
    )
    run = app_context.audit.run(str(workspace), scanners=["secrets"], paths=["data.txt"])
    assert run.status == "partial"  # text the secrets scanner would read, and did not
