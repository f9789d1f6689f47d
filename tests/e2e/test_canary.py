"""Canary test (issue 4): secrets planted everywhere must come out nowhere.

Fresh canaries in real secret shapes are planted in the environment and configuration of the server
and CLI processes (including our own configured secrets: the Redis URL's password, the HTTP tokens),
in the files of an audited repository, and in tool arguments. Then the stdio server, the HTTP face
and the CLI are driven through audits, findings, SARIF, fixes, tasks, masking and failing calls, at
`--log-level DEBUG`, and every byte that came out is searched: captured stdout and stderr, every
tool result and HTTP answer, every file under the store's folder (database, WAL, keys, locks) and
every exported file. Zero occurrences, in plain form or encoded.

The only place a canary may legitimately be is where the user put it: the workspace files (not
searched) and the inputs we sent (not searched either; only what came back is).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.canary import Canaries, Evidence, find_leaks, format_leaks
from tests.support.http import ACCEPT, INIT, READY

# The CLI test alone runs ~36 fresh `secaudit` processes (about 110 s here). The suite-wide 300 s
# bound left too little room: in one CI run a 60 s stall of the whole VM (kernel soft lockup,
# nothing of ours) pushed it over, and pytest-timeout's alarm then took the session down.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class Scene:
    """One test's world: canaries, the workspace, the store, the process environment, the outputs."""

    tmp: Path
    canaries: Canaries = field(default_factory=Canaries)
    evidence: list[Evidence] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workspace = self.tmp / "workspace"
        self.store_dir = self.tmp / "store"
        self.logs = self.tmp / "logs"
        self.exports = self.tmp / "exports"
        for d in (self.workspace, self.store_dir, self.logs, self.exports):
            d.mkdir()
        self.store = self.store_dir / "secaudit.db"

    def record(self, name: str, obj: object) -> None:
        self.evidence.append(Evidence.of(name, obj))

    def assert_clean(self) -> None:
        found = [
            *self.evidence,
            *Evidence.from_tree(self.store_dir, "store:"),
            *Evidence.from_tree(self.logs, "log:"),
            *Evidence.from_tree(self.exports, "export:"),
        ]
        # Guard against a vacuous pass: the searched material must be there.
        assert any(e.name.startswith("store:") and e.name.endswith(".db") for e in found)
        leaks = find_leaks(self.canaries, found)
        assert not leaks, format_leaks(leaks)


def build_env(scene: Scene, *, redis: bool = True) -> dict[str, str]:
    """The process environment: our configuration with configured secrets, plus unrelated secrets
    a developer's shell typically holds (which nothing should ever print)."""
    c = scene.canaries
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
    env.update(
        {
            "SECAUDIT_STORE": str(scene.store),
            "SECAUDIT_ALLOWED_ROOTS": str(scene.workspace),
            "SECAUDIT_HTTP_TOKENS": f"canary:read,write,fix:{c.http_token('config')}",
            "GITHUB_TOKEN": c.github("env"),
            "AWS_ACCESS_KEY_ID": c.aws_key_id("env"),
            "AWS_SECRET_ACCESS_KEY": c.aws_secret("env"),
            "SLACK_BOT_TOKEN": c.slack("env"),
            "DATABASE_URL": f"postgres://app:{c.password('env')}@db.internal:5432/app",
            "API_KEY": c.api_key("env"),
            "SESSION_JWT": c.jwt("env"),
        }
    )
    if redis:
        # Wrong credentials: Redis refuses them (WRONGPASS; a password alone would be accepted by a
        # Redis without one), or Redis is absent: either way the error paths run.
        env["SECAUDIT_REDIS_URL"] = f"redis://canary:{c.password('config.redis')}@127.0.0.1:6379/0"
    return env


