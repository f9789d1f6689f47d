"""The agent hooks end to end: `secaudit hooks install` into a temporary project, then the exact
commands it wrote run with the JSON Claude Code and Cursor send (HOME and the store in tmp)."""

from __future__ import annotations

import json
import random
import string
import subprocess
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from tests.support.fixes import import_osv
from tests.support.hooks import HookBench, git_commit

AWS_KEY = "AKIA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))


@pytest.fixture
def bench(tmp_path: Path) -> HookBench:
    repo = tmp_path.resolve() / "repo"
    home = tmp_path.resolve() / "home"
    repo.mkdir()
    home.mkdir()
    (repo / "app.py").write_text("def handler():\n    return 1\n")
    (repo / "legacy.py").write_text("def old():\n    return eval(input())\n")
    git_commit(repo)
    return HookBench(repo, home, tmp_path.resolve() / "store" / "secaudit.db")


def _claude_edit(bench: HookBench, session: str, rel: str, content: str) -> None:
    pre = bench.run_hook("claude", "PreToolUse", bench.claude("PreToolUse", session, rel))
    assert pre.returncode == 0, pre.stderr
    (bench.repo / rel).write_text(content)
    post = bench.run_hook("claude", "PostToolUse", bench.claude("PostToolUse", session, rel))
    assert post.returncode == 0, post.stderr


def _stop(bench: HookBench, session: str, active: bool = False) -> dict[str, object]:
    proc = bench.run_hook("claude", "Stop", bench.claude("Stop", session, stop_hook_active=active))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_claude_stop_blocks_on_what_the_session_introduced_until_it_is_fixed(bench: HookBench) -> None:
    bench.install("claude")
    _claude_edit(bench, "s-eval", "app.py", "def handler():\n    return eval(input())\n")
    out = _stop(bench, "s-eval")
    assert out["decision"] == "block"
    reason = str(out["reason"])
    assert "app.py:2" in reason and "bandit/B307" in reason and "findings triage" in reason
    assert "legacy.py" not in reason  # the same problem, there before the session: never blocks
    # Fixed in the code (by any means: the stop re-checks the files), the block is released.
    (bench.repo / "app.py").write_text("def handler():\n    return int(input())\n")
    assert "decision" not in _stop(bench, "s-eval", active=True)


def test_a_hardcoded_key_in_a_new_file_blocks_and_triage_releases_it(bench: HookBench) -> None:
    bench.install("claude")
    _claude_edit(bench, "s-key", "settings_local.py", f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n')
    out = _stop(bench, "s-key")
    assert out["decision"] == "block"
    assert "settings_local.py:1" in str(out["reason"]) and AWS_KEY not in str(out["reason"])
    finding_id = str(out["reason"]).split("(id ")[1].split(")")[0]
    triage = bench.secaudit(
        "findings", "triage", finding_id, "--status", "accepted_risk", "--reason", "test fixture"
    )
    assert triage.returncode == 0, triage.stderr
    assert "decision" not in _stop(bench, "s-key", active=True)


def test_a_file_the_session_created_and_removed_again_does_not_block(bench: HookBench) -> None:
    bench.install("claude")
    _claude_edit(bench, "s-gone", "scratch.py", f'KEY = "{AWS_KEY}"\n')
    (bench.repo / "scratch.py").unlink()
    assert _stop(bench, "s-gone") == {}


def test_pre_existing_findings_never_block(bench: HookBench) -> None:
    bench.install("claude")
    # Uncommitted work from before the session: the PreToolUse snapshot sees it.
    (bench.repo / "app.py").write_text("def handler():\n    return eval(input())\n")
    _claude_edit(bench, "s-pre", "app.py", "def handler():\n    return eval(input())\n\n\nX = 2\n")
    _claude_edit(bench, "s-pre", "legacy.py", "def old():\n    x = 1\n    return eval(input())\n")
    assert _stop(bench, "s-pre") == {}


def test_the_block_count_is_bounded_and_an_unchanged_repeat_is_not_blocked(bench: HookBench) -> None:
    bench.install("claude", "--max-blocks", "2")
    _claude_edit(bench, "s-n", "app.py", "def handler():\n    return eval(input())\n")
    assert _stop(bench, "s-n")["decision"] == "block"
    # stop_hook_active with the very same findings: the agent saw them; no loop.
    assert "decision" not in _stop(bench, "s-n", active=True)
    assert _stop(bench, "s-n")["decision"] == "block"  # a new turn: blocked again (2 of 2)
    out = _stop(bench, "s-n")
    assert "decision" not in out and "already blocked" in str(out.get("systemMessage"))


def test_install_is_idempotent_keeps_the_users_hooks_and_uninstall_restores(bench: HookBench) -> None:
    mine = {
        "permissions": {"allow": ["Bash(npm test)"]},
        "hooks": {
            "PostToolUse": [
                {"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --write ."}]}
            ],
            "Notification": [{"hooks": [{"type": "command", "command": "notify-send hi"}]}],
        },
        "model": "opus",
    }
    path = bench.repo / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(json.dumps(mine, indent=4) + "\n")
    bench.install("claude")
    first = path.read_text()
    again = bench.install("claude")
    assert path.read_text() == first and "already installed" in again.stdout
    merged = json.loads(first)
    assert merged["permissions"] == mine["permissions"] and merged["model"] == "opus"
    assert merged["hooks"]["PostToolUse"][0] == mine["hooks"]["PostToolUse"][0]
    assert len(merged["hooks"]["PostToolUse"]) == 2 and "Stop" in merged["hooks"]
    assert first.startswith('{\n    "')  # the file's own indentation is kept
    status = bench.secaudit("hooks", "status", "--client", "claude", "--json")
    rows = json.loads(status.stdout)
    # The project file, the project's personal file (settings.local.json), the user's file.
    assert [(r["scope"], len(r["entries"])) for r in rows] == [
        ("project", 3),
        ("project-local", 0),
        ("user", 0),
    ]
    proc = bench.secaudit("hooks", "uninstall", "--client", "claude")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(path.read_text()) == mine


