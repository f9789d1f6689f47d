"""The semgrep scanner against the real semgrep: mapping, cache, skips, cancellation, rules, unavailability."""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
from pathlib import Path

import pytest

from secaudit.server.settings import load_settings
from secaudit.tools.audit import AuditService
from secaudit.tools.errors import ConfigError
from secaudit.tools.findings import FindingsService, RunStatus
from secaudit.tools.findings.model import Severity
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext, ScannerError
from secaudit.tools.scanners.semgrep import SemgrepOptions, SemgrepScanner
from secaudit.tools.scanners.semgrep.ruleset import RulesError, check_rules_dir, refuse_registry
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from tests.support.semgrep import FIXTURE_RULES, DictCache, require_semgrep

EVAL_LINE = "  const v = eval(req.body.code);\n"


@pytest.fixture(scope="module")
def semgrep() -> Path:
    return require_semgrep()


def _files(root: Path) -> list[FileRef]:
    scanner = SemgrepScanner()
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            ref = FileRef(path=path, rel=path.relative_to(root).as_posix(), size=st.st_size, mode=st.st_mode)
            if scanner.selects(ref):
                out.append(ref)
    return out


def _ctx(root: Path, semgrep: Path, *, cache: DictCache | None = None, **opts: object) -> ScanContext:
    options = SemgrepOptions(executable=semgrep, pack_dir=FIXTURE_RULES, **opts)  # type: ignore[arg-type]
    return ScanContext(
        root=root,
        cancel=CancelToken(),
        deadline=time.monotonic() + 300,
        cache=cache,
        workers=1,
        options=options,
    )


def _write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_findings_are_mapped_from_a_real_run(tmp_path: Path, semgrep: Path) -> None:
    token = "ghp_" + "Z9" * 18
    _write(tmp_path, "src/app.ts", f"app.post('/x', (req, res) => {{\n{EVAL_LINE}  res.send(v);\n}});\n")
    _write(tmp_path, "src/tls.js", "const a = new https.Agent({ rejectUnauthorized: false });\n")
    _write(tmp_path, "src/leak.js", f'eval(req.body.code); const t = "{token}";\n')
    scanner = SemgrepScanner()
    result = scanner.scan(_ctx(tmp_path, semgrep), _files(tmp_path))

    assert result.complete and not result.skipped
    assert sorted(result.scanned) == ["src/app.ts", "src/leak.js", "src/tls.js"]
    by_path = {f.path: f for f in result.findings}
    ev = by_path["src/app.ts"]
    assert ev.scanner == "semgrep"
    assert ev.rule_id == "fixture-eval-body"  # the YAML id exactly, no folder prefix
    assert ev.severity is Severity.CRITICAL  # from secaudit-severity
    assert ev.confidence.value == "high"
    assert ev.cwe == [95]
    assert ev.references == [
        "https://example.invalid/fixture-eval",
        "https://cwe.mitre.org/data/definitions/95.html",
    ]
    assert ev.message == "fixture: request body evaluated"
    assert (ev.start_line, ev.end_line) == (2, 2)
    assert ev.snippet == EVAL_LINE.rstrip("\n")
    assert ev.properties["start_col"] == 13 and ev.properties["end_col"] == 32
    assert ev.properties["fix_recipe"] == "fixture-remove-eval"
    tls = by_path["src/tls.js"]
    assert tls.rule_id == "fixture.tls.off"  # dotted ids survive too
    assert tls.severity is Severity.MEDIUM  # semgrep's WARNING when the rule sets no secaudit-severity
    assert tls.cwe == [295] and tls.properties["fix_recipe"] is None
    leak = by_path["src/leak.js"]
    assert leak.snippet and "eval(req.body.code)" in leak.snippet
    assert token not in leak.snippet and token not in str(leak.properties)
    assert "requires login" not in (ev.snippet or "")