def build_workspace(scene: Scene) -> None:
    """A small repository full of committed secrets and unsafe configuration."""
    c, ws = scene.canaries, scene.workspace
    (ws / ".env").write_text(
        f"GITHUB_TOKEN={c.github('file.env')}\n"
        f"AWS_ACCESS_KEY_ID={c.aws_key_id('file.env')}\n"
        f"API_KEY={c.api_key('file.env')}\n"
    )
    (ws / "settings.py").write_text(
        "DEBUG = True\n"
        f'SECRET_KEY = "{c.api_key("file.settings")}"\n'
        f'SLACK_TOKEN = "{c.slack("file.settings")}"\n'
        "ALLOWED_HOSTS = ['*']\n"
        f'DATABASE_URL = "postgres://admin:{c.password("file.settings")}@db.example.com:5432/app"\n'
    )
    (ws / "app.py").write_text(
        "import subprocess\n\n"
        f'password = "{c.password("file.app")}"\n'
        f'api_key = "{c.github("file.app")}"\n'
        f'SESSION = "{c.jwt("file.app")}"\n\n\n'
        "def run(cmd):\n"
        "    return subprocess.call(cmd, shell=True)\n"
    )
    (ws / "config.yaml").write_text(
        f"api_key: {c.api_key('file.yaml')}\n"
        f"database_url: mysql://root:{c.password('file.yaml')}@127.0.0.1/app\n"
        f"aws_secret_access_key: {c.aws_secret('file.yaml')}\n"
    )
    (ws / "Dockerfile").write_text(
        "FROM python:latest\n"
        f"ENV GITHUB_TOKEN={c.github('file.docker')}\n"
        f"ARG NPM_TOKEN={c.api_key('file.docker')}\n"
        "ADD https://example.com/tool.tar.gz /opt/\n"
        'CMD ["python", "app.py"]\n'
    )
    (ws / "docker-compose.yml").write_text(
        "services:\n"
        "  db:\n"
        "    image: postgres:16\n"
        "    ports: ['5432:5432']\n"
        "    environment:\n"
        f"      POSTGRES_PASSWORD: {c.password('file.compose')}\n"
        f"      API_TOKEN: {c.slack('file.compose')}\n"
        "  cache:\n"
        "    image: redis:7\n"
        "    privileged: true\n"
        "    network_mode: host\n"
    )
    (ws / "requirements.txt").write_text(
        f"--index-url https://deploy:{c.password('file.requirements')}@pypi.example.com/simple\n"
        "requests==2.19.0\n"
        "django==3.2.0\n"
        f"private @ git+https://oauth2:{c.github('file.requirements')}@github.com/org/private.git\n"
    )
    (ws / "keys").mkdir()
    (ws / "keys" / "id_rsa").write_text(c.private_key("file.key"))
    (ws / "deploy.sh").write_text(
        f"curl -H 'Authorization: Bearer {c.jwt('file.sh')}' https://api.example.com/\n"
    )
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": f"othertool {c.github('file.sarif_tool')}", "rules": [{"id": "LEAK1"}]}
                },
                "results": [
                    {
                        "ruleId": "LEAK1",
                        "level": "error",
                        "message": {
                            "text": f"token {c.github('file.sarif')} found; "
                            f"key {c.aws_key_id('file.sarif')}; "
                            f"db postgres://u:{c.password('file.sarif')}@h/db; "
                            f"jwt {c.jwt('file.sarif')}"
                        },
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app.py"},
                                    "region": {
                                        "startLine": 3,
                                        "snippet": {"text": f'password = "{c.slack("file.sarif")}"'},
                                    },
                                }
                            }
                        ],
                    },
                    {
                        "ruleId": f"rule-{c.aws_key_id('file.sarif_rule')}",
                        "message": {"text": "a result whose rule id carries a canary"},
                        # (Not in the URI: a path is the identity of the user's own file, kept as
                        # given so the finding can be found and fixed; tool results mask it.)
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "settings.py"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    },
                    {
                        # The canary straddles the message's length limit.
                        "ruleId": "LEAK1",
                        "message": {"text": "x " * 1980 + f"token {c.github('file.sarif_cut')} end"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app.py"},
                                    "region": {"startLine": 4},
                                }
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (ws / "other.sarif").write_text(json.dumps(sarif, indent=2))


def arg_text(c: Canaries, where: str, *, pem: bool = False) -> str:
    """Caller text carrying canaries of every shape (a prompt, a text to mask, a triage reason)."""
    lines = [
        f"deploy with {c.github(where)} and {c.aws_key_id(where)}",
        f"db: postgres://admin:{c.password(where)}@db.example.com/app",
        f"API_KEY={c.api_key(where)}",
        f"Authorization: Bearer {c.jwt(where)}",
        f"slack {c.slack(where)}",
    ]
    if pem:
        lines.append(c.private_key(where))
    return "\n".join(lines)


def dump_result(result: Any) -> dict[str, Any]:
    """A CallToolResult as plain data: every text and the structured content."""
    return {
        "is_error": result.is_error,
        "content": [getattr(block, "text", repr(block)) for block in result.content],
        "structured": result.structured_content,
    }


# -- stdio ---------------------------------------------------------------------------------------


async def _drive_session(client: Client, scene: Scene, prefix: str) -> None:
    """The same sequence of calls over any transport: audits, findings, SARIF, fixes, failures."""
    c, ws = scene.canaries, str(scene.workspace)

    async def call(
        name: str, arguments: dict[str, Any], *, tag: str = "", label: str | None = None
    ) -> dict[str, Any]:
        result = dump_result(await client.call_tool(name, arguments))
        scene.record(f"{prefix}:{label or name + tag}", result)
        return result

    audit = await call("run_audit", {"path": ws, "use_cache": False})
    assert not audit["is_error"], audit["content"]
    run_id = audit["structured"]["run"]["id"]
    assert audit["structured"]["run"]["findings_total"] >= 5

    listed = await call("list_findings", {"run_id": run_id, "limit": 200})
    items = listed["structured"]["items"]
    secret = next(i for i in items if i["scanner"] == "secrets" and i["path"] == "app.py")
    for item in items[:40]:
        await call("get_finding", {"id": item["id"]}, tag=f":{item['id'][:8]}")
    await call("list_findings", {"text": c.github(f"{prefix}.arg.filter")}, tag=":filter")
    await call("list_findings", {"path_glob": "[" + c.github(f"{prefix}.arg.glob")}, tag=":glob")
    await call("security_summary", {})
    await call("list_runs", {})
    await call("get_run", {"run_id": run_id})

    exported = await call("export_sarif", {"run_id": run_id})
    assert not exported["is_error"]
    imported = await call("import_sarif", {"path": f"{ws}/other.sarif", "root": ws})
    assert not imported["is_error"], imported["content"]
    await call("list_findings", {"run_id": imported["structured"]["run"]["id"]}, tag=":imported")

    plan = await call("plan_fix", {"finding_id": secret["id"]})
    assert not plan["is_error"], plan["content"]
    await call("apply_fix", {"finding_id": secret["id"], "dry_run": True})
    await call("list_fixes", {})

    triaged = await call(
        "triage_finding",
        {"id": secret["id"], "status": "accepted_risk", "reason": arg_text(c, f"{prefix}.arg.reason")},
    )
    assert not triaged["is_error"], triaged["content"]
    await call("get_finding", {"id": secret["id"]}, tag=":triaged")

    masked = await call("mask_secrets", {"text": arg_text(c, f"{prefix}.arg.mask", pem=True)})
    assert not masked["is_error"] and masked["structured"]["count"] >= 5
    await call("mask_secrets", {"text": arg_text(c, f"{prefix}.arg.mask_noentropy"), "entropy": False})

    created = await call("create_task", {"prompt": arg_text(c, f"{prefix}.arg.prompt", pem=True)})
    assert not created["is_error"], created["content"]
    task_id = created["structured"]["task"]["id"]
    await call("get_task", {"id": task_id})
    await call("update_task", {"id": task_id, "prompt": arg_text(c, f"{prefix}.arg.update")})
    await call("list_tasks", {})
    await call("claim_next_task", {"worker": f"worker {c.github(f'{prefix}.arg.worker')}"})

    # Our own configured secrets, bare (no pattern knows them): only the configured-secret
    # registration of the redaction layer can catch them.
    own = [c.values["config.redis.password"], c.values["config.http_token"]]
    bare = f"redis password {own[0]} and the HTTP token {own[1]}"
    await call("create_task", {"prompt": bare}, tag=":own")
    masked_own = await call("mask_secrets", {"text": bare, "entropy": False}, tag=":own")
    assert masked_own["structured"]["count"] == 2
    await call("list_findings", {"text": own[0]}, tag=":own")
    for index, value in enumerate(own):
        failed = await call("get_task", {"uuid": value}, tag=f":own{index}")
        assert failed["is_error"]
        failed = await call("run_audit", {"path": f"{ws}/{value}"}, tag=f":own{index}")
        assert failed["is_error"]

    # Calls that fail, each carrying a canary where the bad value is.
    failing: list[tuple[str, dict[str, Any]]] = [
        ("run_audit", {"path": f"{ws}/missing/{c.github(f'{prefix}.arg.path')}"}),
        ("run_audit", {"path": f"/nonexistent/{c.aws_key_id(f'{prefix}.arg.outside')}"}),
        ("run_audit", {"path": ws, "paths": [f"../{c.slack(f'{prefix}.arg.relpath')}"]}),
        ("import_sarif", {"path": f"{ws}/{c.jwt(f'{prefix}.arg.sarif')}.sarif"}),
        ("create_task", {"prompt": "x", "status": c.api_key(f"{prefix}.arg.status")}),
        ("create_task", {"prompt": "x", c.github(f"{prefix}.arg.field"): 1}),
        ("get_task", {"uuid": c.api_key(f"{prefix}.arg.uuid")}),
        ("get_finding", {"id": c.api_key(f"{prefix}.arg.id")}),
        (
            "triage_finding",
            {
                "id": secret["id"],
                "status": "false_positive",
                "reason": "r",
                "expires_at": c.aws_secret(f"{prefix}.arg.expires"),
            },
        ),
        ("list_findings", {"cursor": c.jwt(f"{prefix}.arg.cursor")}),
        ("list_tasks", {"cursor": c.api_key(f"{prefix}.arg.taskcursor")}),
        ("update_task", {"id": task_id, "expected_version": c.password(f"{prefix}.arg.stamp")}),
        ("mask_secrets", {"text": 12345, "entropy": c.api_key(f"{prefix}.arg.bool")}),
        ("plan_fix", {"finding_id": c.github(f"{prefix}.arg.fixid")}),
        (c.github(f"{prefix}.arg.toolname"), {"x": 1}),
    ]
    for index, (name, arguments) in enumerate(failing):
        # The tag names the call by position: a tool name may itself be a canary.
        result = await call(name, arguments, tag=f":failing{index}", label=f"failing{index}")
        assert result["is_error"], (name, result["content"])


@pytest.mark.anyio
async def test_stdio_server_leaks_no_canary(tmp_path: Path) -> None:
    scene = Scene(tmp_path)
    build_workspace(scene)
    env = build_env(scene)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "secaudit.server", "serve", "--log-level", "DEBUG"], env=env
    )
    errlog_path = scene.logs / "stdio-server.stderr"
    with errlog_path.open("w") as errlog, anyio.fail_after(240):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            await _drive_session(client, scene, "stdio")
    # The server did log (at DEBUG), so the search below covers a real log.
    assert "DEBUG" in errlog_path.read_text()
    scene.assert_clean()


