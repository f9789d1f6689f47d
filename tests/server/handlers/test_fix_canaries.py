"""Hardening item 1: no fix result shows secret material.

Canaries of every kind (a PEM private key in a triple-quoted string, AWS and GitHub tokens, a
password) sit right around the code each kind of fix changes; every result of plan_fix, apply_fix,
list_fixes and revert_fix is searched for them, every line of the key's body included."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from secaudit.server.context import AppContext
from tests.support.canary import Canaries, Evidence, find_leaks, format_leaks
from tests.support.fixes import import_osv
from tests.support.mcp import call


def _plant(workspace: Path, c: Canaries) -> None:
    pem = c.private_key("web")
    # Every body line is a canary, the short last one (the easiest to miss) included; not the
    # first, whose start is the same for every RSA key of a size.
    for i, line in enumerate(pem.strip().splitlines()[2:-1]):
        if len(line) >= 12:
            c.values[f"web.pem{i}"] = line
    (workspace / "web.py").write_text(
        "from flask import Flask\n"
        f'SIGNING_KEY = """{pem.strip()}"""\n'
        f'AWS_SECRET_ACCESS_KEY = "{c.aws_secret("web", first="+")}"\n'
        "app = Flask(__name__)\n"
        "app.run(debug=True)\n"
        f'GITHUB_TOKEN = "{c.github("web")}"\n'
        f'aws_access_key_id = "{c.aws_key_id("web")}"\n'
    )
    (workspace / "settings.py").write_text(
        f'DEPLOY_KEY = """{c.private_key("settings").strip()}"""\n'
        f'db_password = "{c.password("settings")}"\n'
        f'API_TOKEN = "{c.github("settings")}"\n'
    )
    (workspace / "Dockerfile").write_text(
        "FROM python:3.12-slim\n"
        f"ENV GITHUB_TOKEN={c.github('docker')}\n"
        "COPY . /app\n"
        f"ENV AWS_SECRET_ACCESS_KEY={c.aws_secret('docker')}\n"
        'CMD ["python", "/app/web.py"]\n'
    )
    (workspace / "requirements.txt").write_text(
        f"--extra-index-url https://deploy:{c.password('reqs')}@pypi.internal.corp/simple\n"
        "requests==2.19.0\n"
        f"# token {c.github('reqs')}\n"
    )


@pytest.mark.anyio
async def test_no_fix_result_holds_a_canary(
    client: Client, app_context: AppContext, workspace: Path, tmp_path: Path
) -> None:
    c = Canaries()
    _plant(workspace, c)
    import_osv(app_context.store, tmp_path / "osv")
    run = await call(
        client, "run_audit", {"path": str(workspace), "scanners": ["bandit", "secrets", "config", "deps"]}
    )
    findings = (await call(client, "list_findings", {"run_id": run["run"]["id"], "limit": 200}))["items"]
    wanted = {
        ("bandit", "B201"),
        ("config", "config.docker-root-user"),
        ("deps", "PYSEC-TEST-REQ"),
    }
    targets = [f for f in findings if (f["scanner"], f["rule_id"]) in wanted]
    targets += [f for f in findings if f["scanner"] == "secrets" and f["path"] == "settings.py"][:2]
    assert {(f["scanner"], f["rule_id"]) for f in targets} >= wanted
    assert any(f["scanner"] == "secrets" for f in targets)

    evidence: list[Evidence] = []
    for f in targets:
        label = f"{f['scanner']}:{f['rule_id']}"
        plan = await client.call_tool("plan_fix", {"finding_id": f["id"]})
        evidence.append(Evidence.of(f"plan_fix {label}", plan.model_dump(mode="json")))
        if plan.is_error:
            continue
        plan_id = plan.structured_content["plan"]["plan_id"]  # type: ignore[index]
        digest = plan.structured_content["plan"]["confirm_digest"]  # type: ignore[index]
        for dry_run in (True, False):
            applied = await client.call_tool(
                "apply_fix", {"plan_id": plan_id, "dry_run": dry_run, "confirm_digest": digest}
            )
            evidence.append(
                Evidence.of(f"apply_fix {label} dry_run={dry_run}", applied.model_dump(mode="json"))
            )
        fix = (applied.structured_content or {}).get("fix")
        if fix:
            reverted = await client.call_tool("revert_fix", {"fix_id": fix["fix_id"]})
            evidence.append(Evidence.of(f"revert_fix {label}", reverted.model_dump(mode="json")))
    listed = await client.call_tool("list_fixes", {})
    evidence.append(Evidence.of("list_fixes", listed.model_dump(mode="json")))
    plans_shown = sum(1 for e in evidence if e.name.startswith("plan_fix") and b'"diff"' in e.data)
    assert plans_shown >= 4, "each fix kind must really produce a diff for the search to mean anything"
    leaks = find_leaks(c, evidence)
    assert not leaks, format_leaks(leaks)
