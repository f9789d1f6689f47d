"""The JavaScript/TypeScript (and few Python) semgrep rule pack: its tests, its shape, its metadata.

The rules live in `tools/scanners/semgrep/rules/<topic>.yaml`; their semgrep test targets live in
`tests/tools/scanners/semgrep/rules/<topic>.{js,ts,py}` with `// ruleid: <id>` / `// ok: <id>`
annotations. `semgrep --test --config <rules dir> <targets dir>` pairs `<topic>.yaml` with every
target whose name starts with `<topic>.`, runs only that file's rules on them, and compares the
reported lines with the annotated ones.

Semgrep runs as a real subprocess, found as tests/support/semgrep.py finds it (`SECAUDIT_SEMGREP`,
the private install `secaudit engines install semgrep` made, /opt/semgrep-venv, PATH); without one
the semgrep tests skip, and fail under CI (where a skipped rule test would pass a rule pack nobody ran).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.semgrep import require_semgrep

REPO = Path(__file__).resolve().parents[4]
RULES_DIR = REPO / "tools" / "scanners" / "semgrep" / "rules"
TARGETS_DIR = Path(__file__).resolve().parent / "rules"
APPS_DIR = Path(__file__).resolve().parent / "apps"

# Ids other helpers' code is keyed on (mechanical JS fixes): never rename them.
FIXED_IDS = {
    "js-express-x-powered-by",
    "js-tls-reject-unauthorized-off",
    "js-jwt-verify-no-algorithms",
    "js-math-random-secret",
}
SEVERITY_OF = {"critical": "ERROR", "high": "ERROR", "medium": "WARNING", "low": "INFO", "info": "INFO"}
# A message must say how to fix, not only what is wrong: it has to use one of these verbs.
FIX_VERBS = re.compile(
    r"\b(use|remove|set|pass|validate|replace|call|delete|add|compare|load|check|restrict|drop|"
    r"move|keep|enable|register|hash|escape|parameteri[sz]e|resolve|map|quote|generate|verify|lower|log|"
    r"list|parse|build|pick|reject|throw|install|fail)\b",
    re.IGNORECASE,
)
ANNOTATION = re.compile(r"(?://|#)\s*(ruleid|ok|todoruleid|todook):\s*([\w\-, ]+)")
SEMGREP_FLAGS = ["--metrics=off", "--disable-version-check"]
TIMEOUT_S = 600


def _semgrep() -> str:
    # The same discovery as the scanner's tests: SECAUDIT_SEMGREP, the private install, then PATH;
    # under CI a missing engine fails instead of skipping.
    return str(require_semgrep())


@pytest.fixture(scope="module")
def semgrep() -> str:
    return _semgrep()


def _run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"


def _rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yaml"))


def _rules() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in _rule_files():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(doc, dict) and isinstance(doc.get("rules"), list), f"{path.name}: no `rules:` list"
        found.extend((path, rule) for rule in doc["rules"])
    return found


def _annotations(path: Path) -> list[tuple[str, str, int]]:
    """(kind, rule id, line of the annotation) for every annotation in a target file."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = ANNOTATION.search(line)
        if match:
            found.extend((match.group(1), rid.strip(), number) for rid in match.group(2).split(","))
    return found


def _targets_of(rule_file: Path) -> list[Path]:
    stem = rule_file.stem
    return sorted(
        p
        for p in TARGETS_DIR.iterdir()
        if p.is_file() and p.name.startswith(stem + ".") and p.suffix != ".yaml"
    )


# ---------------------------------------------------------------- shape and metadata (no semgrep)


def test_pack_exists_and_ids_are_unique() -> None:
    rules = _rules()
    assert len(_rule_files()) >= 7 and len(rules) >= 29
    ids = Counter(rule["id"] for _, rule in rules)
    assert [rid for rid, count in ids.items() if count > 1] == []
    assert FIXED_IDS <= set(ids), f"fixed ids missing: {FIXED_IDS - set(ids)}"