def test_uninstall_removes_a_file_that_held_only_our_hooks(bench: HookBench) -> None:
    bench.install("cursor", "--user")
    assert (bench.home / ".cursor" / "hooks.json").is_file()
    assert not (bench.repo / ".cursor").exists()
    assert bench.secaudit("hooks", "uninstall", "--client", "cursor", "--user").returncode == 0
    assert not (bench.home / ".cursor" / "hooks.json").exists()


@pytest.mark.parametrize(
    ("stdin", "needle"),
    [
        (b"not json", "not a UTF-8 JSON document"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"session_id": 5, "cwd": "/x"}', "session_id"),
        (b'{"session_id": "s", "cwd": "/x", "tool_input": {"file_path": 3}}', "tool_input.file_path"),
        (b"{" + b" " * (1024 * 1024 + 10) + b"}", "larger than"),
        # Deeper than the parser can recurse: bad input (exit 1), not an internal error (exit 2,
        # which Claude Code would treat as blocking).
        (b"[" * 200_000, "nested deeper than"),
        (
            b'{"session_id": "s", "cwd": "/x", "tool_input": ' + b'{"a": ' * 70 + b"1" + b"}" * 71,
            "nested deeper",
        ),
    ],
)
def test_malformed_or_oversized_input_is_a_clear_non_blocking_error(
    bench: HookBench, stdin: bytes, needle: str
) -> None:
    bench.install("claude")
    proc = bench.run_hook("claude", "PostToolUse", stdin)
    assert proc.returncode == 1
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_a_path_outside_the_root_is_ignored_never_scanned(bench: HookBench, tmp_path: Path) -> None:
    bench.install("claude")
    outside = tmp_path.resolve() / "elsewhere.py"
    outside.write_text("eval(input())\n")
    proc = bench.run_hook("claude", "PostToolUse", bench.claude("PostToolUse", "s-out", str(outside)))
    assert proc.returncode == 0 and "outside the repository root" in proc.stderr
    # A workspace outside the allowed roots is ignored as a whole.
    proc = bench.run_hook(
        "claude", "PostToolUse", bench.claude("PostToolUse", "s-out", "app.py", cwd=str(tmp_path.resolve()))
    )
    assert proc.returncode == 0 and "outside the allowed roots" in proc.stderr
    store = Store(bench.store)
    try:
        store.migrate(STORE_MIGRATIONS)
        assert store.query("SELECT count(*) FROM audit_runs")[0][0] == 0
    finally:
        store.close()


