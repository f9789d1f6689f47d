"""Commands that only read do not write: real `secaudit` processes on real store files.

On a fresh machine they answer "nothing yet" and create nothing (no store, no folder, no key);
on an existing store they leave the file's bytes and mtime as they were. A store set up by an
older version is brought up to date once, by whichever command reads it first.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from secaudit.tools.tasks.service import MIGRATIONS as TASK_MIGRATIONS
from tests.support.cli import secaudit

pytestmark = pytest.mark.slow

READERS = [
    ["tasks", "list", "--json"],
    ["tasks", "show", "1"],
    ["findings", "list", "--json"],
    ["findings", "runs", "--json"],
    ["db", "status", "--json"],
    ["events", "--json"],
]


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return secaudit(settings, *args, timeout=120)


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def test_on_a_fresh_machine_reads_answer_empty_and_create_nothing(settings: Settings) -> None:
    folder = settings.store_path.parent
    assert not folder.exists()
    assert json.loads(run(settings, "tasks", "list", "--json").stdout) == {"items": [], "next_cursor": None}
    missing = run(settings, "tasks", "show", "1")
    assert missing.returncode == 2 and "not_found" in missing.stderr
    assert json.loads(run(settings, "findings", "list", "--json").stdout)["items"] == []
    assert json.loads(run(settings, "findings", "runs", "--json").stdout)["runs"] == []
    assert json.loads(run(settings, "db", "status", "--json").stdout)["empty"] is True
    assert json.loads(run(settings, "events", "--json").stdout) == []
    assert not folder.exists()


def test_tasks_list_leaves_the_store_file_unchanged(settings: Settings) -> None:
    added = run(settings, "tasks", "add", "read me", "--json")
    assert added.returncode == 0, added.stderr
    before = _fingerprint(settings.store_path)
    listed = run(settings, "tasks", "list", "--json")
    assert [t["prompt"] for t in json.loads(listed.stdout)["items"]] == ["read me"]
    assert _fingerprint(settings.store_path) == before


def test_every_read_leaves_a_full_store_unchanged(settings: Settings) -> None:
    # A store every component has set up (the audit migrates them all), with a task in it.
    audited = run(settings, "audit", str(settings.allowed_roots[0]), "--scanners", "config", "--json")
    assert audited.returncode in (0, 1), audited.stderr
    assert run(settings, "tasks", "add", "one").returncode == 0
    before = _fingerprint(settings.store_path)
    for argv in [*READERS, ["findings", "run", "1"], ["fix", "list"]]:
        proc = run(settings, *argv)
        assert proc.returncode in (0, 2) and "Traceback" not in proc.stderr, (argv, proc.stderr)
        assert _fingerprint(settings.store_path) == before, argv


def test_a_read_of_tables_nobody_set_up_yet_writes_nothing(settings: Settings) -> None:
    # `tasks add` sets up only the tasks tables: the findings and the advisory database are absent.
    assert run(settings, "tasks", "add", "only tasks here").returncode == 0
    before = _fingerprint(settings.store_path)
    assert json.loads(run(settings, "findings", "list", "--json").stdout)["items"] == []
    assert json.loads(run(settings, "db", "status", "--json").stdout)["empty"] is True
    assert _fingerprint(settings.store_path) == before


def test_a_store_left_behind_by_an_older_version_is_migrated_by_the_first_read(settings: Settings) -> None:
    assert run(settings, "tasks", "add", "from before the upgrade").returncode == 0
    with sqlite3.connect(settings.store_path) as conn:
        conn.execute("DELETE FROM secaudit_migrations WHERE component = 'tasks' AND version = 2")
    listed = run(settings, "tasks", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [t["prompt"] for t in json.loads(listed.stdout)["items"]] == ["from before the upgrade"]
    with sqlite3.connect(settings.store_path) as conn:
        versions = conn.execute(
            "SELECT version FROM secaudit_migrations WHERE component = 'tasks'"
        ).fetchall()
    assert sorted(v for (v,) in versions) == sorted(m.version for m in TASK_MIGRATIONS)  # all of them