@pytest.mark.parametrize("rule", [r for _, r in _rules()], ids=lambda r: str(r.get("id")))
def test_rule_has_required_metadata(rule: dict[str, Any]) -> None:
    rid = rule["id"]
    assert re.fullmatch(r"(js|py)-[a-z0-9]+(-[a-z0-9]+)+", rid), "id: kebab-case with a js- or py- prefix"
    want_langs = {"javascript", "typescript"} if rid.startswith("js-") else {"python"}
    assert set(rule["languages"]) == want_langs
    meta = rule["metadata"]
    cwes = meta["cwe"]
    assert isinstance(cwes, list) and cwes
    assert all(isinstance(c, str) and re.fullmatch(r"CWE-\d+: \S.+", c) for c in cwes), cwes
    assert meta["confidence"] in {"HIGH", "MEDIUM", "LOW"}
    assert meta["category"] == "security"
    assert rule["severity"] == SEVERITY_OF[meta["secaudit-severity"]], (
        "severity and secaudit-severity disagree"
    )
    refs = meta["references"]
    assert isinstance(refs, list) and refs and all(str(u).startswith("https://") for u in refs)
    recipe = meta["fix-recipe"]
    assert isinstance(recipe, str) and 20 <= len(recipe) <= 600 and FIX_VERBS.search(recipe)
    message = rule["message"]
    assert isinstance(message, str) and FIX_VERBS.search(message), "the message must say how to fix"


def test_js_taint_rules_share_one_source_list() -> None:
    """Request data means the same thing in every taint rule: one list, kept identical."""
    js_taint = [
        (path.name, r) for path, r in _rules() if r["id"].startswith("js-") and r.get("mode") == "taint"
    ]
    assert len(js_taint) >= 8
    first_name, first = js_taint[0]
    for name, rule in js_taint[1:]:
        assert rule["pattern-sources"] == first["pattern-sources"], (
            f"{name}:{rule['id']} has other sources than {first_name}:{first['id']}"
        )


@pytest.mark.parametrize("rule_file", _rule_files(), ids=lambda p: p.name)
def test_every_rule_has_annotated_positives_and_negatives(rule_file: Path) -> None:
    targets = _targets_of(rule_file)
    assert targets, f"no test targets {TARGETS_DIR.name}/{rule_file.stem}.* for {rule_file.name}"
    notes = [(kind, rid, target) for target in targets for kind, rid, _ in _annotations(target)]
    rules = yaml.safe_load(rule_file.read_text(encoding="utf-8"))["rules"]
    for rule in rules:
        rid = rule["id"]
        hits = [t for kind, r, t in notes if kind == "ruleid" and r == rid]
        safe = [t for kind, r, t in notes if kind == "ok" and r == rid]
        assert len(hits) >= 2, f"{rid}: fewer than 2 `ruleid:` annotations"
        assert len(safe) >= 2, f"{rid}: fewer than 2 `ok:` annotations"
        if rid.startswith("js-"):
            assert {t.suffix for t in hits} >= {".js", ".ts"}, f"{rid}: true positives in both .js and .ts"
    known = {r["id"] for r in rules}
    assert {r for _, r, _ in notes} <= known, "annotation for a rule of another file"


# ---------------------------------------------------------------- semgrep itself


def test_rule_tests_pass(semgrep: str) -> None:
    proc = _run([semgrep, "--test", *SEMGREP_FLAGS, "--json", "--config", str(RULES_DIR), str(TARGETS_DIR)])
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"semgrep --test gave no JSON report (an annotation names an unknown rule?)\n{_tail(proc)}"
        )
    assert report["config_missing_tests"] == [], "rule files without test targets"
    assert report["config_with_errors"] == [], report["config_with_errors"]
    checked: set[str] = set()
    failures = []
    for file_report in report["results"].values():
        for rid, check in file_report["checks"].items():
            checked.add(rid)
            if not check["passed"] or check["errors"]:
                failures.append({"rule": rid, "matches": check["matches"], "errors": check["errors"]})
    assert failures == [], json.dumps(failures, indent=1)[:6000]
    assert checked == {r["id"] for _, r in _rules()}, "every rule was tested"
    assert proc.returncode == 0, _tail(proc)