def test_cursor_after_file_edit_and_stop_follow_up(bench: HookBench) -> None:
    bench.install("cursor")
    (bench.repo / "app.py").write_text("def handler():\n    return eval(input())\n")
    edit = bench.cursor(
        "afterFileEdit",
        "conv-1",
        file_path=str(bench.repo / "app.py"),
        edits=[{"old_string": "return 1", "new_string": "return eval(input())"}],
    )
    proc = bench.run_hook("cursor", "afterFileEdit", edit)
    assert proc.returncode == 0, proc.stderr
    stop = bench.run_hook("cursor", "stop", bench.cursor("stop", "conv-1", status="completed", loop_count=0))
    assert stop.returncode == 0, stop.stderr
    assert "app.py:2" in json.loads(stop.stdout)["followup_message"]
    (bench.repo / "app.py").write_text("def handler():\n    return 2\n")
    stop = bench.run_hook("cursor", "stop", bench.cursor("stop", "conv-1", status="completed", loop_count=1))
    assert json.loads(stop.stdout) == {}


def test_cursor_shell_check_denies_a_pinned_vulnerable_install(bench: HookBench, tmp_path: Path) -> None:
    store = Store(bench.store)
    try:
        store.migrate(STORE_MIGRATIONS)
        import_osv(store, tmp_path / "osv")
    finally:
        store.close()
    bench.install("cursor")

    def verdict(command: str) -> dict[str, str]:
        proc = bench.run_hook(
            "cursor",
            "beforeShellExecution",
            bench.cursor("beforeShellExecution", "conv-2", command=command, cwd=str(bench.repo)),
        )
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    denied = verdict("cd app && pip install requests==2.19.0 flask")
    assert denied["permission"] == "deny" and "PYSEC-TEST-REQ" in denied["agent_message"]
    # The way out is named: the smallest version no listed advisory affects.
    assert "the smallest upgrade no listed advisory affects: 2.20.0" in denied["agent_message"]
    assert verdict("pip install requests==2.31.0")["permission"] == "allow"
    unpinned = verdict("python -m pip install requests")
    assert unpinned["permission"] == "allow" and "not pinned" in unpinned["agent_message"]
    assert verdict("ls -la") == {"permission": "allow"}
    # npm has no records in this database: not checked, said so (fail open by default).
    npm = verdict("npm install lodash@4.17.20")
    assert npm["permission"] == "allow" and "no npm records" in npm["agent_message"]


@pytest.mark.parametrize("on_error", ["open", "closed"])
def test_a_scanner_that_cannot_run_fails_open_or_closed_as_installed(bench: HookBench, on_error: str) -> None:
    bench.install("claude", "--scanners", "semgrep", "--on-error", on_error)
    # No private engine, and a PATH without semgrep (git stays reachable for the baseline).
    missing = {"SECAUDIT_ENGINES_DIR": str(bench.home / "no-engines"), "PATH": "/usr/bin:/bin"}
    (bench.repo / "web.js").write_text("export const run = (x) => x;\n")
    for event in ("PreToolUse", "PostToolUse"):
        proc = bench.run_hook("claude", event, bench.claude(event, "s-err", "web.js"), **missing)
        assert proc.returncode == 0, proc.stderr
    proc = bench.run_hook("claude", "Stop", bench.claude("Stop", "s-err"), **missing)
    assert proc.returncode == 0 and "could not check" in proc.stderr
    out = json.loads(proc.stdout)
    if on_error == "closed":
        assert out["decision"] == "block" and "fail closed" in out["reason"]
    else:
        assert "decision" not in out and "fail open" in out["systemMessage"]


def test_failing_open_still_blocks_on_what_the_scanners_that_ran_found(bench: HookBench) -> None:
    # semgrep cannot run, but the secrets scanner ran and found a key the session added: failing
    # open is about what could not be checked, not a pass for what was.
    bench.install("claude", "--scanners", "semgrep,secrets", "--on-error", "open")
    missing = {"SECAUDIT_ENGINES_DIR": str(bench.home / "no-engines"), "PATH": "/usr/bin:/bin"}
    (bench.repo / "web.js").write_text("export const run = (x) => x;\n")
    for event in ("PreToolUse", "PostToolUse"):
        if event == "PostToolUse":
            key = "AKIA" + "J7Q3Z5XK2LMNOP4Q"
            (bench.repo / "web.js").write_text(f'export const k = "{key}";\n')
        proc = bench.run_hook("claude", event, bench.claude(event, "s-open", "web.js"), **missing)
        assert proc.returncode == 0, proc.stderr
    proc = bench.run_hook("claude", "Stop", bench.claude("Stop", "s-open"), **missing)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["decision"] == "block" and "aws-access-key" in out["reason"], out
    assert "could not run every scanner" in proc.stderr and "semgrep" in proc.stderr


