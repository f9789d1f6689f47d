"""The `config` scanner: one positive and one negative fixture per rule, values never echoed."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import string
import subprocess
import time
from pathlib import Path

import pytest

from secaudit.tools.scanners.builtin import get_scanner
from secaudit.tools.scanners.config import RULES, ConfigScanner
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext, ScanResult
from tests.support import REPO_ROOT

RNG = random.Random(4242)


def token(n: int = 32) -> str:
    return "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(n))


def pem(kind: str) -> str:
    body = base64.b64encode(RNG.randbytes(300)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {kind}-----\n" + "\n".join(lines) + f"\n-----END {kind}-----\n"


def refs(root: Path) -> list[FileRef]:
    out = []
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(dirpath) / name
            st = path.lstat()
            out.append(FileRef(path, path.relative_to(root).as_posix(), st.st_size, st.st_mode))
    return sorted(out, key=lambda f: f.rel)


def run(root: Path, cancel: CancelToken | None = None) -> ScanResult:
    scanner = ConfigScanner()
    ctx = ScanContext(root=root, cancel=cancel or CancelToken(), deadline=time.monotonic() + 60)
    return scanner.scan(ctx, [f for f in refs(root) if scanner.selects(f)])


def rules_in(result: ScanResult, path: str | None = None) -> list[str]:
    return sorted(f.rule_id for f in result.findings if path is None or f.path == path)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o644)
    return path


def dump(result: ScanResult) -> str:
    return json.dumps([f.model_dump(mode="json") for f in result.findings])


# rule -> (positive files, negative files); each a {rel: text} map. "{T}" is replaced by a fresh
# random value, which must not appear in any finding.
CASES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "config.env-file-not-ignored": (
        {".env": "DEBUG=1\nAPI_URL=https://api.internal\n"},
        {
            ".env": "DEBUG=1\n",
            ".gitignore": ".env\n",
            ".env.example": "DEBUG=1\n",
            "sub/.env.local": "X=1\n",
            "sub/.gitignore": ".env.*\n",
        },
    ),
    "config.private-key-file": (
        {"deploy/id_rsa": pem("RSA PRIVATE KEY"), "certs/server.pem": pem("EC PRIVATE KEY")},
        {"certs/ca.pem": pem("CERTIFICATE"), "keys/id_rsa.pub": "ssh-rsa AAAAB3Nza user@host\n"},
    ),
    "config.docker-root-user": (
        {"Dockerfile": "FROM python:3.12-slim\nUSER app\nRUN make\nUSER root\nCMD run\n"},
        {
            "Dockerfile": "FROM python:3.12-slim AS build\nRUN make\nFROM python:3.12-slim\n"
            "USER 10001:10001\n"
            "CMD run\n"
        },
    ),
    "config.docker-secret-in-env": (
        {"Dockerfile": "FROM python:3.12\nENV DB_PASSWORD={T}\nARG API_TOKEN={T}\nUSER app\n"},
        {"Dockerfile": "FROM python:3.12\nENV DB_PASSWORD_FILE=/run/secrets/db\nARG API_TOKEN\nUSER app\n"},
    ),
    "config.docker-add-url": (
        {"Dockerfile": "FROM python:3.12\nADD https://example.org/tool.tgz /opt/\nUSER app\n"},
        {
            "Dockerfile": "FROM python:3.12\nADD --checksum=sha256:abc https://example.org/t.tgz /opt/\n"
            "ADD app.tgz /opt/\nUSER app\n"
        },
    ),
    "config.docker-unpinned-image": (
        {"Dockerfile": "FROM ubuntu\nUSER app\n", "web/Dockerfile": "FROM node:latest\nUSER node\n"},
        {
            "Dockerfile": "FROM --platform=linux/amd64 python:3.12.4-slim AS base\nFROM base\nUSER app\n",
            "web/Dockerfile": "FROM node@sha256:0123abcd\nUSER node\n",
        },
    ),
    "config.compose-privileged": (
        {"docker-compose.yml": "services:\n  app:\n    image: myapp:1.0\n    privileged: true\n"},
        {"docker-compose.yml": "services:\n  app:\n    image: myapp:1.0\n    privileged: false\n"},
    ),
    "config.compose-host-network": (
        {"compose.yaml": "services:\n  app:\n    image: myapp:1.0\n    network_mode: host\n"},
        {"compose.yaml": "services:\n  app:\n    image: myapp:1.0\n    network_mode: bridge\n"},
    ),
    "config.compose-db-exposed": (
        {
            "docker-compose.yml": 'services:\n  cache:\n    image: redis:7\n    ports:\n      - "6379:6379"\n'
            '  db:\n    image: postgres:16\n    ports:\n      - "0.0.0.0:5432:5432"\n'
            "  mongo:\n    image: mongo:7\n    ports:\n      - target: 27017\n        published: 27017\n"
        },
        {
            "docker-compose.yml": "services:\n  cache:\n    image: redis:7\n    ports:\n"
            '      - "127.0.0.1:6379:6379"\n'
            '  web:\n    image: nginx:1.27\n    ports:\n      - "80:80"\n'
            "  db:\n    image: postgres:16\n"
        },
    ),
    "config.default-password": (
        {
            "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n    environment:\n"
            "      POSTGRES_PASSWORD: changeme\n"
            "  mysql:\n    image: mysql:8\n    environment:\n      - MYSQL_ROOT_PASSWORD=\n",
            "deploy/.env": "ADMIN_PASSWORD=admin\n",
            ".gitignore": ".env\n",
        },
        {
            "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n    environment:\n"
            "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n      POSTGRES_USER: admin\n"
            "  cache:\n    image: redis:7\n    environment:\n      - REDIS_PASSWORD\n",
            ".env.example": "ADMIN_PASSWORD=changeme\n",
            "deploy/.env": "ADMIN_PASSWORD={T}\n",
            ".gitignore": ".env\n",
        },
    ),
    "config.debug-enabled": (
        {
            "proj/settings.py": "DEBUG = True\n",
            "web/app.py": "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n",
        },
        {
            "proj/settings.py": "import os\nDEBUG = os.environ.get('DEBUG') == '1'\n",
            "tests/settings.py": "DEBUG = True\n",
            "run.py": "suite.run(result, debug=True)\n",
        },
    ),
    "config.hardcoded-secret-key": (
        {
            "proj/settings.py": "SECRET_KEY = '{T}'\n",
            "web/app.py": "import os\napp.config['SECRET_KEY'] = os.environ.get('SECRET_KEY', '{T}')\n",
        },
        {
            "proj/settings.py": "import os\nSECRET_KEY = os.environ['SECRET_KEY']\n",
            "web/app.py": "import os\napp.secret_key = os.getenv('FLASK_SECRET')\n",
        },
    ),
    "config.allowed-hosts-wildcard": (
        {"proj/settings.py": "ALLOWED_HOSTS = ['*']\n"},
        {"proj/settings.py": "ALLOWED_HOSTS = ['example.org', '.example.org']\n"},
    ),
    "config.cors-any-origin-credentials": (
        {
            "proj/settings.py": "CORS_ALLOW_ALL_ORIGINS = True\nCORS_ALLOW_CREDENTIALS = True\n",
            "web/app.py": "from flask_cors import CORS\nCORS(app, supports_credentials=True)\n",
            "api/app.py": "from flask_cors import CORS\nCORS(app, origins='*', supports_credentials=True)\n",
        },
        {
            "proj/settings.py": "CORS_ORIGIN_ALLOW_ALL = True\nCORS_ALLOW_CREDENTIALS = False\n",
            "web/app.py": "from flask_cors import CORS\nCORS(app, origins=['https://a.example'], "
            "supports_credentials=True)\n",
            "api/app.py": "from flask_cors import CORS\nCORS(app)\n",
        },
    ),
}


def materialise(root: Path, files: dict[str, str]) -> list[str]:
    secrets: list[str] = []
    for rel, text in files.items():
        while "{T}" in text:
            value = token()
            secrets.append(value)
            text = text.replace("{T}", value, 1)
        write(root, rel, text)
    return secrets


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_positive(tmp_path: Path, rule: str) -> None:
    positive, _ = CASES[rule]
    secrets = materialise(tmp_path, positive)
    result = run(tmp_path)
    hits = [f for f in result.findings if f.rule_id == rule]
    assert hits, rules_in(result)
    for finding in hits:
        assert finding.scanner == "config" and finding.cwe == [RULES[rule].cwe]
        assert RULES[rule].fix in finding.message
    out = dump(result)
    assert all(secret not in out for secret in secrets)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_negative(tmp_path: Path, rule: str) -> None:
    _, negative = CASES[rule]
    materialise(tmp_path, negative)
    result = run(tmp_path)
    assert rule not in rules_in(result), [(f.path, f.message) for f in result.findings if f.rule_id == rule]


def test_counts_per_positive_fixture(tmp_path: Path) -> None:
    materialise(tmp_path, CASES["config.compose-db-exposed"][0])
    assert rules_in(run(tmp_path)).count("config.compose-db-exposed") == 3
    materialise(tmp_path, CASES["config.docker-secret-in-env"][0])
    assert rules_in(run(tmp_path), "Dockerfile").count("config.docker-secret-in-env") == 2


def test_dockerfile_without_user_runs_as_root(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", "FROM python:3.12\nRUN pip install x\n")
    finding = next(f for f in run(tmp_path).findings if f.rule_id == "config.docker-root-user")
    assert "no USER" in finding.message
    write(tmp_path, "Dockerfile", "FROM python:3.12\nUSER 0\n")
    assert "config.docker-root-user" in rules_in(run(tmp_path))


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_env_file_tracked_by_git_is_committed_even_if_ignored(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", ".env\n")
    write(tmp_path, ".env", "X=1\n")
    write(tmp_path, "other/.env", "Y=1\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True, timeout=30)
    subprocess.run([*git, "add", "-f", ".env"], cwd=tmp_path, check=True, timeout=30)
    result = run(tmp_path)
    assert rules_in(result, ".env") == ["config.env-file-committed"]
    assert rules_in(result, "other/.env") == []  # ignored by the root .gitignore, untracked


def test_world_writable(tmp_path: Path) -> None:
    path = write(tmp_path, "scripts/deploy.sh", "echo hi\n")
    write(tmp_path, "scripts/ok.sh", "echo hi\n")
    path.chmod(0o666)
    result = run(tmp_path)
    assert rules_in(result) == ["config.world-writable"]
    assert result.findings[0].path == "scripts/deploy.sh"


def test_malformed_files_are_skips_with_reasons(tmp_path: Path) -> None:
    write(tmp_path, "docker-compose.yml", "services: [unclosed\n")
    write(tmp_path, "proj/settings.py", "DEBUG = (\n")
    write(tmp_path, "deep/settings.py", "SECRET_KEY = " + "(" * 10000 + "1" + ")" * 10000 + "\n")
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "compose.yaml").write_bytes(b"a: b\n" * 300_000)
    result = run(tmp_path)
    reasons = {s.path: s.reason for s in result.skipped}
    assert reasons["docker-compose.yml"].startswith("not valid YAML")
    assert reasons["proj/settings.py"].startswith("not valid Python")
    assert "deep/settings.py" in reasons
    assert reasons["big/compose.yaml"].startswith("larger than")
    assert result.findings == []


def test_yaml_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write(
        tmp_path,
        "compose.yaml",
        f"services: !!python/object/apply:os.system ['touch {marker}']\n"
        "x: !!python/object/apply:os.system ['touch {marker}']\n",
    )
    result = run(tmp_path)
    assert not marker.exists()
    assert result.scanned == ["compose.yaml"] and result.findings == []


def test_fingerprint_survives_inserted_lines(tmp_path: Path) -> None:
    write(tmp_path, "proj/settings.py", "ALLOWED_HOSTS = ['*']\n")
    first = run(tmp_path).findings[0]
    write(tmp_path, "proj/settings.py", "import os\n\n\nALLOWED_HOSTS = ['*']\n")
    moved = run(tmp_path).findings[0]
    assert moved.start_line == 4 and moved.fingerprint == first.fingerprint


def test_cancelled_scan_is_not_clean(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", "FROM ubuntu\n")
    token_ = CancelToken()
    token_.cancel()
    result = run(tmp_path, cancel=token_)
    assert result.findings == [] and [s.reason for s in result.skipped] == ["cancelled"]
    assert result.complete is False


def test_every_rule_is_documented() -> None:
    docs = (REPO_ROOT / "docs" / "rules.md").read_text()
    for rule_id in RULES:
        assert f"`{rule_id}`" in docs, rule_id
    assert get_scanner("config").name == "config"


def test_same_rule_twice_in_a_file_gets_two_fingerprints(tmp_path: Path) -> None:
    write(tmp_path, "proj/config.py", "class Dev:\n    DEBUG = True\n\n\nclass Stage:\n    DEBUG = True\n")
    findings = [f for f in run(tmp_path).findings if f.rule_id == "config.debug-enabled"]
    assert [f.start_line for f in findings] == [2, 6]
    assert len({f.fingerprint for f in findings}) == 2


# -- issue 11 item 13 --------------------------------------------------------------------------------


def test_item13_env_patch_is_not_an_env_file(tmp_path: Path) -> None:
    # A `.env.patch` is a diff (and `.env.md` a document): neither is a committed env file, nor are
    # its `+KEY=value` lines settings. A backup such as `.env.bak` still is one.
    write(
        tmp_path,
        ".env.patch",
        "--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-DB_PASSWORD=admin\n+DB_PASSWORD=${DB_PASSWORD}\n",
    )
    write(tmp_path, ".env.md", "Set `ADMIN_PASSWORD=admin` in your .env\n")
    write(tmp_path, ".env.bak", "ADMIN_PASSWORD=admin\n")
    result = run(tmp_path)
    assert {f.path for f in result.findings} == {".env.bak"}
    assert rules_in(result, ".env.bak") == ["config.default-password", "config.env-file-not-ignored"]


def test_item13_commented_out_lines_are_not_settings(tmp_path: Path) -> None:
    write(
        tmp_path,
        ".env",
        "# DB_PASSWORD=admin\n; MYSQL_PASSWORD=root\n// REDIS_PASSWORD=secret\n"
        "-- PG_PASSWORD=postgres\nADMIN_PASSWORD=admin\n",
    )
    write(tmp_path, ".gitignore", ".env\n")
    write(
        tmp_path,
        "docker-compose.yml",
        "services:\n  db:\n    image: postgres:16\n    environment:\n"
        '      - "#POSTGRES_PASSWORD=postgres"\n      #- MYSQL_PASSWORD=root\n      - POSTGRES_USER=app\n',
    )
    result = run(tmp_path)
    hits = [(f.path, f.start_line) for f in result.findings if f.rule_id == "config.default-password"]
    assert hits == [(".env", 5)]


FALLBACK_POSITIVE = """\
import os
import environ
from decouple import config

