"""`secaudit audit` and `secaudit findings` as real subprocesses: formats, exit codes, coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import secaudit

pytestmark = pytest.mark.slow

VULNERABLE = b"import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n\n\nresult = eval(input())\n"


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "app.py").write_bytes(VULNERABLE)
    (workspace / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    return workspace


def test_table_output_exit_1_and_coverage(settings: Settings, repo: Path) -> None:
    proc = secaudit(settings, "audit", str(repo), "--scanners", "bandit")
    assert proc.returncode == 1, proc.stderr
    assert "B602" in proc.stdout and "B307" in proc.stdout
    # The run says what it covered.
    assert "2 files walked" in proc.stdout and "bandit" in proc.stdout
    assert "\x1b[" not in proc.stdout  # no progress bar or colour when stdout is not a terminal


def test_fail_on_threshold_and_none(settings: Settings, repo: Path) -> None:
    assert (
        secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "critical").returncode
        == 0
    )
    assert secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "none").returncode == 0
    assert secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "high").returncode == 1


def test_json_and_sarif_formats(settings: Settings, repo: Path) -> None:
    as_json = secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--format", "json")
    data = json.loads(as_json.stdout)
    assert as_json.returncode == 1
    text = json.dumps(data)
    assert "B602" in text and "succeeded" in text
    sarif = secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--format", "sarif")
    doc = json.loads(sarif.stdout)
    assert doc["version"] == "2.1.0"
    rules = {r["ruleId"] for r in doc["runs"][0]["results"]}
    assert {"bandit/B602", "bandit/B307"} <= rules


def test_findings_list_and_triage_persist(settings: Settings, repo: Path) -> None:
    secaudit(settings, "audit", str(repo), "--scanners", "bandit")
    listed = json.loads(secaudit(settings, "findings", "list", "--json", "--rule", "B307").stdout)
    items = listed["items"]
    assert len(items) == 1
    fid = items[0]["id"]
    triaged = secaudit(
        settings, "findings", "triage", fid, "--status", "accepted_risk", "--reason", "input is trusted"
    )
    assert triaged.returncode == 0, triaged.stderr
    again = secaudit(settings, "audit", str(repo), "--scanners", "bandit", "--format", "json")
    assert "accepted_risk" in again.stdout
    first = json.loads(secaudit(settings, "findings", "runs", "--json", "--limit", "1").stdout)
    second = json.loads(
        secaudit(settings, "findings", "runs", "--json", "--cursor", first["next_cursor"]).stdout
    )
    assert [r["id"] for r in first["runs"] + second["runs"]] == [2, 1] and second["next_cursor"] is None
    table = secaudit(settings, "findings", "runs")
    assert table.returncode == 0 and "audit  succeeded" in table.stdout and str(repo) in table.stdout


@pytest.mark.parametrize("target", ["does-not-exist", "app.py"])
def test_bad_paths_exit_2(settings: Settings, repo: Path, target: str) -> None:
    proc = secaudit(settings, "audit", str(repo / target))
    assert proc.returncode == 2
    assert proc.stderr.startswith("secaudit: error:") and "Traceback" not in proc.stderr


def test_item6_partial_run_does_not_print_a_bare_no_findings(tmp_path: Path) -> None:
    # Issue 11 item 6 at the CLI: "No findings." and a `succeeded` run for an npm-only repository
    # checked against a PyPI-only database. Now the run is partial and says npm was not checked.
    from tests.support.audit import npm_repo_pypi_db

    root, settings = npm_repo_pypi_db(tmp_path)
    proc = secaudit(settings, "audit", str(root), "--scanners", "deps")
    assert proc.returncode == 0, proc.stderr
    assert "No findings." not in proc.stdout
    assert "the run is PARTIAL" in proc.stdout and "[partial]" in proc.stdout
    assert "ecosystems NOT checked" in proc.stdout and "npm (2 dependencies)" in proc.stdout
    sarif = json.loads(
        secaudit(settings, "audit", str(root), "--scanners", "deps", "--format", "sarif").stdout
    )
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_item12_include_tests_flag(settings: Settings, workspace: Path) -> None:
    # Issue 11 item 12 at the CLI: `--include-tests` reports the guesses a default run lists per file.
    from tests.tools.scanners.test_secrets_scanner import POSITIVES

    template, value = POSITIVES["secrets.keyword"]
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_login.py").write_text(template.format(v=value))
    default = secaudit(settings, "audit", str(workspace), "--scanners", "secrets")
    assert default.returncode == 0, default.stderr
    assert "test-path dismissals per file" in default.stdout and "tests/test_login.py=" in default.stdout
    included = secaudit(settings, "audit", str(workspace), "--scanners", "secrets", "--include-tests")
    assert included.returncode == 1 and "secrets/secrets.keyword" in included.stdout
    assert value not in included.stdout  # masked


@pytest.mark.shared
def test_sarif_category_root_and_rerated_severity(settings: Settings, workspace: Path) -> None:
    """`--sarif-category` sets `automationDetails.id` (GitHub's category is what precedes its last
    `/`); `--sarif-root` makes a subfolder's URIs relative to the top folder; a finding re-rated by
    the project configuration keeps its original severity and rule in `properties.secaudit`. The log
    validates against the official SARIF 2.1.0 schema."""
    import jsonschema

    from tests.support.shared import require_shared

    schema = json.loads(require_shared("schemas/sarif-schema-2.1.0.json").read_text())
    sub = workspace / "services" / "api"
    sub.mkdir(parents=True)
    (sub / "app.py").write_bytes(VULNERABLE)
    (sub / ".secaudit.toml").write_text(
        '[[tool.secaudit.rules]]\npaths = ["app.py"]\nids = ["B307"]\nseverity = "low"\n'
    )
    proc = secaudit(
        settings, "audit", str(sub), "--scanners", "bandit", "--format", "sarif",
        "--sarif-category", "secaudit/backend/", "--sarif-root", str(workspace),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    run_id = run["properties"]["secaudit"]["run_id"]
    assert run["automationDetails"]["id"] == f"secaudit/backend/{run_id}"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workspace.resolve().as_uri() + "/"
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
    }
    assert uris == {"services/api/app.py"}
    by_rule = {r["properties"]["secaudit"]["rule_id"]: r for r in run["results"]}
    rerated = by_rule["B307"]["properties"]["secaudit"]
    assert rerated["severity"] == "low" and rerated["original_severity"] == "medium"
    assert rerated["severity_rule"] == "rules[0]"
    assert "original_severity" not in by_rule["B602"]["properties"]["secaudit"]

    # The default is unchanged; `findings export` takes the same options.
    plain = json.loads(
        secaudit(settings, "audit", str(sub), "--scanners", "bandit", "--format", "sarif").stdout
    )
    plain_run = plain["runs"][0]
    assert (
        plain_run["automationDetails"]["id"]
        == f"secaudit/run/{plain_run['properties']['secaudit']['run_id']}"
    )
    assert {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in plain_run["results"]
    } == {"app.py"}
    exported = secaudit(settings, "findings", "export", str(run_id), "--sarif-category", "sec.audit-2")
    assert json.loads(exported.stdout)["runs"][0]["automationDetails"]["id"] == f"sec.audit-2/{run_id}"


@pytest.mark.parametrize("category", ["", "a b", "x\ny", "/lead", "a//b", "é", "x" * 101])
def test_bad_sarif_category_is_a_usage_error(settings: Settings, repo: Path, category: str) -> None:
    proc = secaudit(settings, "audit", str(repo), "--format", "sarif", "--sarif-category", category)
    assert proc.returncode == 2 and "SARIF category" in proc.stderr, proc.stderr


def test_sarif_root_must_hold_the_audited_folder(settings: Settings, repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = secaudit(settings, "audit", str(repo), "--format", "sarif", "--sarif-root", str(elsewhere))
    assert proc.returncode == 2 and "is not a folder holding the audited folder" in proc.stderr, proc.stderr
    proc = secaudit(settings, "audit", str(repo), "--sarif-category", "x")
    assert proc.returncode == 2 and "--format sarif only" in proc.stderr, proc.stderr
