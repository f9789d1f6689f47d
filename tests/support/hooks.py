"""Driving installed agent hooks as the clients do: `secaudit hooks install` into a project, the
command it wrote read back, run with the JSON the client sends on stdin."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SECAUDIT", "HookBench", "git_commit"]

SECAUDIT = str(Path(sys.executable).with_name("secaudit"))
# The fast scanners: these tests are about the hook plumbing, not semgrep's start-up.
SCANNERS = "bandit,secrets,config,deps"


def git_commit(repo: Path, message: str = "init") -> None:
    for argv in (
        ["git", "init", "-q", "."],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", message],
    ):
        subprocess.run(argv, cwd=repo, check=True, capture_output=True, timeout=30)


@dataclass
class HookBench:
    repo: Path
    home: Path
    store: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SECAUDIT_", "CLAUDE_"))}
        env.update(HOME=str(self.home), SECAUDIT_STORE=str(self.store), **extra)
        return env

    def secaudit(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SECAUDIT, *argv], cwd=cwd or self.repo, env=self.env(), capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip

    def install(self, client: str, *options: str) -> subprocess.CompletedProcess[str]:
        proc = self.secaudit("hooks", "install", "--client", client, "--scanners", SCANNERS, *options)
        assert proc.returncode == 0, proc.stderr
        return proc

    def settings(self, client: str, *, user: bool = False, local: bool = False) -> dict[str, Any]:
        base = self.home if user else self.repo
        rel = ".claude/settings.json" if client == "claude" else ".cursor/hooks.json"
        if local:
            rel = ".claude/settings.local.json"
        data: dict[str, Any] = json.loads((base / rel).read_text())
        return data

    def command(self, client: str, event: str, *, user: bool = False, local: bool = False) -> str:
        """The command `install` wrote for `event` (the client's own event name)."""
        entries = self.settings(client, user=user, local=local)["hooks"][event]
        for entry in entries:
            commands = [entry["command"]] if client == "cursor" else [h["command"] for h in entry["hooks"]]
            for command in commands:
                if " hook " in command:
                    return str(command)
        raise AssertionError(f"no secaudit command for {event}")

    def run_hook(
        self, client: str, event: str, payload: dict[str, Any] | bytes, *, local: bool = False, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed command as the client would: its words, the JSON on stdin (`local`:
        the entry in Claude Code's personal settings.local.json)."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        proc = subprocess.run(
            shlex.split(self.command(client, event, local=local)),
            input=data,
            cwd=self.repo,
            env=self.env(**env),
            capture_output=True,
            timeout=120,
        )
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )

    # -- the payloads each client sends --------------------------------------------------------

    def claude(self, event: str, session: str, rel: str | None = None, **extra: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "session_id": session,
            "transcript_path": str(self.home / ".claude" / "projects" / f"{session}.jsonl"),
            "cwd": str(self.repo),
            "permission_mode": "default",
            "hook_event_name": event,
        }
        if rel is not None:
            path = str(self.repo / rel) if not rel.startswith("/") else rel
            payload.update(
                tool_name="Edit",
                tool_input={"file_path": path, "old_string": "a", "new_string": "b"},
                tool_use_id="toolu_01TEST",
            )
            if event == "PostToolUse":
                payload["tool_response"] = {"filePath": path, "success": True}
        payload.update(extra)
        return payload

    def cursor(self, event: str, conversation: str, **extra: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "conversation_id": conversation,
            "generation_id": "gen-1",
            "hook_event_name": event,
            "workspace_roots": [str(self.repo)],
            "cursor_version": "2.0.77",
        }
        payload.update(extra)
        return payload
