"""Issue 11, item 14: what the CLI prints for a human cannot steer the terminal.

File names, finding text, task prompts, advisory sources and event rows reach the terminal with
control characters, bidi overrides and newlines shown as escapes, and rich markup printed literally.
Each command runs as a real subprocess on a real store.
"""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path

import pytest

from secaudit.server.cli.terminal import for_terminal
from secaudit.server.settings import Settings
from tests.support.cli import secaudit
from tests.support.fixes import OSV_RECORDS

# Clears the screen, reverses what follows, splits the row, would be rich markup and an emoji code.
HOSTILE = "ev\x1b[2Jil\u202e[bold]x[red]\nz :smile:"
SHOWN = "ev\\x1b[2Jil\\u202e[bold]x[red]\\nz :smile:"


def assert_inert(text: str) -> None:
    """No character that steers a terminal: only printable text and line ends."""
    bad = [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")
    ]
    assert not bad, bad


def test_item14_for_terminal_escapes_controls_bidi_and_newlines() -> None:
    assert for_terminal(HOSTILE) == SHOWN
    assert for_terminal("a\rb\tc\x9b\x7f\u2028\u2066\u200b\ufeff\udcff") == (
        "a\\rb\\tc\\x9b\\x7f\\u2028\\u2066\\u200b\\ufeff\\udcff"
    )
    # Multi-line text (a message, a snippet, a diff) keeps its lines and tabs, nothing else.
    assert for_terminal("one\n\tx = 1\x1b[31m\r\ntwo", lines=True) == "one\n\tx = 1\\x1b[31m\\r\ntwo"
    assert for_terminal("plain text, ünïcode, 漢字, emoji 🔒") == "plain text, ünïcode, 漢字, emoji 🔒"
    assert for_terminal(12) == "12"


@pytest.mark.slow
def test_item14_audit_and_findings_output_escape_hostile_file_names(
    settings: Settings, workspace: Path
) -> None:
    name = HOSTILE + ".py"
    repo = workspace / "[bold]repo :smile:"  # rich would read markup and an emoji code here
    repo.mkdir()
    (repo / name).write_bytes(b"import subprocess\n\nsubprocess.call(cmd, shell=True)\n")

    audited = secaudit(settings, "audit", str(repo), "--scanners", "bandit")
    assert audited.returncode == 1, audited.stderr
    listed = secaudit(settings, "findings", "list", "--rule", "B602")
    fid = json.loads(secaudit(settings, "findings", "list", "--json", "--rule", "B602").stdout)["items"][0][
        "id"
    ]
    shown = secaudit(settings, "findings", "show", fid)
    run = secaudit(settings, "findings", "run", "1")
    for proc in (audited, listed, shown, run):
        assert proc.returncode in (0, 1), proc.stderr
        assert_inert(proc.stdout)
        assert_inert(proc.stderr)

    assert f"Run 1 [succeeded] {repo}: 1 files walked" in audited.stdout
    assert f"Run 1 [succeeded] {repo}: 1 files walked" in run.stdout
    # One finding, one row: the newline in the name no longer splits it, markup prints literally.
    rows = [line for line in audited.stdout.splitlines() if "B602" in line]
    assert len(rows) == 1 and f"{SHOWN}.py:3" in rows[0], audited.stdout
    rows = [line for line in listed.stdout.splitlines() if "B602" in line]
    assert len(rows) == 1 and f"{SHOWN}.py:3" in rows[0], listed.stdout
    assert f"at {SHOWN}.py:3" in shown.stdout.splitlines()[0]
    # The exact name is still there for programs: --json keeps it.
    exact = json.loads(secaudit(settings, "findings", "show", fid, "--json").stdout)
    assert exact["path"] == name


