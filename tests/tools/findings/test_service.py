"""The findings service: filters, cursor pagination, triage rules and expiry, summary metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.server.context import AppContext
from secaudit.tools.errors import InvalidInput, NotFound
from secaudit.tools.findings import Finding, FindingsService, Severity
from secaudit.tools.store import Store
from tests.support.history import finding, record_run


@pytest.fixture
def audited(audit_app: AppContext, audit_root: Path) -> tuple[FindingsService, int]:
    assert audit_app.audit is not None and audit_app.findings is not None
    run = audit_app.audit.run(str(audit_root), scanners=["bandit"])
    return audit_app.findings, run.id


def test_pagination_is_complete_stable_and_ordered(audited: tuple[FindingsService, int]) -> None:
    service, run_id = audited
    everything = service.list_findings(run_id=run_id, limit=200).items
    seen = []
    cursor = None
    while True:
        page = service.list_findings(run_id=run_id, limit=7, cursor=cursor)
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [f.id for f in seen] == [f.id for f in everything]
    ranks = [f.severity.rank for f in seen]
    assert ranks == sorted(ranks, reverse=True)
    first = service.list_findings(run_id=run_id, limit=5)
    assert first.next_cursor is not None
    with pytest.raises(InvalidInput, match="cursor"):
        service.list_findings(run_id=run_id, limit=5, cursor=first.next_cursor, min_severity=Severity.HIGH)
    with pytest.raises(InvalidInput):
        service.list_findings(limit=201)


def test_runs_page_newest_first_and_stay_stable_while_runs_are_added(
    audit_app: AppContext, audit_root: Path, tmp_path: Path
) -> None:
    assert audit_app.audit is not None and audit_app.findings is not None
    service = audit_app.findings
    made = [audit_app.audit.run(str(audit_root), scanners=["config"]).id for _ in range(5)]
    page = service.list_runs(root=str(audit_root), limit=2)
    seen = [r.id for r in page.runs]
    made.append(audit_app.audit.run(str(audit_root), scanners=["config"]).id)  # lands on page one only
    while page.next_cursor is not None:
        page = service.list_runs(root=str(audit_root), limit=2, cursor=page.next_cursor)
        seen.extend(r.id for r in page.runs)
    assert seen == sorted(made[:5], reverse=True)
    assert [r.id for r in service.list_runs(limit=200).runs] == sorted(made, reverse=True)
    cursor = service.list_runs(root=str(audit_root), limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInput, match="cursor"):
        service.list_runs(limit=1, cursor=cursor)  # minted for another filter
    with pytest.raises(InvalidInput, match="cursor"):
        service.list_runs(root=str(audit_root), limit=1, cursor=cursor[:-4] + "AAAA")


def test_filters(audited: tuple[FindingsService, int]) -> None:
    service, run_id = audited
    high = service.list_findings(run_id=run_id, min_severity=Severity.HIGH, limit=200).items
    assert high and all(f.severity.rank >= Severity.HIGH.rank for f in high)
    b602 = service.list_findings(run_id=run_id, rules=["B602"], limit=200).items
    assert b602 and {f.rule_id for f in b602} == {"B602"}
    pkg = service.list_findings(run_id=run_id, path_glob="pkg/*", limit=200).items
    assert pkg and all(f.path.startswith("pkg/") for f in pkg)
    text = service.list_findings(run_id=run_id, text="PICKLE", limit=200).items
    assert text and all("pickle" in (f.title + f.path).lower() or f.rule_id for f in text)
    assert not service.list_findings(run_id=run_id, scanners=["secrets"]).items
    hidden = service.list_findings(run_id=run_id, include_suppressed=False, limit=200).items
    assert hidden and not any(f.suppressed_in_code for f in hidden)
    assert service.list_findings(run_id=run_id, statuses=["new"], limit=200).items
    assert not service.list_findings(run_id=run_id, statuses=["fixed"]).items
    with pytest.raises(InvalidInput):
        service.list_findings(statuses=["bogus"])
    with pytest.raises(NotFound):
        service.list_findings(run_id=9999)
    # Wildcards in the text filter are matched literally.
    assert not service.list_findings(run_id=run_id, text="%_%").items


def test_triage_validation_and_expiry(audited: tuple[FindingsService, int], audit_app: AppContext) -> None:
    service, run_id = audited
    item = service.list_findings(run_id=run_id, limit=1).items[0]
    with pytest.raises(InvalidInput, match="reason"):
        service.triage(item.id, "false_positive", "   ")
    with pytest.raises(InvalidInput, match="status"):
        service.triage(item.id, "ignored", "why")
    with pytest.raises(InvalidInput, match="future"):
        service.triage(item.id, "accepted_risk", "why", expires_at="2000-01-01T00:00:00Z")
    with pytest.raises(InvalidInput, match="ISO"):
        service.triage(item.id, "accepted_risk", "why", expires_at="next tuesday")
    with pytest.raises(NotFound):
        service.triage("0" * 16, "accepted_risk", "why")
    rec = service.triage(item.id, "accepted_risk", "until the migration", expires_at="2999-01-01T00:00:00Z")
    assert rec.status == "accepted_risk" and rec.triage is not None and not rec.triage.expired
    assert [f.id for f in service.list_findings(statuses=["accepted_risk"]).items] == [item.id]
    # Time passes: the decision expires and the finding counts as open again.
    audit_app.store.conn.execute("UPDATE finding_triage SET expires_at = '2001-01-01T00:00:00.000Z'")
    rec = service.get_finding(item.id)
    assert rec.triage is not None and rec.triage.expired and rec.status in ("new", "open")
    assert not service.list_findings(statuses=["accepted_risk"]).items
    assert len(rec.triage_history) == 1
    # The fingerprint works as a reference too.
    assert service.get_finding(rec.fingerprint).id == item.id


def test_summary_counts_and_mean_time_to_fix(
    audited: tuple[FindingsService, int], audit_app: AppContext, audit_root: Path
) -> None:
    service, run_id = audited
    assert audit_app.audit is not None
    before = service.summary(root=str(audit_root))
    assert before.open_total == sum(before.open_by_severity.values()) == sum(before.open_by_scanner.values())
    assert before.mean_time_to_fix_hours is None and before.latest_run == run_id
    target = service.list_findings(run_id=run_id, rules=["B307"], path_glob="pkg/twice.py").items[0]
    service.triage(target.id, "false_positive", "test fixture")
    path = audit_root / "app" / "app" / "crypto.py"
    path.write_text(path.read_text().replace('    assert user, "user required"\n', ""))
    second = audit_app.audit.run(str(audit_root), scanners=["bandit"])
    after = service.summary(root=str(audit_root), recent=5)
    assert second.findings_fixed == 1
    assert after.fixed_total == 1 and after.mean_time_to_fix_hours is not None
    assert after.by_status["fixed"] == 1 and after.by_status["false_positive"] == 1
    assert after.open_total == before.open_total - 2
    assert [t.run_id for t in after.trend] == [run_id, second.id]
    assert after.trend[-1].findings_fixed == 1 and sum(after.trend[0].by_severity.values()) > 0


def test_finding_properties_pass_through_the_redaction_layer() -> None:
    token = "ghp_" + "Z9" * 18
    finding = Finding(
        scanner="imported",
        rule_id="r1",
        severity=Severity.LOW,
        path="a.py",
        title="t",
        fingerprint="0" * 64,
        properties={"note": f"seen {token} here", "nested": [{"api_key": "s3cr3t-value"}], "count": 3},
    )
    dumped = str(finding.properties)
    assert token not in dumped and "s3cr3t-value" not in dumped
    assert finding.properties["count"] == 3 and finding.properties["note"].startswith("seen ")


def test_a_root_nobody_audited_is_not_found_and_the_message_points_to_the_audited_ones(store: Store) -> None:
    service = FindingsService(store)
    record_run(service, "/work/mono/api", [finding(1)])
    record_run(service, "/work/mono/web", [finding(2)])
    assert service.list_findings(root="/work/mono/api").items
    cases = {
        "/work/mono/api/src/routes": "it lies inside the audited folder /work/mono/api: use root=/work/mono/api "
        "(list_findings narrows it with path_glob='src/routes/*')",
        "/work/mono": "audited folders inside it: /work/mono/api, /work/mono/web; use one as root",
        "/elsewhere": "run_audit it first",
    }
    for root, expected in cases.items():
        for ask in (lambda r: service.list_findings(root=r), lambda r: service.summary(root=r)):
            with pytest.raises(NotFound) as err:
                ask(root)
            assert f"no audit of {root} is recorded" in str(err.value) and expected in str(err.value)
    # A run id names its own findings whatever the root: unchanged.
    assert service.list_findings(run_id=1).items
