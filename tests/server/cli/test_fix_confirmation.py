"""`secaudit fix` as a real subprocess: `--write` is the operator's confirmation, and the plan's
confirm_digest is in its JSON (the digest an MCP client without elicitation passes)."""

from __future__ import annotations

import json
from pathlib import Path

from secaudit.server.settings import Settings
from tests.support.cli import cli_env, secaudit_in
from tests.support.fixes import finding

WEB = b"app.run(debug=True)\n"


def test_write_is_the_operators_confirmation(settings: Settings, workspace: Path, tmp_path: Path) -> None:
    (workspace / "web.py").write_bytes(WEB)
    found = tmp_path / "finding.json"
    found.write_text(finding("bandit", "B201", "web.py", 1).model_dump_json())
    env = cli_env(settings)
    base = ("--finding-json", str(found), "--repo", ".", "--json")
    planned = secaudit_in(env, workspace, "fix", "plan", *base)
    assert planned.returncode == 0, planned.stderr
    digest = json.loads(planned.stdout)["confirm_digest"]
    assert len(digest) == 64

    dry = secaudit_in(env, workspace, "fix", "apply", *base)
    assert dry.returncode == 0, dry.stderr
    shown = json.loads(dry.stdout)
    assert shown["dry_run"] is True and shown["confirmation"] is None
    assert shown["plan"]["confirm_digest"] == digest  # the same content, planned again
    assert (workspace / "web.py").read_bytes() == WEB

    written = secaudit_in(env, workspace, "fix", "apply", *base, "--write")
    assert written.returncode == 0, written.stderr
    result = json.loads(written.stdout)
    assert result["confirmation"] == "operator" and result["fix"]["status"] in ("verified", "applied")
    assert b"debug=False" in (workspace / "web.py").read_bytes()
