"""How semgrep is started: a private install's OCaml binary directly, and a process started ahead of
its scan (an agent hook's) that the scan takes only when it is exactly the one it would start."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.server.settings import default_engines_dir
from secaudit.tools.engines import EngineUnavailable, discover
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext
from secaudit.tools.scanners.semgrep import SemgrepOptions, SemgrepScanner
from secaudit.tools.scanners.semgrep import early as early_runs
from tests.support.semgrep import FIXTURE_RULES, require_semgrep

EVAL = "app.post('/x', (req, res) => {\n  const v = eval(req.body.code);\n  res.send(v);\n});\n"


@pytest.fixture(scope="module")
def semgrep() -> Path:
    return require_semgrep()


@pytest.fixture(autouse=True)
def _no_leftovers() -> Iterator[None]:
    yield
    early_runs.discard_all()


def _ref(root: Path, rel: str) -> FileRef:
    st = (root / rel).lstat()  # as the walker records it
    return FileRef(
        path=root / rel, rel=rel, size=st.st_size, mode=st.st_mode, mtime_ns=st.st_mtime_ns,
        ctime_ns=st.st_ctime_ns, ino=st.st_ino, dev=st.st_dev,
    )  # fmt: skip


def _ctx(root: Path, options: SemgrepOptions) -> ScanContext:
    return ScanContext(
        root=root, cancel=CancelToken(), deadline=time.monotonic() + 300, workers=1, options=options
    )


def _scan(root: Path, options: SemgrepOptions, rel: str) -> tuple[list[tuple[str, str, int]], list[int]]:
    """(rule, path, line) of the findings, and the pid of every semgrep the scan waited for."""
    scanner = SemgrepScanner()
    pids: list[int] = []
    scanner.on_start = pids.append
    result = scanner.scan(_ctx(root, options), [_ref(root, rel)])
    assert result.complete and result.scanned == [rel]
    return sorted((f.rule_id, f.path, f.start_line or 0) for f in result.findings), pids


def _write(root: Path, rel: str, text: str) -> None:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def test_a_private_install_starts_semgrep_core_itself_with_the_same_results(
    tmp_path: Path, semgrep: Path
) -> None:
    try:
        engine = discover(explicit=None, engines_dir=default_engines_dir(), which=lambda _n: None)
    except EngineUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI installs the private semgrep (.ci/run): {exc}")
        pytest.skip(f"no private semgrep install ({exc})")
    assert engine.core is not None
    _write(tmp_path, "src/app.ts", EVAL)
    direct = SemgrepOptions(engines_dir=default_engines_dir(), pack_dir=FIXTURE_RULES)
    wrapped = SemgrepOptions(executable=engine.executable, pack_dir=FIXTURE_RULES)

    scanner = SemgrepScanner()
    programs: list[str] = []
    if sys.platform == "linux":  # Popen returns once the exec happened: the program is final
        scanner.on_start = lambda pid: programs.append(os.readlink(f"/proc/{pid}/exe"))
    found = scanner.scan(_ctx(tmp_path, direct), [_ref(tmp_path, "src/app.ts")])
    assert found.complete and found.findings
    if sys.platform == "linux":
        assert programs == [str(engine.core.resolve())]
    assert sorted((f.rule_id, f.start_line) for f in found.findings) == sorted(
        (f.rule_id, f.start_line)
        for f in SemgrepScanner().scan(_ctx(tmp_path, wrapped), [_ref(tmp_path, "src/app.ts")]).findings
    )


def test_a_semgrep_started_early_is_taken_by_the_scan(tmp_path: Path, semgrep: Path) -> None:
    _write(tmp_path, "src/app.ts", EVAL)
    options = SemgrepOptions(executable=semgrep, pack_dir=FIXTURE_RULES)
    expected, _ = _scan(tmp_path, options, "src/app.ts")
    assert expected

    assert SemgrepScanner.start_early(tmp_path, "src/app.ts", options, workers=1)
    [run] = [r for key, r in early_runs._runs.items() if key == (str(tmp_path), "src/app.ts")]
    found, pids = _scan(tmp_path, options, "src/app.ts")
    assert pids == [run.proc.pid]  # no semgrep of its own: it waited for the early one
    assert found == expected
    assert run.proc.returncode is not None and not run.scratch.exists()
    assert early_runs.take(str(tmp_path), "src/app.ts") is None  # taken once


def test_an_early_semgrep_for_other_content_or_options_is_discarded(tmp_path: Path, semgrep: Path) -> None:
    _write(tmp_path, "src/app.ts", "const a = 1;\n")
    options = SemgrepOptions(executable=semgrep, pack_dir=FIXTURE_RULES)
    assert SemgrepScanner.start_early(tmp_path, "src/app.ts", options, workers=1)
    [stale] = list(early_runs._runs.values())
    _write(tmp_path, "src/app.ts", EVAL)  # edited again after the start: its result is not this one's
    found, pids = _scan(tmp_path, options, "src/app.ts")
    assert pids and stale.proc.pid not in pids
    assert [rule for rule, _, _ in found] and all(path == "src/app.ts" for _, path, _ in found)
    assert stale.proc.returncode is not None and not stale.scratch.exists()

    # Edited and edited back: the same content, so the same digest, but not the stat the early
    # read saw (a rewrite moves ctime; the mtime is set apart here so the check does not depend on
    # the clock's tick): a fresh semgrep.
    assert SemgrepScanner.start_early(tmp_path, "src/app.ts", options, workers=1)
    [aba] = list(early_runs._runs.values())
    _write(tmp_path, "src/app.ts", "const b = 2;\n")
    _write(tmp_path, "src/app.ts", EVAL)
    st = (tmp_path / "src/app.ts").stat()
    os.utime(tmp_path / "src/app.ts", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again, pids = _scan(tmp_path, options, "src/app.ts")
    assert pids and aba.proc.pid not in pids and again == found
    assert aba.proc.returncode is not None and not aba.scratch.exists()

    # Other options (here the per-rule timeout, part of the command line): a fresh semgrep too.
    assert SemgrepScanner.start_early(tmp_path, "src/app.ts", options, workers=1)
    [other] = list(early_runs._runs.values())
    _, pids = _scan(tmp_path, options.model_copy(update={"timeout_per_rule": 7}), "src/app.ts")
    assert pids and other.proc.pid not in pids
    assert other.proc.returncode is not None


def test_start_early_starts_nothing_the_scan_would_not_run(tmp_path: Path, semgrep: Path) -> None:
    options = SemgrepOptions(executable=semgrep, pack_dir=FIXTURE_RULES)
    _write(tmp_path, "README.md", "# hi\n")
    _write(tmp_path, "src/a.mts", EVAL)  # needs its own invocation (--scan-unknown-extensions)
    _write(tmp_path, "node_modules/x/a.js", EVAL)
    _write(tmp_path, "big.js", "x" * 200)
    for rel in ("README.md", "src/a.mts", "node_modules/x/a.js", "missing.js"):
        assert not SemgrepScanner.start_early(tmp_path, rel, options, workers=1), rel
    assert not SemgrepScanner.start_early(
        tmp_path, "big.js", options.model_copy(update={"max_target_bytes": 100}), workers=1
    )
    no_engine = SemgrepOptions(executable=tmp_path / "no-semgrep", pack_dir=FIXTURE_RULES)
    _write(tmp_path, "ok.js", EVAL)
    assert not SemgrepScanner.start_early(tmp_path, "ok.js", no_engine, workers=1)
    (tmp_path / "link.js").symlink_to(tmp_path / "ok.js")
    assert not SemgrepScanner.start_early(tmp_path, "link.js", options, workers=1)  # never followed
    assert early_runs._runs == {}


def test_what_nobody_took_is_ended_at_exit(tmp_path: Path, semgrep: Path) -> None:
    _write(tmp_path, "ok.js", EVAL)
    options = SemgrepOptions(executable=semgrep, pack_dir=FIXTURE_RULES)
    assert SemgrepScanner.start_early(tmp_path, "ok.js", options, workers=1)
    [run] = list(early_runs._runs.values())
    early_runs.discard_all()  # what the exit handler runs
    assert run.proc.returncode is not None and not run.scratch.exists()
    assert early_runs._runs == {}