def test_fingerprint_survives_inserted_lines(tmp_path: Path, semgrep: Path) -> None:
    path = _write(tmp_path, "a.js", f"function f(req) {{\n{EVAL_LINE}}}\n")
    first = SemgrepScanner().scan(_ctx(tmp_path, semgrep), _files(tmp_path)).findings
    path.write_text("// a comment\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    second = SemgrepScanner().scan(_ctx(tmp_path, semgrep), _files(tmp_path)).findings
    assert len(first) == len(second) == 1
    assert first[0].start_line == 2 and second[0].start_line == 4
    assert first[0].fingerprint == second[0].fingerprint


def test_nosemgrep_findings_are_kept_as_suppressed(tmp_path: Path, semgrep: Path) -> None:
    _write(
        tmp_path,
        "a.js",
        "eval(req.body.a); // nosemgrep\neval(req.body.b);\n// nosemgrep: other-rule\neval(req.body.c);\n"
        "// nosemgrep: fixture-eval-body\neval(req.body.d);\n",
    )
    findings = SemgrepScanner().scan(_ctx(tmp_path, semgrep), _files(tmp_path)).findings
    assert [
        (f.start_line, f.suppressed_in_code) for f in sorted(findings, key=lambda f: f.start_line or 0)
    ] == [
        (1, True),
        (2, False),  # the trailing comment on line 1 covers line 1 only
        (4, False),  # names another rule
        (6, True),
    ]


def test_cache_hands_semgrep_only_changed_files(tmp_path: Path, semgrep: Path) -> None:
    for name in ("a.js", "b.ts", "c.jsx"):
        _write(tmp_path, name, f"function f(req) {{\n{EVAL_LINE}}}\n")
    cache = DictCache()
    cold = SemgrepScanner()
    first = cold.scan(_ctx(tmp_path, semgrep, cache=cache), _files(tmp_path))
    assert cold.invocations == [["a.js", "b.ts", "c.jsx"]]

    warm = SemgrepScanner()
    second = warm.scan(_ctx(tmp_path, semgrep, cache=cache), _files(tmp_path))
    assert warm.invocations == []  # semgrep was not started at all
    assert sorted(f.fingerprint for f in second.findings) == sorted(f.fingerprint for f in first.findings)
    assert sorted(second.scanned) == ["a.js", "b.ts", "c.jsx"]

    _write(tmp_path, "b.ts", "const safe = 1;\n")
    third_scanner = SemgrepScanner()
    third = third_scanner.scan(_ctx(tmp_path, semgrep, cache=cache), _files(tmp_path))
    assert third_scanner.invocations == [["b.ts"]]
    assert sorted(f.path for f in third.findings) == ["a.js", "c.jsx"]


def test_parse_errors_and_oversized_files_are_skips_with_reasons(tmp_path: Path, semgrep: Path) -> None:
    _write(tmp_path, "broken.js", "const x = ;;; (\neval(req.body.q)\n")
    _write(tmp_path, "ok.js", EVAL_LINE)
    _write(tmp_path, "big.js", "// " + "x" * 5000 + "\n")
    result = SemgrepScanner().scan(_ctx(tmp_path, semgrep, max_target_bytes=4096), _files(tmp_path))
    reasons = {s.path: s.reason for s in result.skipped}
    assert "parsed only in part" in reasons["broken.js"]
    assert "per-file limit of 4096 bytes" in reasons["big.js"]
    # Source left unanalysed is a coverage loss: the engine makes such a run partial.
    assert {s.path for s in result.skipped if s.partial} >= {"big.js"}
    assert result.scanned == ["ok.js"]
    assert result.complete  # a file semgrep could not parse is a skip, not a failed scanner


def test_selects_js_ts_and_leaves_out_build_output(tmp_path: Path) -> None:
    scanner = SemgrepScanner()

    def sel(rel: str) -> bool:
        return scanner.selects(FileRef(path=tmp_path / rel, rel=rel, size=10, mode=0o100644))

    for ext in ("js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts"):
        assert sel(f"src/a.{ext}")
    for rel in (
        "node_modules/x/a.js", "dist/a.js", "build/a.js", "coverage/a.js", "web/.next/a.js",
        "public/app.min.js", "src/a.json", "README.md",
    ):  # fmt: skip
        assert not sel(rel), rel


def _rules_with_a_python_one(tmp_path: Path) -> Path:
    """The fixture rules plus a Python rule, in a folder of the test's own."""
    rules = tmp_path / "rules"
    shutil.copytree(FIXTURE_RULES, rules)
    _write(
        rules,
        "py.yaml",
        "rules:\n  - id: fixture-py-eval\n    languages: [python]\n    severity: WARNING\n"
        "    message: py eval\n    pattern: eval(...)\n",
    )
    return rules


def test_mts_cts_are_scanned_beside_rules_for_other_languages(tmp_path: Path, semgrep: Path) -> None:
    rules = _rules_with_a_python_one(tmp_path)
    repo = tmp_path / "repo"
    _write(repo, "a.mts", "const v: string = eval(req.body.code);\n")
    _write(repo, "b.cts", EVAL_LINE)
    _write(repo, "c.ts", EVAL_LINE)
    scanner = SemgrepScanner()
    ctx = _ctx(repo, semgrep)
    ctx.options = SemgrepOptions(executable=semgrep, pack_dir=rules)
    result = scanner.scan(ctx, _files(repo))
    # .mts/.cts go to their own invocation with only the JavaScript/TypeScript rules: no Python rule
    # tries to parse them (that would be a parse error and a bogus match).
    assert scanner.invocations == [["c.ts"], ["a.mts", "b.cts"]]
    assert not result.skipped
    assert sorted((f.path, f.rule_id) for f in result.findings) == [
        ("a.mts", "fixture-eval-body"),
        ("b.cts", "fixture-eval-body"),
        ("c.ts", "fixture-eval-body"),
    ]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cancel_kills_and_reaps_the_process_group(tmp_path: Path, semgrep: Path) -> None:
    for n in range(200):  # several seconds of work: cancelled long before semgrep could finish
        _write(tmp_path, f"src/f{n}.js", EVAL_LINE * 400)
    scanner = SemgrepScanner()
    started: queue.Queue[int] = queue.Queue()
    scanner.on_start = started.put
    ctx = _ctx(tmp_path, semgrep)
    outcome: dict[str, object] = {}
    thread = threading.Thread(target=lambda: outcome.update(r=scanner.scan(ctx, _files(tmp_path))))
    thread.start()
    pgid = started.get(timeout=120)
    assert _group_alive(pgid)
    ctx.cancel.cancel()
    thread.join(timeout=30)
    assert not thread.is_alive()
    deadline = time.monotonic() + 10
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)  # orphans the kill left behind are reaped by init, asynchronously
    assert not _group_alive(pgid)
    result = outcome["r"]
    assert not result.complete  # type: ignore[attr-defined]
    assert {s.reason for s in result.skipped} == {"not scanned: the audit was cancelled"}  # type: ignore[attr-defined]


