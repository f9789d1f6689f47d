"""The audit engine with a project configuration and a committed baseline: real bandit runs on tiny
trees, real SQLite stores (a second, fresh store stands for another machine)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secaudit.tools.audit import AuditService
from secaudit.tools.findings import FindingsService, RunStatus
from secaudit.tools.findings.gate import blocking
from secaudit.tools.project.baseline import BASELINE_FILE, merge_decisions, render_baseline, write_baseline
from secaudit.tools.project.config import ProjectConfigError
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store

APP = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n\n\nresult = eval(input())\n"
TEST = "def test_it():\n    assert 1 + 1 == 2\n    assert True\n"


def _service(path: Path, root: Path) -> AuditService:
    store = Store(path)
    store.migrate(STORE_MIGRATIONS)
    return AuditService(
        store, FindingsService(store), allowed_roots=[root], max_file_bytes=1_000_000, max_files=1000
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    (root / "vendor" / "lib").mkdir(parents=True)
    (root / "app.py").write_text(APP)
    (root / "tests" / "test_app.py").write_text(TEST)
    (root / "vendor" / "lib" / "old.py").write_text("import pickle\npickle.loads(b'')\n")
    return root


def _config(root: Path, text: str) -> None:
    (root / ".secaudit.toml").write_text(text)


def _listing(audit: AuditService, run_id: int):  # type: ignore[no-untyped-def]
    return audit.findings.list_findings(run_id=run_id, limit=200).items


def test_exclude_rules_off_and_re_rate(tmp_path: Path, repo: Path) -> None:
    audit = _service(tmp_path / "a.db", tmp_path)
    before = audit.run(str(repo), scanners=["bandit"])
    rules = {(f.path, f.rule_id) for f in _listing(audit, before.id)}
    assert ("tests/test_app.py", "B101") in rules and ("vendor/lib/old.py", "B301") in rules
    _config(
        repo,
        '[tool.secaudit]\nexclude = ["vendor/**"]\n'
        '[[tool.secaudit.rules]]\npaths = ["tests/**"]\nids = ["B101"]\naction = "off"\n'
        '[[tool.secaudit.rules]]\npaths = ["app.py"]\nids = ["bandit/B307"]\nseverity = "low"\n',
    )
    run = audit.run(str(repo), scanners=["bandit"])
    items = _listing(audit, run.id)
    assert run.status is RunStatus.SUCCEEDED
    assert not any(f.path.startswith(("tests/", "vendor/")) for f in items)
    b307 = next(f for f in items if f.rule_id == "B307")
    assert b307.severity.value == "low"
    record = audit.findings.get_finding(b307.id)
    assert record.properties["original_severity"] == "medium"
    notes = "\n".join(run.notes)
    assert "project config: .secaudit.toml" in notes
    assert "2 findings silenced by project config rule rules[0] (B101 in tests/**) of .secaudit.toml" in notes
    assert "1 findings re-rated low" in notes
    assert "1 files or folders left out by the project's exclude patterns (vendor/**)" in notes
    # Neither the silenced asserts nor the excluded file's finding were judged: none is "fixed".
    assert run.findings_fixed == 0


def test_config_scanners_are_the_default_set(tmp_path: Path, repo: Path) -> None:
    _config(repo, '[tool.secaudit]\nscanners = ["bandit"]\n')
    audit = _service(tmp_path / "a.db", tmp_path)
    assert audit.run(str(repo)).scanners == ["bandit"]
    assert audit.run(str(repo), scanners=["secrets"]).scanners == ["secrets"]  # the caller's choice wins


def test_an_invalid_config_stops_the_audit_before_a_run_is_recorded(tmp_path: Path, repo: Path) -> None:
    _config(repo, '[[tool.secaudit.rules]]\npaths = ["x"]\naction = "of"\n')
    audit = _service(tmp_path / "a.db", tmp_path)
    with pytest.raises(ProjectConfigError, match=r"\.secaudit\.toml: tool\.secaudit\.rules\[0\]\.action"):
        audit.run(str(repo), scanners=["bandit"])
    assert audit.findings.list_runs().runs == []


def _commit_baseline(audit: AuditService, repo: Path) -> None:
    decisions = merge_decisions(audit.findings.stored_decisions(str(repo.resolve())), now=datetime.now(UTC))
    write_baseline(repo, render_baseline(decisions))


def test_baseline_written_on_one_machine_is_honoured_on_a_fresh_store(tmp_path: Path, repo: Path) -> None:
    first = _service(tmp_path / "a.db", tmp_path)
    run = first.run(str(repo), scanners=["bandit"])
    b602 = next(f for f in _listing(first, run.id) if f.rule_id == "B602")
    first.findings.triage(b602.id, "accepted_risk", "commands come from our own config")
    _commit_baseline(first, repo)
    # On the machine that wrote it, the file holds the store's own decision: nothing is overridden.
    run1 = first.run(str(repo), scanners=["bandit"])
    assert not any("overridden" in n for n in run1.notes), run1.notes
    assert any("1 applied to known findings (1 reported by this run)" in n for n in run1.notes)

    other = _service(tmp_path / "b.db", tmp_path)  # another machine: nothing triaged there
    run2 = other.run(str(repo), scanners=["bandit"])
    items = _listing(other, run2.id)
    again = next(f for f in items if f.rule_id == "B602")
    assert again.status == "accepted_risk"
    assert again not in blocking(items, "high")
    record = other.findings.get_finding(again.id)
    assert record.triage is not None and record.triage.reason == "commands come from our own config"
    assert record.triage.from_baseline and record.triage.actor == "local"
    assert first.findings.get_finding(b602.id).triage.from_baseline is False  # type: ignore[union-attr]
    assert any("1 applied to known findings (1 reported by this run)" in n for n in run2.notes)

    # A newer local decision wins over the baseline's.
    other.findings.triage(again.id, "open", "we want to see it")
    run3 = other.run(str(repo), scanners=["bandit"])
    assert next(f for f in _listing(other, run3.id) if f.rule_id == "B602").status == "open"
    assert any("1 entries overridden by newer local triage decisions" in n for n in run3.notes)

    # Without the baseline file, what it applied on the fresh store is withdrawn.
    third = _service(tmp_path / "c.db", tmp_path)
    third.run(str(repo), scanners=["bandit"])
    (repo / BASELINE_FILE).unlink()
    run4 = third.run(str(repo), scanners=["bandit"])
    assert next(f for f in _listing(third, run4.id) if f.rule_id == "B602").status == "open"
    assert any("1 decisions withdrawn" in n for n in run4.notes)


def test_expired_entries_are_noted_and_do_not_apply(tmp_path: Path, repo: Path) -> None:
    first = _service(tmp_path / "a.db", tmp_path)
    run = first.run(str(repo), scanners=["bandit"])
    b307 = next(f for f in _listing(first, run.id) if f.rule_id == "B307")
    first.findings.triage(b307.id, "accepted_risk", "for now")
    _commit_baseline(first, repo)
    doc = json.loads((repo / BASELINE_FILE).read_text())
    doc["entries"][0]["expires_at"] = "2020-01-01T00:00:00Z"
    (repo / BASELINE_FILE).write_text(json.dumps(doc))

    other = _service(tmp_path / "b.db", tmp_path)
    run2 = other.run(str(repo), scanners=["bandit"])
    assert next(f for f in _listing(other, run2.id) if f.rule_id == "B307").status == "new"
    notes = "\n".join(run2.notes)
    assert "1 expired entries no longer apply: bandit/B307 in app.py" in notes
    assert "expired 2020-01-01T00:00:00.000Z" in notes


def test_an_invalid_baseline_stops_the_audit(tmp_path: Path, repo: Path) -> None:
    (repo / ".secaudit").mkdir()
    (repo / BASELINE_FILE).write_text(json.dumps({"version": 1, "entries": [{"fingerprint": "0" * 64}]}))
    audit = _service(tmp_path / "a.db", tmp_path)
    with pytest.raises(ProjectConfigError, match=r"entries\[0\] \(fingerprint 000000000000\)\.scanner"):
        audit.run(str(repo), scanners=["bandit"])