def test_failing_closed_keeps_blocking_up_to_the_limit_when_something_was_found(bench: HookBench) -> None:
    # With a scanner that cannot run and --on-error closed, finding something must not make the
    # stop easier than finding nothing: the repeat is blocked again, up to --max-blocks.
    bench.install("claude", "--scanners", "semgrep,secrets", "--on-error", "closed", "--max-blocks", "2")
    missing = {"SECAUDIT_ENGINES_DIR": str(bench.home / "no-engines"), "PATH": "/usr/bin:/bin"}
    (bench.repo / "web.js").write_text("export const run = (x) => x;\n")
    proc = bench.run_hook("claude", "PreToolUse", bench.claude("PreToolUse", "s-closed", "web.js"), **missing)
    assert proc.returncode == 0, proc.stderr
    (bench.repo / "web.js").write_text('export const k = "AKIA' + 'J7Q3Z5XK2LMNOP4Q";\n')
    proc = bench.run_hook(
        "claude", "PostToolUse", bench.claude("PostToolUse", "s-closed", "web.js"), **missing
    )
    assert proc.returncode == 0, proc.stderr
    outcomes = []
    for active in (False, True, True):
        stop = {**bench.claude("Stop", "s-closed"), "stop_hook_active": active}
        proc = bench.run_hook("claude", "Stop", stop, **missing)
        assert proc.returncode == 0, proc.stderr
        outcomes.append(json.loads(proc.stdout).get("decision"))
    assert outcomes == ["block", "block", None]  # the repeat blocks again; the limit (2) ends it


def test_a_session_keeps_its_root_when_the_agent_changes_folder(bench: HookBench) -> None:
    bench.install("claude")
    (bench.repo / "sub").mkdir()
    _claude_edit(bench, "s-cd", "app.py", "def handler():\n    return 1\n\n\nY = 1\n")
    # The agent ran `cd sub`: later events report that folder as cwd.
    (bench.repo / "sub" / "tool.py").write_text("import os\n\nos.system(input())\n")
    post = bench.claude("PostToolUse", "s-cd", "sub/tool.py", cwd=str(bench.repo / "sub"))
    assert bench.run_hook("claude", "PostToolUse", post).returncode == 0
    out = _stop(bench, "s-cd")
    assert out["decision"] == "block" and "sub/tool.py:3" in str(out["reason"])


def test_a_file_the_re_check_could_not_examine_is_said_so_never_clean(bench: HookBench) -> None:
    bench.install("claude")
    small = {"SECAUDIT_MAX_FILE_BYTES": "1024"}
    big = "big.py"
    for event in ("PreToolUse", "PostToolUse"):
        if event == "PostToolUse":
            (bench.repo / big).write_text("X = 1\n" * 400)
        assert bench.run_hook("claude", event, bench.claude(event, "s-big", big), **small).returncode == 0
    proc = bench.run_hook("claude", "Stop", bench.claude("Stop", "s-big"), **small)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    message = out["systemMessage"]
    assert "decision" not in out and "could not be checked" in message and "big.py" in message


def test_cursor_sends_no_follow_up_into_an_aborted_stop(bench: HookBench) -> None:
    bench.install("cursor")
    (bench.repo / "app.py").write_text("def handler():\n    return eval(input())\n")
    edit = bench.cursor("afterFileEdit", "conv-3", file_path=str(bench.repo / "app.py"), edits=[])
    assert bench.run_hook("cursor", "afterFileEdit", edit).returncode == 0
    stop = bench.run_hook("cursor", "stop", bench.cursor("stop", "conv-3", status="aborted", loop_count=0))
    assert stop.returncode == 0 and json.loads(stop.stdout) == {}