# -- HTTP ------------------------------------------------------------------------------------------


class HttpServer:
    def __init__(self, scene: Scene, env: dict[str, str]) -> None:
        self.scene = scene
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.stderr_path = scene.logs / "http-server.stderr"
        self.stdout_path = scene.logs / "http-server.stdout"

    def __enter__(self) -> HttpServer:
        self._err = self.stderr_path.open("wb")
        self._out = self.stdout_path.open("wb")
        cmd = [
            sys.executable,
            "-m",
            "secaudit.server",
            "serve",
            "--http",
            "--port",
            "0",
            "--log-level",
            "DEBUG",
        ]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, env=self.env
        )
        deadline = time.monotonic() + 60
        while not (m := READY.search(self.stderr_path.read_text(errors="replace"))):
            assert self.proc.poll() is None, self.stderr_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the HTTP server did not announce its port"
            time.sleep(0.05)
        self.port = int(m.group(1))
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
        self._out.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


def _raw_requests(scene: Scene, server: HttpServer, token: str) -> None:
    """Requests a hostile or careless client sends, each carrying a canary; recorded with headers."""
    c = scene.canaries
    base = f"http://127.0.0.1:{server.port}"
    json_headers = {"Accept": ACCEPT, "Content-Type": "application/json"}
    wrong = c.http_token("http.wrong_token")
    requests: list[tuple[str, str, dict[str, str], bytes | None]] = [
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {wrong}"}, json.dumps(INIT).encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {c.github('http.bearer_ghp')}"},
         json.dumps(INIT).encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Basic {c.api_key('http.basic')}"},
         json.dumps(INIT).encode()),
        ("POST", f"{server.url}?access_token={c.http_token('http.query')}", json_headers, json.dumps(INIT).encode()),
        ("POST", f"{server.url}?token={token}", json_headers, json.dumps(INIT).encode()),
        ("GET", f"{base}/metrics?api_key={c.api_key('http.metrics_query')}", {}, None),
        ("GET", f"{base}/metrics", {"Authorization": f"Bearer {c.http_token('http.metrics')}"}, None),
        ("GET", f"{base}/{c.github('http.path')}", {"Authorization": f"Bearer {token}"}, None),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {token}",
                              "Mcp-Session-Id": c.api_key("http.session"), "Mcp-Protocol-Version": "2025-06-18"},
         json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {token}",
                              "Origin": f"https://u:{c.password('http.origin')}@evil.example"},
         json.dumps(INIT).encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {token}",
                              "Host": f"{c.aws_key_id('http.host')}.example"}, json.dumps(INIT).encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {token}",
                              "X-Api-Key": c.api_key("http.xapikey"), "Cookie": f"session={c.jwt('http.cookie')}"},
         b'{"jsonrpc": "2.0", "id": 3, "method": ' + c.github("http.badjson").encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {token}"},
         json.dumps({"jsonrpc": "2.0", "id": 4, "method": c.slack("http.method")}).encode()),
        ("POST", server.url, {**json_headers, "Authorization": f"Bearer {token}"},
         ("[" * 60 + json.dumps(c.github("http.deep")) + "]" * 60).encode()),
        ("POST", server.url, {"Accept": ACCEPT, "Content-Type": f"text/plain; x={c.api_key('http.ctype')}",
                              "Authorization": f"Bearer {token}"}, b"{}"),
    ]  # fmt: skip
    with httpx.Client(timeout=30) as client:
        for index, (method, url, headers, body) in enumerate(requests):
            response = client.request(method, url, headers=headers, content=body)
            assert response.status_code >= 400, (index, response.status_code)
            scene.record(
                f"http:raw{index}",
                {"status": response.status_code, "headers": dict(response.headers), "body": response.text},
            )