def test_deadline_stops_semgrep(tmp_path: Path, semgrep: Path) -> None:
    _write(tmp_path, "a.js", EVAL_LINE)
    ctx = _ctx(tmp_path, semgrep)
    ctx.deadline = time.monotonic() - 1
    result = SemgrepScanner().scan(ctx, _files(tmp_path))
    assert not result.complete
    assert "time budget" in result.skipped[0].reason


def test_user_rules_run_beside_the_pack_and_are_in_the_cache_key(tmp_path: Path, semgrep: Path) -> None:
    user = tmp_path / "mine"
    rule = (
        "rules:\n  - id: my-no-settimeout-string\n    languages: [javascript]\n    severity: INFO\n"
        '    message: string passed to setTimeout\n    pattern: setTimeout("...", ...)\n'
    )
    _write(user, "team.yml", rule)
    repo = tmp_path / "repo"
    _write(repo, "a.js", EVAL_LINE + 'setTimeout("tick()", 10);\n')
    cache = DictCache()
    ctx = _ctx(repo, semgrep, cache=cache, user_rules=check_rules_dir(user))
    result = SemgrepScanner().scan(ctx, _files(repo))
    assert sorted(f.rule_id for f in result.findings) == ["fixture-eval-body", "my-no-settimeout-string"]
    assert "1 user rules" in result.notes[0]

    _write(user, "team.yml", rule.replace("severity: INFO", "severity: ERROR"))
    again = SemgrepScanner()
    second = again.scan(_ctx(repo, semgrep, cache=cache, user_rules=user), _files(repo))
    assert again.invocations == [["a.js"]]  # a changed rule re-scans
    mine = next(f for f in second.findings if f.rule_id == "my-no-settimeout-string")
    assert mine.severity is Severity.HIGH


def test_a_user_rule_reusing_a_pack_id_is_refused(tmp_path: Path, semgrep: Path) -> None:
    user = tmp_path / "mine"
    shutil.copytree(FIXTURE_RULES, user)
    _write(tmp_path / "repo", "a.js", EVAL_LINE)
    with pytest.raises(ScannerError, match="already defined in the rule pack"):
        SemgrepScanner().scan(_ctx(tmp_path / "repo", semgrep, user_rules=user), _files(tmp_path / "repo"))


