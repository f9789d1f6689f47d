"""`secaudit audit --json` and `secaudit findings list/show --json` carry `fixable` / `fix_kind`,
and the audit's JSON its `next_steps` (real subprocesses over a tiny tree)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from secaudit.server.settings import Settings
from tests.support.cli import cli_env


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secaudit.server", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=cli_env(settings),
        check=False,
    )


def test_cli_json_says_what_is_fixable(settings: Settings, workspace: Path) -> None:
    (workspace / "app.py").write_text("import yaml\n\n\ndef f(d, e):\n    return yaml.load(d), eval(e)\n")
    (workspace / "requirements.txt").write_text("requests==2.19.0\n")
    audit = _cli(
        settings, "audit", str(workspace), "--scanners", "bandit,deps", "--json", "--fail-on", "none"
    )
    assert audit.returncode == 0, audit.stderr
    data = json.loads(audit.stdout)
    by_rule = {f["rule_id"]: f for f in data["findings"]}
    assert by_rule["B506"]["fixable"] is True and by_rule["B506"]["fix_kind"] == "code"
    assert by_rule["B307"]["fixable"] is False
    tools = [s["tool"] for s in data["next_steps"]]
    assert tools[:3] == ["import_advisories", "get_run", "plan_fix"]

    listed = _cli(settings, "findings", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    items = {f["rule_id"]: f for f in json.loads(listed.stdout)["items"]}
    assert items["B506"]["fix_kind"] == "code" and items["B307"]["fix_kind"] is None
    shown = _cli(settings, "findings", "show", items["B506"]["id"], "--json")
    assert json.loads(shown.stdout)["fixable"] is True