@pytest.mark.anyio
async def test_http_face_leaks_no_canary(tmp_path: Path) -> None:
    from mcp.client.streamable_http import streamable_http_client

    scene = Scene(tmp_path)
    build_workspace(scene)
    env = build_env(scene)
    token = scene.canaries.values["config.http_token"]
    with HttpServer(scene, env) as server:
        _raw_requests(scene, server, token)
        with anyio.fail_after(240):
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
                async with Client(streamable_http_client(server.url, http_client=http)) as client:
                    await _drive_session(client, scene, "http")
        # The events the server recorded, through the CLI (same store).
    events = _cli(scene, env, ["events", "--json", "--limit", "500"], name="events-after-http")
    assert events.returncode == 0, events.stderr
    scene.assert_clean()


# -- CLI -------------------------------------------------------------------------------------------


def _cli(
    scene: Scene, env: dict[str, str], args: list[str], *, name: str, stdin: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args, "--log-level", "DEBUG"],
        input=None if stdin is None else stdin.encode(),
        capture_output=True,
        env=env,
        timeout=240,
        check=False,
    )
    (scene.logs / f"cli-{name}.stdout").write_bytes(proc.stdout)
    (scene.logs / f"cli-{name}.stderr").write_bytes(proc.stderr)
    return proc