def test_a_rule_semgrep_rejects_fails_the_scanner(tmp_path: Path, semgrep: Path) -> None:
    user = tmp_path / "mine"
    _write(
        user,
        "bad.yaml",
        "rules:\n  - id: broken-pattern\n    languages: [javascript]\n    severity: ERROR\n"
        '    message: x\n    pattern: "foo(((("\n',
    )
    _write(tmp_path / "repo", "a.js", EVAL_LINE)
    with pytest.raises(ScannerError, match="broken-pattern"):
        SemgrepScanner().scan(_ctx(tmp_path / "repo", semgrep, user_rules=user), _files(tmp_path / "repo"))


@pytest.mark.parametrize(
    "value", ["auto", "p/javascript", "r/javascript.express.security", "https://semgrep.dev/c/p/ci", "s/abc"]
)
def test_registry_configs_are_refused(value: str) -> None:
    with pytest.raises(RulesError, match="registry"):
        refuse_registry(value)
    with pytest.raises(ConfigError, match="SECAUDIT_SEMGREP_RULES: not accepted.*registry"):
        load_settings({"SECAUDIT_SEMGREP_RULES": value})


def test_user_rules_setting_must_be_a_folder_of_rule_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECAUDIT_SEMGREP_RULES.*existing folder"):
        load_settings({"SECAUDIT_SEMGREP_RULES": str(tmp_path / "missing")})
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty", "notes.txt", "no rules here\n")
    with pytest.raises(ConfigError, match="holds no .yml/.yaml rule file"):
        load_settings({"SECAUDIT_SEMGREP_RULES": str(tmp_path / "empty")})
    settings = load_settings({"SECAUDIT_SEMGREP_RULES": str(FIXTURE_RULES)})
    assert settings.semgrep_rules == FIXTURE_RULES.resolve()


def test_without_semgrep_the_run_is_partial_and_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no semgrep on PATH either
    repo = tmp_path / "repo"
    _write(repo, "a.js", EVAL_LINE)
    store = Store(tmp_path / "store.db")
    store.migrate(STORE_MIGRATIONS)
    audit = AuditService(
        store,
        FindingsService(store),
        allowed_roots=[tmp_path],
        max_file_bytes=1 << 20,
        max_files=1000,
        scanner_options={"semgrep": SemgrepOptions(engines_dir=tmp_path / "engines", pack_dir=FIXTURE_RULES)},
    )
    run = audit.run(str(repo), scanners=["semgrep", "secrets"])
    assert run.status is RunStatus.PARTIAL
    cov = {c.scanner: c for c in run.coverage}["semgrep"]
    assert not cov.complete and cov.error is not None
    assert cov.error.startswith("unavailable:") and "secaudit engines install semgrep" in cov.error
    assert any("secaudit engines install semgrep" in n for n in run.notes)
    store.close()


def test_output_mapping_strips_folder_prefixes_and_reads_per_file_errors() -> None:
    from secaudit.tools.scanners.semgrep.results import parse_output

    doc = {
        "results": [
            {"check_id": "home.me.rules.fixture.tls.off", "path": "./a.js", "start": {"line": 1, "col": 1},
             "end": {"line": 1, "col": 5}, "extra": {"message": "m", "severity": "WARNING"}},
            {"check_id": "someone-else", "path": "a.js", "start": {"line": 1}, "end": {"line": 1}},
        ],
        "errors": [
            {"type": "Timeout", "level": "warn", "path": "b.js", "rule_id": "fixture-eval-body", "message": "t"},
            {"type": ["PartialParsing", []], "level": "warn", "path": "c.js", "message": "Syntax error\n at 3"},
            {"type": "Rule parse error", "level": "error", "message": "Rule parse error in rule x"},
        ],
        "paths": {"scanned": ["a.js", "b.js", "c.js"]},
    }  # fmt: skip
    ids = {"fixture.tls.off": "fixture.tls.off", "off": "off", "fixture-eval-body": "fixture-eval-body"}
    out = parse_output(doc, ["a.js", "b.js", "c.js", "d.js"], ids)
    assert [m["rule"] for m in out.per_file["a.js"]["matches"]] == ["fixture.tls.off"]  # longest id wins
    assert "skip" not in out.per_file["a.js"]
    assert out.per_file["b.js"]["skip"].startswith(
        "semgrep timed out on this file (rules: fixture-eval-body)"
    )
    assert out.per_file["b.js"]["retry"] is True  # counted as not fully analysed, even from the cache
    assert (
        out.per_file["c.js"]["skip"]
        == "parsed only in part (Syntax error at 3); findings in the parsed part are kept"
    )
    assert "retry" not in out.per_file["c.js"]
    assert "did not scan this file" in out.per_file["d.js"]["skip"]
    assert out.fatal == ["Rule parse error: Rule parse error in rule x"]