def _semgrep_core(semgrep: str) -> Path:
    """The semgrep-core binary beside the semgrep Python package that `semgrep` runs on."""
    first = Path(semgrep).read_bytes()[:300].split(b"\n", 1)[0]
    if not first.startswith(b"#!"):
        pytest.skip(f"{semgrep} is not a Python entry script; cannot find its semgrep-core")
    python = first[2:].decode().strip().split()[0]
    proc = _run(
        [
            python,
            "-c",
            "import pathlib, semgrep; print(pathlib.Path(semgrep.__file__).parent / 'bin' / 'semgrep-core')",
        ]
    )
    core = Path(proc.stdout.strip())
    assert proc.returncode == 0 and core.is_file(), _tail(proc)
    return core


def test_rules_pass_semgrep_core_rule_checks(semgrep: str, tmp_path: Path) -> None:
    """What `semgrep --validate` runs, minus the registry's lint pack: parse and built-in checks."""
    no_lints = tmp_path / "no-lints.yaml"
    no_lints.write_text("rules: []\n", encoding="utf-8")
    core = _semgrep_core(semgrep)
    proc = _run([str(core), "-json", "-check_rules", str(no_lints), *map(str, _rule_files())])
    assert proc.returncode == 0 and "{" in proc.stdout, _tail(proc)
    # semgrep-core prints a progress dot per rule file before the JSON report.
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert report["errors"] == [], json.dumps(report["errors"], indent=1)[:4000]


def test_semgrep_validate(semgrep: str) -> None:
    """`semgrep --validate` = the checks above plus the registry's rule lints, which it downloads
    each time (no local copy can be given): opt-in with SECAUDIT_SEMGREP_ONLINE=1 where the
    registry is reachable. Offline it fails only after ~2 minutes of retries."""
    if not os.environ.get("SECAUDIT_SEMGREP_ONLINE"):
        pytest.skip(
            "semgrep --validate downloads p/semgrep-rule-lints from the semgrep registry; set "
            "SECAUDIT_SEMGREP_ONLINE=1 to run it (test_rules_pass_semgrep_core_rule_checks ran its offline part)"
        )
    proc = _run([semgrep, "--validate", *SEMGREP_FLAGS, "--config", str(RULES_DIR)])
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, _tail(proc)
    assert "Configuration is valid" in output, _tail(proc)


def test_example_apps_report_exactly_the_annotated_lines(semgrep: str, tmp_path: Path) -> None:
    """Whole-pack precision on realistic code: every rule runs on every app, no rule may fire on an
    unannotated line, and every `ruleid:` line is reported (the per-file tests run one file's rules)."""
    apps = sorted(p for p in APPS_DIR.iterdir() if p.suffix in {".ts", ".js", ".py"})
    assert apps
    # A copy outside the repository: semgrep's default ignores would skip anything under tests/.
    copies = []
    for app in apps:
        shutil.copy(app, tmp_path / app.name)
        copies.append(str(tmp_path / app.name))
    proc = _run(
        [semgrep, "scan", *SEMGREP_FLAGS, "--json", "--config", str(RULES_DIR), *copies], cwd=tmp_path
    )
    assert proc.returncode == 0, _tail(proc)
    report = json.loads(proc.stdout)
    assert report["errors"] == [], report["errors"]
    got = {
        (Path(r["path"]).name, r["check_id"].rsplit(".", 1)[-1], r["start"]["line"])
        for r in report["results"]
    }
    want = set()
    for app in apps:
        for kind, rid, line in _annotations(app):
            if kind == "ruleid":
                want.add((app.name, rid, line + 1))
    assert sorted(got - want) == [], "reported but not annotated (false positives)"
    assert sorted(want - got) == [], "annotated but not reported (false negatives)"
