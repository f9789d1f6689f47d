"""Merging our entries into the clients' settings files, and taking them out again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secaudit.tools.errors import InvalidInput
from secaudit.tools.hooks.install import entries_in, install, is_our_command, uninstall

PROGRAM = ["/opt/venv/bin/secaudit"]


def test_our_commands_are_recognised_by_program_and_words() -> None:
    assert is_our_command("/opt/venv/bin/secaudit hook claude stop --max-blocks 3", "claude")
    assert is_our_command("/usr/bin/python3 -m secaudit.server hook cursor stop", "cursor")
    assert not is_our_command("/opt/venv/bin/secaudit hook claude stop", "cursor")
    assert not is_our_command("my-script hook claude stop", "claude")
    assert not is_our_command("echo 'unbalanced", "claude")
    assert not is_our_command(42, "claude")


def test_cursor_install_merges_into_an_existing_file_and_uninstall_restores_it(tmp_path: Path) -> None:
    original = {
        "version": 1,
        "hooks": {
            "afterFileEdit": [{"command": "./hooks/format.sh"}],
            "beforeSubmitPrompt": [{"command": "x"}],
        },
    }
    path = tmp_path / ".cursor" / "hooks.json"
    path.parent.mkdir()
    path.write_text(json.dumps(original, indent="\t"))
    report = install("cursor", tmp_path, PROGRAM, ["--on-error", "open"])
    assert report.changed
    doc = json.loads(path.read_text())
    assert doc["hooks"]["afterFileEdit"][0] == {"command": "./hooks/format.sh"}
    assert len(doc["hooks"]["afterFileEdit"]) == 2
    assert set(doc["hooks"]) == {"afterFileEdit", "beforeSubmitPrompt", "stop", "beforeShellExecution"}
    assert path.read_text().startswith('{\n\t"version"')
    assert len(entries_in("cursor", tmp_path)) == 3
    # Different options replace our entries in place: never a second copy.
    install("cursor", tmp_path, PROGRAM, ["--on-error", "closed"])
    doc = json.loads(path.read_text())
    assert len(doc["hooks"]["afterFileEdit"]) == 2 and "closed" in doc["hooks"]["stop"][0]["command"]
    assert uninstall("cursor", tmp_path).changed
    assert json.loads(path.read_text()) == original
    assert not uninstall("cursor", tmp_path).changed


def test_a_claude_group_shared_with_a_users_hook_keeps_the_users_hook(tmp_path: Path) -> None:
    install("claude", tmp_path, PROGRAM, [])
    path = tmp_path / ".claude" / "settings.json"
    doc = json.loads(path.read_text())
    # The user adds their own command into our group.
    doc["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": "say done"})
    path.write_text(json.dumps(doc))
    uninstall("claude", tmp_path)
    after = json.loads(path.read_text())
    assert after["hooks"] == {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}


@pytest.mark.parametrize("content", ["{not json", "[]", '{"hooks": []}', '{"hooks": {"Stop": {}}}'])
def test_a_file_we_cannot_merge_into_is_refused_untouched(tmp_path: Path, content: str) -> None:
    path = tmp_path / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(InvalidInput):
        install("claude", tmp_path, PROGRAM, [])
    assert path.read_text() == content


def test_a_settings_folder_that_is_a_link_out_is_not_written_through(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "p", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".claude").symlink_to(elsewhere)
    with pytest.raises(InvalidInput):
        install("claude", project, PROGRAM, [])
    assert list(elsewhere.iterdir()) == []
    # Status and uninstall say it is a link, never "not installed" / "nothing to remove".
    [unreadable] = entries_in("claude", project)
    assert unreadable.startswith("(unreadable:")
    with pytest.raises(InvalidInput):
        uninstall("claude", project)
    # A dangling link, or a file, where the settings folder goes: a clear refusal, not a traceback.
    (project / ".claude").unlink()
    (project / ".claude").symlink_to(tmp_path / "gone")
    with pytest.raises(InvalidInput, match="symbolic link"):
        install("claude", project, PROGRAM, [])
    (project / ".claude").unlink()
    (project / ".claude").write_text("not a folder\n")
    with pytest.raises(InvalidInput, match="not a folder|not a plain folder"):
        install("claude", project, PROGRAM, [])


def test_a_local_claude_install_goes_to_the_personal_file_and_leaves_the_team_file_alone(
    tmp_path: Path,
) -> None:
    # The entries hold this machine's paths: a team that commits .claude/settings.json installs
    # into the personal settings.local.json instead.
    team = tmp_path / ".claude" / "settings.json"
    team.parent.mkdir()
    team.write_text('{"permissions": {"allow": ["Bash(npm test)"]}}\n')
    before = team.read_bytes()
    report = install("claude", tmp_path, PROGRAM, ["--on-error", "open"], local=True)
    assert report.file == tmp_path / ".claude" / "settings.local.json" and report.changed
    assert team.read_bytes() == before
    assert len(entries_in("claude", tmp_path, local=True)) == 3 and entries_in("claude", tmp_path) == []
    assert uninstall("claude", tmp_path, local=True).removed_file
    assert not (tmp_path / ".claude" / "settings.local.json").exists() and team.read_bytes() == before
    with pytest.raises(InvalidInput, match="cursor has no personal project settings file"):
        install("cursor", tmp_path, PROGRAM, [], local=True)
