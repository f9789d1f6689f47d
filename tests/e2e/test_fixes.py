"""Issue 6 end to end on real findings, with the real scanners and the real stores:

    audit (AuditService) -> the finding's id -> plan_fix -> apply_fix dry run (nothing written)
    -> apply_fix -> `verified`, the finding marked fixed by that fix -> a re-audit no longer
    reports it -> revert_fix restores the exact bytes and re-opens the finding.

Once per fix kind through the services of `build_context`, once through the MCP tools (in-memory
Client), once through the `secaudit` CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import AppContext, build_context
from secaudit.server.settings import Settings, load_settings
from secaudit.tools.errors import InvalidInput
from secaudit.tools.fixes.errors import FixNotApplicable
from secaudit.tools.fixes.model import FixStatus
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from tests.support.cli import cli_env
from tests.support.fixes import import_osv, temp_files

STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"

REPO: dict[str, bytes] = {
    "requirements.txt": b"flask==1.0.2\nrequests==2.19.0  # http client\n",
    "svc/pyproject.toml": (
        b'[project]\nname = "svc"\nversion = "0.1"\ndependencies = [\n'
        b'    "urllib3==1.24.1",  # pinned on purpose\n]\n'
    ),
    "app/load.py": b"import yaml\n\n\ndef read(s):\n    return yaml.load(s)  # config\n",
    "app/client.py": b"import requests\n\nr = requests.get('https://x', verify=False, timeout=5)\n",
    "app/tmp.py": b"import tempfile\n\npath = tempfile.mktemp(suffix='.log')\n",
    "app/web.py": b"from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True)\n",
    "app/cache.py": b"import hashlib\n\n\ndef cache_key(data):\n    return hashlib.md5(data).hexdigest()\n",
    "app/settings.py": f'DEBUG = False\nSTRIPE_KEY = "{STRIPE}"\n'.encode(),
    ".gitignore": b"__pycache__/\n",
    ".env": b"LOG_LEVEL=info\n",
    "Dockerfile": b'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n',
}


@dataclass(frozen=True)
class Kind:
    name: str
    scanner: str
    rule: str
    path: str
    in_diff: str
    changed: tuple[str, ...]


KINDS = [
    Kind("requirements", "deps", "PYSEC-TEST-REQ", "requirements.txt", "+requests==2.20.0  # http client",
         ("requirements.txt",)),
    Kind("pyproject", "deps", "PYSEC-TEST-URL", "svc/pyproject.toml", '+    "urllib3==1.24.2",  # pinned',
         ("svc/pyproject.toml",)),
    Kind("yaml", "bandit", "B506", "app/load.py", "yaml.safe_load(s)", ("app/load.py",)),
    Kind("verify", "bandit", "B501", "app/client.py", "verify=True", ("app/client.py",)),
    Kind("mktemp", "bandit", "B306", "app/tmp.py", "NamedTemporaryFile(delete=False", ("app/tmp.py",)),
    Kind("flask", "bandit", "B201", "app/web.py", "+app.run(debug=False)", ("app/web.py",)),
    Kind("hash", "bandit", "B324", "app/cache.py", "usedforsecurity=False", ("app/cache.py",)),
    Kind("secret", "secrets", "secrets.stripe-key", "app/settings.py", 'os.environ["STRIPE_KEY"]',
         ("app/settings.py", ".env.example", ".gitignore")),
    Kind("gitignore", "config", "config.env-file-not-ignored", ".env", "+.env", (".gitignore",)),
    Kind("dockerfile", "config", "config.docker-root-user", "Dockerfile", "+USER app", ("Dockerfile",)),
]  # fmt: skip


def _write(root: Path) -> None:
    for rel, data in REPO.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def e2e_root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _write(root)
    return root


@pytest.fixture
def e2e_settings(tmp_path: Path, e2e_root: Path) -> Settings:
    settings = load_settings(
        environ={},
        store_path=tmp_path / "store" / "secaudit.db",
        allowed_roots=(e2e_root,),
        log_level="WARNING",
    )
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_path)
    store.migrate(STORE_MIGRATIONS)
    import_osv(store, tmp_path / "osv")
    store.close()
    return settings


@pytest.fixture
def e2e_app(e2e_settings: Settings) -> Iterator[AppContext]:
    app = build_context(e2e_settings)
    yield app
    app.close()


def _find_id(app: AppContext, run_id: int, kind: Kind) -> str:
    assert app.findings is not None
    page = app.findings.list_findings(
        run_id=run_id, scanners=[kind.scanner], rules=[kind.rule], path_glob=kind.path, limit=200
    )
    assert len(page.items) == 1, [(i.rule_id, i.path) for i in page.items]
    return page.items[0].id


def _run_ids(app: AppContext, run_id: int) -> set[str]:
    assert app.findings is not None
    return {i.id for i in app.findings.list_findings(run_id=run_id, limit=200).items}


@pytest.mark.slow
def test_every_fix_kind_on_real_findings(e2e_app: AppContext, e2e_root: Path) -> None:
    app = e2e_app
    assert app.audit is not None and app.findings is not None and app.fixes is not None
    assert app.finding_source is app.findings
    first = app.audit.run(str(e2e_root))
    assert first.status.value == "succeeded", first.notes
    ids = {k.name: _find_id(app, first.id, k) for k in KINDS}
    stored = json.dumps(app.findings.get_finding(ids["secret"]).model_dump(mode="json"))
    assert STRIPE not in stored  # the scanner keeps only a preview and a keyed hash

    for kind in KINDS:
        fid = ids[kind.name]
        before = _snapshot(e2e_root)
        finding, root = app.finding_source.finding_for_fix(fid)
        assert root == e2e_root.resolve()

        plan = app.fixes.plan(finding, root)
        assert kind.in_diff in plan.diff, (kind.name, plan.diff)
        assert sorted(f.path for f in plan.files) == sorted(kind.changed), kind.name
        assert STRIPE not in plan.diff

        dry = app.fixes.apply(plan_id=plan.plan_id)
        assert dry.dry_run and dry.fix is None and _snapshot(e2e_root) == before

        fix = app.fixes.apply(plan_id=plan.plan_id, dry_run=False).fix
        assert fix is not None
        assert fix.status == FixStatus.VERIFIED, (kind.name, fix.message, fix.verification)
        assert temp_files(e2e_root) == []
        record = app.findings.get_finding(fid)
        assert record.status == "fixed" and record.fixed_by_fix == fix.fix_id, kind.name
        with pytest.raises(InvalidInput, match="already fixed"):
            app.finding_source.finding_for_fix(fid)

        again = app.audit.run(str(e2e_root), scanners=[kind.scanner])
        assert fid not in _run_ids(app, again.id), kind.name
        assert app.findings.get_finding(fid).status == "fixed"

        reverted = app.fixes.revert(fix.fix_id)
        assert reverted.status == FixStatus.REVERTED
        assert _snapshot(e2e_root) == before, kind.name  # identical bytes, created files removed
        reopened = app.findings.get_finding(fid)
        assert reopened.fixed_at is None and reopened.fixed_by_fix is None, kind.name

    back = app.audit.run(str(e2e_root))
    assert set(ids.values()) <= _run_ids(app, back.id)  # every reverted problem is reported again


def test_secret_fix_refuses_a_literal_that_is_no_longer_the_audited_secret(
    e2e_app: AppContext, e2e_root: Path
) -> None:
    app = e2e_app
    assert app.audit is not None and app.findings is not None and app.fixes is not None
    assert app.finding_source is not None
    run = app.audit.run(str(e2e_root), scanners=["secrets"])
    fid = _find_id(app, run.id, KINDS[7])
    assert app.findings.get_finding(fid).properties["secret_id"]
    # Another value of the same shape and the same preview, written since the audit.
    swapped = STRIPE[:8] + "Zz" + STRIPE[10:]
    (e2e_root / "app" / "settings.py").write_text(f'DEBUG = False\nSTRIPE_KEY = "{swapped}"\n')
    finding, root = app.finding_source.finding_for_fix(fid)
    with pytest.raises(FixNotApplicable, match="keyed hash"):
        app.fixes.plan(finding, root)


async def _call(client: Client, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_fix_through_mcp_tools(e2e_settings: Settings, e2e_app: AppContext, e2e_root: Path) -> None:
    before = _snapshot(e2e_root)
    server = build_server(e2e_settings, context=e2e_app)
    async with Client(server) as client:
        run = (await _call(client, "run_audit", {"path": str(e2e_root), "scanners": ["bandit", "deps"]}))[
            "run"
        ]
        listed = await _call(
            client, "list_findings", {"run_id": run["id"], "scanner": ["deps"], "rule": ["PYSEC-TEST-REQ"]}
        )
        assert len(listed["items"]) == 1
        fid = listed["items"][0]["id"]

        plan = (await _call(client, "plan_fix", {"finding_id": fid}))["plan"]
        assert "+requests==2.20.0  # http client" in plan["diff"]
        dry = await _call(client, "apply_fix", {"plan_id": plan["plan_id"]})
        assert dry["dry_run"] is True and _snapshot(e2e_root) == before

        applied = await _call(
            client,
            "apply_fix",
            {"plan_id": plan["plan_id"], "dry_run": False, "confirm_digest": plan["confirm_digest"]},
        )
        assert applied["fix"]["status"] == "verified", applied["fix"]["message"]
        record = (await _call(client, "get_finding", {"id": fid}))["finding"]
        assert record["status"] == "fixed" and record["fixed_by_fix"] == applied["fix"]["fix_id"]

        again = (await _call(client, "run_audit", {"path": str(e2e_root), "scanners": ["deps"]}))["run"]
        remaining = await _call(client, "list_findings", {"run_id": again["id"]})
        assert fid not in {i["id"] for i in remaining["items"]}

        reverted = await _call(client, "revert_fix", {"fix_id": applied["fix"]["fix_id"]})
        assert reverted["fix"]["status"] == "reverted"
    assert _snapshot(e2e_root) == before


@pytest.mark.slow
def test_fix_through_cli(e2e_settings: Settings, e2e_root: Path) -> None:
    before = _snapshot(e2e_root)
    env = cli_env(e2e_settings)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "secaudit.server", *args],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    audited = run("audit", str(e2e_root), "--scanners", "bandit", "--format", "json")
    assert audited.returncode == 1, audited.stderr  # open findings
    items = json.loads(audited.stdout)["findings"]
    fid = next(i["id"] for i in items if i["rule_id"] == "B201")

    planned = run("fix", "plan", fid)
    assert planned.returncode == 0, planned.stderr
    assert "+++ b/app/web.py" in planned.stdout and "+app.run(debug=False)" in planned.stdout
    dry = run("fix", "apply", fid)
    assert dry.returncode == 0 and "dry run" in dry.stdout and _snapshot(e2e_root) == before

    applied = run("fix", "apply", fid, "--write", "--json")
    assert applied.returncode == 0, applied.stderr
    fix = json.loads(applied.stdout)["fix"]
    assert fix["status"] == "verified", fix["message"]
    shown = run("findings", "show", fid, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["fixed_by_fix"] == fix["fix_id"]
    refused = run("fix", "plan", fid)
    assert refused.returncode == 2 and "already fixed" in refused.stderr

    again = run("audit", str(e2e_root), "--scanners", "bandit", "--format", "json")
    assert fid not in {i["id"] for i in json.loads(again.stdout)["findings"]}

    reverted = run("fix", "revert", fix["fix_id"])
    assert reverted.returncode == 0 and "reverted" in reverted.stdout, reverted.stderr
    assert _snapshot(e2e_root) == before
