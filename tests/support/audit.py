"""Fixtures and builders shared by the audit, findings and SARIF tests (kept out of conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from secaudit.server.app import build_server
from secaudit.server.context import AppContext, build_context
from secaudit.server.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_APP = REPO_ROOT / "examples" / "vulnerable-app"

# Patterns for the parity fixture: every one trips at least one bandit check; several on purpose
# share a line, sit on multi-line calls, or carry a `# nosec` (blanket and per-test).
PATTERNS = """\
import hashlib
import os
import pickle
import random
import subprocess
import tempfile
import telnetlib
import xml.etree.ElementTree as ET
from urllib.request import urlopen

import requests
import yaml

PASSWORD = "hunter2"
token = "s3cr3t-t0k3n"


def run(cmd, user_input):
    subprocess.call(cmd, shell=True)
    subprocess.Popen(
        "ls " + user_input,
        shell=True,
    )
    os.system("echo " + user_input)
    os.popen(user_input)
    eval(user_input)
    exec(user_input)
    return pickle.loads(user_input)


def more(data, name):
    yaml.load(data)
    hashlib.md5(data)
    hashlib.sha1(data).hexdigest()
    requests.get("https://example.invalid", verify=False)
    tempfile.mktemp()
    ET.fromstring(data)
    urlopen(name)
    random.random()
    query = "SELECT * FROM t WHERE name = '%s'" % name
    assert data
    try:
        pass
    except Exception:
        pass
    os.chmod("/tmp/x", 0o777)
    eval(name)  # nosec
    eval(data)  # nosec B307
    exec(data)  # nosec B307
    return query


def connect(password="default-password"):
    return password
"""


def make_vulnerable_tree(root: Path) -> Path:
    """A small repository with many vulnerable patterns, in several files and folders."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE_APP, root / "app", dirs_exist_ok=True)
    (root / "pkg").mkdir(exist_ok=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "patterns.py").write_text(PATTERNS)
    (root / "pkg" / "twice.py").write_text(PATTERNS.replace("def run(", "def run2("))
    # The repository's own bandit configuration tries to switch checks off: it must not win.
    (root / ".bandit").write_text("[bandit]\nskips = B101,B602,B307\n")
    (root / "pyproject.toml").write_text('[tool.bandit]\nskips = ["B101", "B602", "B307"]\n')
    (root / "setup.cfg").write_text("[bandit]\nskips = B101,B602\n")
    return root


def bandit_reference(root: Path, *, ignore_nosec: bool) -> Counter[tuple[str, str, int]]:
    """bandit's own JSON output over `root`: (path, rule, line) with multiplicity.

    Run with an explicit empty config file so bandit, like us, ignores the repository's config.
    """
    empty = root.parent / "empty-bandit.yaml"
    empty.write_text("{}\n")
    ini = root.parent / "empty-bandit.ini"
    ini.write_text("[bandit]\n")
    argv = [
        sys.executable,
        "-m",
        "bandit",
        "-r",
        ".",
        "-f",
        "json",
        "-q",
        "-c",
        str(empty),
        "--ini",
        str(ini),
    ]
    if ignore_nosec:
        argv.append("--ignore-nosec")
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300, check=False)
    data = json.loads(proc.stdout)
    return Counter(
        (os.path.normpath(r["filename"]).replace(os.sep, "/"), r["test_id"], int(r["line_number"]))
        for r in data["results"]
    )


def make_settings(tmp_path: Path, root: Path, **extra: Any) -> Settings:
    return load_settings(
        environ={},
        store_path=tmp_path / "store" / "secaudit.db",
        allowed_roots=(root,),
        log_level="WARNING",
        **extra,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def audit_root(tmp_path: Path) -> Path:
    return make_vulnerable_tree(tmp_path / "repo")


@pytest.fixture
def audit_settings(tmp_path: Path, audit_root: Path) -> Settings:
    return make_settings(tmp_path, audit_root)


@pytest.fixture
def audit_app(audit_settings: Settings) -> Iterator[AppContext]:
    ctx = build_context(audit_settings)
    yield ctx
    ctx.close()


@pytest.fixture
async def audit_client(audit_settings: Settings, audit_app: AppContext) -> AsyncIterator[Client]:
    server = build_server(audit_settings, context=audit_app)
    async with Client(server) as c:
        yield c


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
    env["SECAUDIT_STORE"] = str(settings.store_path)
    env["SECAUDIT_ALLOWED_ROOTS"] = os.pathsep.join(str(r) for r in settings.allowed_roots)
    return env
