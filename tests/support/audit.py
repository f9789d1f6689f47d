"""Builders for the audit, findings and SARIF tests: a vulnerable tree, bandit's own answer, settings.

The fixtures built on these (`audit_root`, `audit_settings`, `audit_app`, `audit_client`) are in
tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from secaudit.server.settings import Settings, load_settings
from tests.support import REPO_ROOT

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


# An npm-only repository and a PyPI-only advisory record (issue 11 item 6: a database without
# advisories for an ecosystem checks nothing of it).
NPM_ONLY_LOCK = {
    "lockfileVersion": 3,
    "packages": {
        "": {"dependencies": {"lodash": "^4.17.20", "express": "4.17.1"}},
        "node_modules/lodash": {"version": "4.17.20"},
        "node_modules/express": {"version": "4.17.1"},
    },
}
PYPI_ONLY_OSV = {
    "id": "PYSEC-TEST-PYONLY",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }
    ],
}


def npm_repo_pypi_db(tmp_path: Path) -> tuple[Path, Settings]:
    """An npm-only repository under `tmp_path/repo` and settings whose store holds a PyPI-only
    advisory database."""
    from secaudit.tools.advisories import AdvisoryDB
    from secaudit.tools.schema import STORE_MIGRATIONS
    from secaudit.tools.store import Store

    root = tmp_path / "repo"
    root.mkdir()
    (root / "package-lock.json").write_text(json.dumps(NPM_ONLY_LOCK))
    settings = make_settings(tmp_path, root)
    osv = tmp_path / "osv-pypi-only"
    osv.mkdir()
    (osv / "a.json").write_text(json.dumps(PYPI_ONLY_OSV))
    store = Store(settings.store_path)
    try:
        store.migrate(STORE_MIGRATIONS)
        assert AdvisoryDB(store).import_path(osv).records == 1
    finally:
        store.close()
    return root, settings


def make_deep_tree(root: Path, code: bytes = b"eval(input())\n") -> tuple[str, str, str]:
    """Folders nested under `root` past the OS's PATH_MAX, built through folder fds (the kernel takes
    no path that long). One folder's path is PATH_MAX - 6 characters: the folder itself can be
    examined, a `pyvenv.cfg` probe inside it cannot, and a file `a.py` in it just fits; a file
    `deep.py` sits one folder deeper, out of reach of any path.

    Returns the relative paths of (that folder, `a.py` in it, `deep.py`)."""
    path_max = os.pathconf(root, "PC_PATH_MAX")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    parts: list[str] = []
    length = len(str(root))

    def down(name: str) -> None:
        nonlocal fd, length
        os.mkdir(name, dir_fd=fd)
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
        parts.append(name)
        length += 1 + len(name)

    def put(name: str) -> None:
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        os.write(out, code)
        os.close(out)

    try:
        while length + 201 < path_max - 6 - 10:
            down("d" * 200)
        down("e" * (path_max - 6 - length - 1))
        assert length == path_max - 6
        edge = "/".join(parts)
        put("a.py")
        down("f" * 200)
        put("deep.py")
    finally:
        os.close(fd)
    return edge, f"{edge}/a.py", "/".join(parts) + "/deep.py"