def test_a_timeout_is_a_skip_kept_in_the_cache_and_the_scanner_stays_incomplete(
    tmp_path: Path, semgrep: Path
) -> None:
    rules = tmp_path / "rules"
    _write(
        rules,
        "taint.yaml",
        "rules:\n  - id: fixture-taint-eval\n    languages: [javascript]\n    severity: ERROR\n"
        "    message: taint\n    mode: taint\n    pattern-sources: [{pattern: $REQ.body}]\n"
        "    pattern-sinks: [{pattern: eval(...)}]\n",
    )
    body = "".join(
        f"function f{i}(req, res) {{ const a{i} = req.body.x + {i}; if (a{i}) {{ eval(a{i}); }} return res.send(a{i}); }}\n"
        for i in range(40000)
    )
    _write(tmp_path / "repo", "huge.js", body)
    cache = DictCache()
    ctx = _ctx(tmp_path / "repo", semgrep, cache=cache)
    ctx.options = SemgrepOptions(
        executable=semgrep, pack_dir=rules, timeout_per_rule=1, max_target_bytes=20_000_000
    )
    result = SemgrepScanner().scan(ctx, _files(tmp_path / "repo"))
    [skip] = result.skipped
    assert skip.path == "huge.js" and skip.reason.startswith(
        "semgrep timed out on this file (rules: fixture-taint-eval)"
    )
    assert not result.complete and result.scanned == []
    assert any("not fully analysed" in n and "--no-cache" in n for n in result.notes)
    # Kept, so a re-audit does not wait for the same timeout again; served, the file still leaves
    # the scan incomplete (the run partial) and the note says how to retry.
    assert len(cache.data) == 1
    again = SemgrepScanner()
    second = again.scan(ctx, _files(tmp_path / "repo"))
    assert again.invocations == []
    [skip] = second.skipped
    assert skip.reason.startswith("semgrep timed out on this file (rules: fixture-taint-eval)")
    assert not second.complete and second.scanned == []
    assert any("earlier audit" in n and "--no-cache" in n for n in second.notes)


def test_rule_files_for_javascript_only_are_left_out_when_no_target_is_one(
    tmp_path: Path, semgrep: Path
) -> None:
    rules = _rules_with_a_python_one(tmp_path)
    repo = tmp_path / "repo"
    _write(repo, "a.py", "x = eval(input())\n")
    _write(repo, "c.ts", EVAL_LINE)
    scanner = SemgrepScanner()
    configs: list[list[str]] = []
    spawn = scanner._spawn

    def recording(ctx: ScanContext, argv: list[str], *rest: object) -> object:
        configs.append(sorted(Path(argv[n + 1]).name for n, a in enumerate(argv) if a == "--config"))
        return spawn(ctx, argv, *rest)  # type: ignore[arg-type]

    scanner._spawn = recording  # type: ignore[assignment, method-assign]
    ctx = _ctx(repo, semgrep)
    ctx.options = SemgrepOptions(executable=semgrep, pack_dir=rules)
    files = {f.rel: f for f in _files(repo)}
    only_py = scanner.scan(ctx, [files["a.py"]])
    assert configs == [["py.yaml"]]
    assert [(f.path, f.rule_id) for f in only_py.findings] == [("a.py", "fixture-py-eval")]
    both = scanner.scan(ctx, [files["a.py"], files["c.ts"]])
    assert len(configs) == 2 and len(configs[1]) > 1 and "py.yaml" in configs[1]
    assert sorted((f.path, f.rule_id) for f in both.findings) == [
        ("a.py", "fixture-py-eval"),
        ("c.ts", "fixture-eval-body"),
    ]