def test_cursor_baseline_from_git_head_keeps_committed_findings_from_blocking(bench: HookBench) -> None:
    bench.install("cursor")
    # legacy.py holds eval(input()) at HEAD; the edit adds a line and leaves it there.
    (bench.repo / "legacy.py").write_text("import os\n\n\ndef old():\n    return eval(input())\n")
    edit = bench.cursor("afterFileEdit", "conv-4", file_path=str(bench.repo / "legacy.py"), edits=[])
    assert bench.run_hook("cursor", "afterFileEdit", edit).returncode == 0
    stop = bench.run_hook("cursor", "stop", bench.cursor("stop", "conv-4", status="completed", loop_count=0))
    assert stop.returncode == 0 and json.loads(stop.stdout) == {}, stop.stderr


def test_an_edit_hook_starts_bandits_worker_and_semgrep_only_for_scanners_that_will_run(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path
) -> None:
    import argparse

    from secaudit.server.cli import hook
    from secaudit.tools.scanners import bandit_scanner
    from secaudit.tools.scanners.semgrep import SemgrepScanner

    started: list[int] = []
    early: list[tuple[Path, str, int]] = []
    monkeypatch.setattr(bandit_scanner, "warm_workers", lambda count=1: started.append(count) or count)
    monkeypatch.setattr(
        SemgrepScanner,
        "start_early",
        classmethod(lambda cls, root, rel, options, workers: early.append((root, rel, workers)) or True),
    )
    # (file, --scanners, bandit workers started, semgrep started early); which files semgrep takes
    # is start_early's own decision (tests/tools/scanners/test_semgrep_launch.py).
    cases = [("app.py", None, 1, 1), ("app.py", "bandit,secrets", 1, 0), ("app.py", "secrets,semgrep", 0, 1),
             ("web/app.js", None, 0, 1), ("pkg/tool.pyw", "bandit", 1, 0)]  # fmt: skip
    for rel, scanners, expected, semgrep in cases:
        started.clear()
        early.clear()
        hook._warm_scanners(argparse.Namespace(scanners=scanners), settings, tmp_path, rel)
        assert len(started) == expected, (rel, scanners)
        assert early == [(tmp_path, rel, settings.audit_workers)] * semgrep, (rel, scanners)


def test_a_local_install_is_listed_by_status_and_runs_like_the_project_one(bench: HookBench) -> None:
    done = bench.install("claude", "--local")
    assert done.returncode == 0, done.stderr
    assert not (bench.repo / ".claude" / "settings.json").exists()
    local = json.loads((bench.repo / ".claude" / "settings.local.json").read_text())
    status = bench.secaudit("hooks", "status", "--client", "claude", cwd=bench.repo)
    assert status.returncode == 0
    assert "claude (project-local)" in status.stdout and "3 entries" in status.stdout
    refused = bench.secaudit("hooks", "install", "--client", "claude", "--user", "--local", cwd=bench.repo)
    assert refused.returncode == 2 and "--user excludes --path and --local" in refused.stderr
    stop = [h["command"] for g in local["hooks"]["Stop"] for h in g["hooks"] if " hook " in h["command"]]
    assert stop and "--root" in stop[0]
    # Personal: git ignores it (a line in the repository's info/exclude, as Claude Code itself does),
    # once, whatever the re-installs.
    assert "so that git ignores it" in done.stdout
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".claude/settings.local.json"], cwd=bench.repo, timeout=30, check=False
    )
    assert ignored.returncode == 0
    again = bench.install("claude", "--local", "--max-blocks", "5")
    assert again.returncode == 0 and "git ignores" not in again.stdout
    exclude = (bench.repo / ".git" / "info" / "exclude").read_text()
    assert exclude.count("/.claude/settings.local.json") == 1
    # And the installed commands run: a session's edit and stop through the personal file's entries.
    (bench.repo / "local.py").write_text("x = 1\n")
    proc = bench.run_hook(
        "claude", "PostToolUse", bench.claude("PostToolUse", "s-local", "local.py"), local=True
    )
    assert proc.returncode == 0, proc.stderr
    proc = bench.run_hook("claude", "Stop", bench.claude("Stop", "s-local"), local=True)
    assert proc.returncode == 0 and '"decision"' not in proc.stdout, proc.stderr
    assert "re-checked 1 file(s)" in proc.stderr  # the session's file, recorded by the local entry