@pytest.mark.slow
def test_item14_tasks_output_escapes_prompts(settings: Settings) -> None:
    prompt = f"{HOSTILE}\nsecond line \x1b]0;title\x07 [bold]"
    added = secaudit(settings, "tasks", "add", prompt)
    listed = secaudit(settings, "tasks", "list")
    shown = secaudit(settings, "tasks", "show", "1")
    for proc in (added, listed, shown):
        assert proc.returncode == 0, proc.stderr
        assert_inert(proc.stdout)
    first = SHOWN.split("\\n")[0]  # a listing shows the first line of a prompt
    assert listed.stdout == f"#1      ready      order=0      {first}\n"
    # `show` keeps the prompt's own lines (indented), each escaped.
    assert f"\n  {first}\n  z :smile:\n" in shown.stdout
    assert "second line \\x1b]0;title\\x07 [bold]" in shown.stdout
    assert json.loads(secaudit(settings, "tasks", "show", "1", "--json").stdout)["prompt"] == prompt


@pytest.mark.slow
def test_item14_fix_plan_and_list_escape_file_names(settings: Settings, workspace: Path) -> None:
    name = HOSTILE + ".py"
    (workspace / name).write_bytes(b"import yaml\n\n\ndef read(s):\n    return yaml.load(s)\n")
    assert secaudit(settings, "audit", str(workspace), "--scanners", "bandit").returncode == 1
    found = json.loads(secaudit(settings, "findings", "list", "--json", "--rule", "B506").stdout)
    fid = found["items"][0]["id"]

    plan = secaudit(settings, "fix", "plan", fid)
    assert plan.returncode == 0, plan.stderr
    assert_inert(plan.stdout)
    assert f"change {SHOWN}.py" in plan.stdout
    assert "yaml.safe_load(s)" in plan.stdout  # the diff itself is still a diff

    applied = secaudit(settings, "fix", "apply", fid, "--write")
    assert applied.returncode == 0, applied.stderr
    assert_inert(applied.stdout)
    listed = secaudit(settings, "fix", "list")
    assert listed.returncode == 0, listed.stderr
    assert_inert(listed.stdout)
    assert len(listed.stdout.splitlines()) == 1


@pytest.mark.slow
def test_item14_db_status_and_events_escape_untrusted_text(settings: Settings, workspace: Path) -> None:
    folder = workspace / HOSTILE
    folder.mkdir()
    (folder / "rec.json").write_text(json.dumps(OSV_RECORDS[0]))
    imported = secaudit(settings, "db", "import", str(folder))
    status = secaudit(settings, "db", "status")
    for proc in (imported, status):
        assert proc.returncode == 0, proc.stderr
        assert_inert(proc.stdout)
    assert SHOWN in status.stdout

    # A row another program (or an older version) wrote without cleaning it.
    with sqlite3.connect(settings.store_path) as conn:
        conn.execute(
            "INSERT INTO security_events (at, kind, identity, transport, detail) VALUES (?, ?, ?, ?, ?)",
            ("2030-01-01T00:00:00.000000Z", "tool_call", HOSTILE, "http", HOSTILE),
        )
    events = secaudit(settings, "events")
    assert events.returncode == 0, events.stderr
    assert_inert(events.stdout)
    row = [line for line in events.stdout.splitlines() if "2030-01-01" in line]
    assert len(row) == 1 and f"detail={SHOWN}" in row[0], events.stdout


@pytest.mark.slow
def test_item14_error_lines_escape_what_they_quote(settings: Settings, workspace: Path) -> None:
    missing = workspace / HOSTILE
    proc = secaudit(settings, "audit", str(missing))
    assert proc.returncode == 2
    assert_inert(proc.stderr)
    assert SHOWN in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ("tasks", "list", "--limit", "{token}"),
        ("findings", "list", "--min-severity", "{token}"),
        ("tasks", "list", "{token}"),
        ("{token}",),
    ],
)
def test_item16_cli_argument_errors_mask_secret_values(settings: Settings, args: tuple[str, ...]) -> None:
    token = "ghp_" + "Zq3" * 12
    proc = secaudit(settings, *(a.format(token=token) for a in args))
    assert proc.returncode == 2
    assert token not in proc.stderr and token[:12] not in proc.stderr
    assert "[MASKED:github_token]" in proc.stderr.splitlines()[-1], proc.stderr
    assert "Traceback" not in proc.stderr
