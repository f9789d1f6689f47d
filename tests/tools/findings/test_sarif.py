"""SARIF 2.1.0: export validates against the official schema; import round-trips; hostile files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from secaudit.server.context import AppContext
from secaudit.tools.errors import InvalidInput, PathNotAllowed
from secaudit.tools.findings.sarif import export_sarif, import_sarif
from tests.support.shared import require_shared


def _export(app: AppContext, root: Path) -> tuple[int, dict[str, Any]]:
    assert app.audit is not None and app.findings is not None
    run = app.audit.run(str(root), scanners=["bandit"])
    return run.id, export_sarif(app.findings, run.id, tool_version="test")


@pytest.mark.shared
def test_export_validates_against_the_official_schema(audit_app: AppContext, audit_root: Path) -> None:
    schema_path = require_shared("schemas/sarif-schema-2.1.0.json")
    assert audit_app.findings is not None
    run_id, doc = _export(audit_app, audit_root)
    # A triaged finding exports as an external suppression: validate that shape too.
    first = audit_app.findings.run_findings(run_id)[0]
    audit_app.findings.triage(first.id, "false_positive", "test data")
    doc = export_sarif(audit_app.findings, run_id, tool_version="test")
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft4Validator(schema).validate(doc)

    run = doc["runs"][0]
    results = run["results"]
    assert len(results) == len(audit_app.findings.run_findings(run_id))
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file://")
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for res in results:
        loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
        assert loc["uriBaseId"] == "%SRCROOT%" and not loc["uri"].startswith(("/", "file:"))
        assert len(res["partialFingerprints"]["secaudit/v1"]) == 64
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["help"]["text"] and "security-severity" in rule["properties"]
    assert any(s["kind"] == "inSource" for r in results for s in r.get("suppressions", []))
    assert any(s["kind"] == "external" for r in results for s in r.get("suppressions", []))


def test_round_trip_lists_the_same_findings(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.findings is not None
    run_id, doc = _export(audit_app, audit_root)
    sarif_file = audit_root / "out.sarif"
    sarif_file.write_text(json.dumps(doc))
    imported = import_sarif(
        audit_app.findings,
        str(sarif_file),
        allowed_roots=[audit_root],
        root=str(audit_root),
        own_scanners={"bandit"},
    )
    assert imported.kind == "import" and imported.findings_total == len(doc["runs"][0]["results"])

    def rows(run: int) -> set[tuple[str, str, str, int | None, str, bool]]:
        return {
            (r.id, r.rule_id, r.path, r.start_line, r.severity.value, r.suppressed_in_code)
            for r in audit_app.findings.run_findings(run)  # type: ignore[union-attr]
        }

    assert rows(imported.id) == rows(run_id)
    # Same fingerprints under the same root: the imported findings are the known ones, not new.
    assert imported.findings_new == 0 and imported.findings_fixed == 0


def test_foreign_sarif_is_listable_and_triageable(audit_app: AppContext, audit_root: Path) -> None:
    assert audit_app.findings is not None
    doc = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Semgrep OSS",
                        "rules": [
                            {
                                "id": "python.lang.security.audit.eval-detected",
                                "shortDescription": {"text": "eval detected"},
                                "properties": {"tags": ["CWE-95", "external/cwe/cwe-95"]},
                                "helpUri": "https://semgrep.dev/r/eval",
                            }
                        ],
                    }
                },
                "originalUriBaseIds": {"SRC": {"uri": audit_root.as_uri() + "/"}},
                "results": [
                    {
                        "ruleId": "python.lang.security.audit.eval-detected",
                        "level": "error",
                        "message": {"text": "Detected eval(\x1b[31m) with \u202euntrusted input"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "pkg/patterns.py", "uriBaseId": "SRC"},
                                    "region": {"startLine": 27},
                                }
                            }
                        ],
                    },
                    {
                        "ruleId": "escape",
                        "message": {"text": "outside"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "../../etc/passwd"}}}
                        ],
                    },
                    {
                        "ruleId": "absolute",
                        "message": {"text": "outside"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "file:///etc/passwd"}}}
                        ],
                    },
                    {
                        "ruleId": "web",
                        "message": {"text": "remote"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "https://evil.invalid/x"}}}
                        ],
                    },
                ],
            }
        ],
    }
    path = audit_root / "semgrep.sarif"
    path.write_text(json.dumps(doc))
    run = import_sarif(audit_app.findings, str(path), allowed_roots=[audit_root], root=str(audit_root))
    assert run.findings_total == 1 and any("3 results were dropped" in n for n in run.notes)
    page = audit_app.findings.list_findings(run_id=run.id)
    assert len(page.items) == 1
    item = page.items[0]
    assert item.scanner == "semgrep-oss" and item.severity.value == "high" and item.path == "pkg/patterns.py"
    assert "\x1b" not in item.title and "\u202e" not in item.title
    record = audit_app.findings.get_finding(item.id)
    assert record.cwe == [95] and record.snippet is None
    triaged = audit_app.findings.triage(item.id, "wont_fix", "legacy module, scheduled for removal")
    assert triaged.status == "wont_fix"
    # Importing the same file again keeps the identity, and the triage with it.
    again = import_sarif(audit_app.findings, str(path), allowed_roots=[audit_root], root=str(audit_root))
    again_items = audit_app.findings.list_findings(run_id=again.id).items
    assert [i.id for i in again_items] == [item.id] and again_items[0].status == "wont_fix"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a SARIF log"),
        (b'{"version": "1.0.0", "runs": []}', "2.1.0"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_hostile_sarif_files_are_refused_clearly(
    audit_app: AppContext, audit_root: Path, content: bytes, message: str
) -> None:
    assert audit_app.findings is not None
    path = audit_root / "bad.sarif"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        import_sarif(audit_app.findings, str(path), allowed_roots=[audit_root])


def test_sarif_path_confined_and_size_bounded(
    audit_app: AppContext, audit_root: Path, tmp_path: Path
) -> None:
    assert audit_app.findings is not None
    outside = tmp_path / "outside.sarif"
    outside.write_text('{"version": "2.1.0", "runs": []}')
    with pytest.raises(PathNotAllowed):
        import_sarif(audit_app.findings, str(outside), allowed_roots=[audit_root])
    big = audit_root / "big.sarif"
    big.write_text('{"version": "2.1.0", "runs": []}' + " " * 2048)
    with pytest.raises(InvalidInput, match="limit"):
        import_sarif(audit_app.findings, str(big), allowed_roots=[audit_root], max_bytes=1024)
    with pytest.raises(InvalidInput, match="regular file"):
        import_sarif(audit_app.findings, str(audit_root / "pkg"), allowed_roots=[audit_root])


@pytest.mark.shared
def test_item6_partial_run_is_not_a_successful_execution(tmp_path: Path) -> None:
    # Issue 11 item 6: the SARIF of a partial run said `executionSuccessful: true` with no word of
    # what was missed. Now: false, a notification saying the run is partial, and one per
    # incomplete scanner naming what it did not check (npm here); still valid SARIF 2.1.0.
    from secaudit.server.context import build_context
    from tests.support.audit import npm_repo_pypi_db

    schema = json.loads(require_shared("schemas/sarif-schema-2.1.0.json").read_text())
    root, settings = npm_repo_pypi_db(tmp_path)
    app = build_context(settings)
    try:
        assert app.audit is not None and app.findings is not None
        run = app.audit.run(str(root), scanners=["deps"])
        doc = export_sarif(app.findings, run.id, tool_version="test")
    finally:
        app.close()
    jsonschema.Draft4Validator(schema).validate(doc)
    sarif_run = doc["runs"][0]
    [invocation] = sarif_run["invocations"]
    assert invocation["executionSuccessful"] is False
    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("the run is partial" in t for t in texts), texts
    assert any(t.startswith("deps did not check everything") and "npm (2 dependencies)" in t for t in texts)
    assert sarif_run["properties"]["secaudit"]["status"] == "partial"


@pytest.mark.parametrize(
    ("title", "message", "text"),
    [
        ("Use of eval", "Use of eval", "Use of eval"),
        ("Use of eval", "", "Use of eval"),
        (
            "Use of eval",
            "Use of eval: the argument reaches it from req.query",
            "Use of eval: the argument reaches it from req.query",
        ),
        (
            "B602: shell=True",
            "subprocess call with shell=True",
            "B602: shell=True\nsubprocess call with shell=True",
        ),
    ],
)
def test_a_result_message_says_the_title_once(title: str, message: str, text: str) -> None:
    from secaudit.tools.findings.sarif import _message_text

    assert _message_text(title, message) == text