def test_cli_leaks_no_canary(tmp_path: Path) -> None:
    scene = Scene(tmp_path)
    build_workspace(scene)
    env = build_env(scene)
    c, ws = scene.canaries, str(scene.workspace)

    audit = _cli(scene, env, ["audit", ws, "--format", "json", "--no-cache"], name="audit-json")
    assert audit.returncode == 1, audit.stderr
    report = json.loads(audit.stdout)
    findings = report["findings"]
    secret = next(f for f in findings if f["scanner"] == "secrets" and f["path"] == "app.py")
    for fmt in ("sarif", "table"):
        done = _cli(scene, env, ["audit", ws, "--format", fmt], name=f"audit-{fmt}")
        assert done.returncode == 1, done.stderr
    run_id = str(report["run"]["id"])

    ok_commands: list[tuple[str, list[str], str | None]] = [
        ("findings-list", ["findings", "list", "--json", "--limit", "200"], None),
        ("findings-list-table", ["findings", "list", "--limit", "200"], None),
        ("findings-show", ["findings", "show", secret["id"], "--json"], None),
        ("findings-show-text", ["findings", "show", secret["id"]], None),
        ("findings-run", ["findings", "run", run_id, "--json"], None),
        ("findings-import", ["findings", "import", f"{ws}/other.sarif", "--repo", ws, "--json"], None),
        ("findings-triage", ["findings", "triage", secret["id"], "--status", "accepted_risk",
                             "--reason", arg_text(c, "cli.arg.reason")], None),
        ("fix-plan", ["fix", "plan", secret["id"]], None),
        ("fix-plan-json", ["fix", "plan", secret["id"], "--json"], None),
        ("mask", ["mask"], arg_text(c, "cli.stdin.mask", pem=True)),
        ("mask-json", ["mask", "--json"], arg_text(c, "cli.stdin.maskjson", pem=True)),
        ("mask-noentropy", ["mask", "--no-entropy"], arg_text(c, "cli.stdin.masknoent")),
        ("tasks-add", ["tasks", "add", arg_text(c, "cli.arg.prompt", pem=True)], None),
        ("tasks-add-stdin", ["tasks", "add", "-", "--json"], arg_text(c, "cli.stdin.prompt")),
        ("tasks-list", ["tasks", "list", "--json"], None),
        ("tasks-show", ["tasks", "show", "1"], None),
        ("events", ["events", "--json", "--limit", "500"], None),
        ("events-text", ["events", "--limit", "500"], None),
    ]  # fmt: skip
    for name, args, stdin in ok_commands:
        done = _cli(scene, env, args, name=name, stdin=stdin)
        assert done.returncode == 0, (name, done.stderr[-2000:])

    # Our own configured secrets, bare, piped through `secaudit mask`: no pattern knows them.
    own = f"redis {c.values['config.redis.password']} token {c.values['config.http_token']}\n"
    for name, args in (("mask-own", ["mask", "--no-entropy"]), ("mask-own-json", ["mask", "--json"])):
        done = _cli(scene, env, args, name=name, stdin=own)
        assert done.returncode == 0, done.stderr

    # Accepted or refused, the value must not come back.
    _cli(scene, env, ["events", "--since", c.password("cli.arg.since")], name="events-since")

    exported = _cli(scene, env, ["findings", "export", run_id], name="findings-export")
    assert exported.returncode == 0
    (scene.exports / "run.sarif").write_bytes(exported.stdout)

    failing: list[tuple[str, list[str], str | None]] = [
        ("audit-missing", ["audit", f"{ws}/missing/{c.github('cli.arg.path')}"], None),
        ("audit-outside", ["audit", f"/tmp/{c.aws_key_id('cli.arg.outside')}", "--root", ws], None),
        ("audit-scanner", ["audit", ws, "--scanners", c.slack("cli.arg.scanner")], None),
        ("findings-show-bad", ["findings", "show", c.api_key("cli.arg.id")], None),
        ("findings-import-missing", ["findings", "import", f"{ws}/{c.jwt('cli.arg.sarif')}.sarif"], None),
        ("findings-list-cursor", ["findings", "list", "--cursor", c.jwt("cli.arg.cursor")], None),
        ("findings-triage-expires", ["findings", "triage", secret["id"], "--status", "false_positive",
                                     "--reason", "r", "--expires-at", c.aws_secret("cli.arg.expires")], None),
        ("tasks-show-uuid", ["tasks", "show", c.api_key("cli.arg.uuid")], None),
        ("tasks-status", ["tasks", "list", "--status", c.github("cli.arg.status")], None),
        ("tasks-cursor", ["tasks", "list", "--cursor", c.api_key("cli.arg.taskcursor")], None),
        ("fix-plan-bad", ["fix", "plan", c.github("cli.arg.fixid")], None),
    ]  # fmt: skip
    for name, args, stdin in failing:
        done = _cli(scene, env, args, name=name, stdin=stdin)
        assert done.returncode != 0, (name, done.stdout[-2000:])

    # Broken configuration carrying a canary: refused at start, without echoing it.
    bad_envs = {
        "bad-redis-scheme": {"SECAUDIT_REDIS_URL": f"http://:{c.password('cli.config.redis')}@127.0.0.1/"},
        "bad-tokens": {"SECAUDIT_HTTP_TOKENS": f"bad name:read:{c.http_token('cli.config.token')}"},
        "bad-token-scope": {"SECAUDIT_HTTP_TOKENS": f"x:{c.api_key('cli.config.scope')}:{'t' * 40}"},
        "bad-log-level": {"SECAUDIT_LOG_LEVEL": c.github("cli.config.level")},
        "bad-store": {"SECAUDIT_STORE": f"/proc/{c.aws_key_id('cli.config.store')}/x.db"},
    }
    for name, extra in bad_envs.items():
        args = ["serve", "--http", "--port", "0"] if "token" in name else ["events"]
        if name == "bad-store":
            # A command that only reads takes a missing store for an empty one and creates nothing;
            # one that writes must create it, and is refused.
            args = ["events", "--prune"]
        proc = subprocess.run(
            [sys.executable, "-m", "secaudit.server", *args],
            capture_output=True,
            env={**env, **extra},
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        (scene.logs / f"cli-{name}.stdout").write_bytes(proc.stdout)
        (scene.logs / f"cli-{name}.stderr").write_bytes(proc.stderr)
        assert proc.returncode != 0, (name, proc.stderr[-2000:])

    scene.assert_clean()