env = environ.Env()
ALLOWED_HOSTS = os.getenv("DJANGO_ALLOWED_HOSTS", "*").split(",")
DEBUG = os.getenv("DJANGO_DEBUG", "True") == "True"
CORS_ALLOW_ALL_ORIGINS = env.bool("CORS_ALLOW_ALL", default=True)
DEBUG = config("DEBUG", default=True, cast=bool)
ALLOWED_HOSTS = os.environ.get("HOSTS", "localhost,*").split(",")
DEBUG = os.getenv("DEBUG") or "1"
app.run(debug=os.getenv("FLASK_DEBUG", "1") == "1")
"""
FALLBACK_NEGATIVE = """\
import os
from decouple import config

ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split(",")
DEBUG = os.getenv("DEBUG", "False") == "True"
DEBUG = config("DEBUG", default=False, cast=bool)
ALLOWED_HOSTS = os.getenv("HOSTS", "example.org").split(",")
DEBUG = os.environ.get("DEBUG") == "1"
DEBUG = bool(int(os.getenv("DEBUG", "0")))
DEBUG = os.getenv("DEBUG", "false").lower() in ("true", "1")
DEBUG = env("DEBUG")
CORS_ALLOW_ALL_ORIGINS = os.getenv("CORS_ALL", "") == "1"
app.run(debug=os.getenv("FLASK_DEBUG") == "1")
"""


def test_item13_insecure_env_fallbacks_in_code_are_findings(tmp_path: Path) -> None:
    write(tmp_path, "proj/settings.py", FALLBACK_POSITIVE)
    write(tmp_path, "proj/safe.py", FALLBACK_NEGATIVE)
    result = run(tmp_path)
    fallbacks = [f for f in result.findings if f.rule_id == "config.insecure-env-fallback"]
    assert sorted(f.start_line for f in fallbacks) == [6, 7, 8, 9, 10, 11, 12]
    assert {f.path for f in fallbacks} == {"proj/settings.py"}
    first = next(f for f in fallbacks if f.start_line == 6)
    assert "ALLOWED_HOSTS allows every host ('*') when its environment variable is unset" in first.message
    assert RULES["config.insecure-env-fallback"].fix in first.message and first.cwe == [1188]
    assert len({f.fingerprint for f in fallbacks}) == len(fallbacks)
    assert [f.rule_id for f in result.findings if f.path == "proj/safe.py"] == []


def test_item13_weak_default_passwords_in_compose_and_env_files(tmp_path: Path) -> None:
    strong = token(20)
    write(
        tmp_path,
        "docker-compose.yml",
        "services:\n"
        "  keycloak:\n    image: quay.io/keycloak/keycloak:25.0\n    environment:\n"
        "      KEYCLOAK_ADMIN_PASSWORD: changeit\n"
        "  queue:\n    image: rabbitmq:3.13\n    environment:\n"
        "      RABBITMQ_DEFAULT_PASS: supersecret\n"
        "  grafana:\n    image: grafana/grafana:11.0.0\n    environment:\n"
        "      - GF_SECURITY_ADMIN_PASSWORD=grafana\n"
        "  db:\n    image: postgres:16\n    environment:\n"
        "      POSTGRES_USER: shop\n      POSTGRES_PASSWORD: shop\n"
        f"  ok:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: {strong}\n",
    )
    write(
        tmp_path,
        ".env",
        f"MINIO_ROOT_PASSWORD=minioadmin\nRABBITMQ_PASSWORD=rabbitmq\nAPI_PASSWORD={strong}\n",
    )
    result = run(tmp_path)
    hits = sorted((f.path, f.start_line) for f in result.findings if f.rule_id == "config.default-password")
    assert hits == [
        (".env", 1),
        (".env", 2),
        ("docker-compose.yml", 5),
        ("docker-compose.yml", 9),
        ("docker-compose.yml", 13),
        ("docker-compose.yml", 18),
    ]
    messages = " ".join(f.message for f in result.findings)
    assert "the name of the service it protects" in messages
    assert strong not in dump(result) and "supersecret" not in dump(result) and "changeit" not in dump(result)
