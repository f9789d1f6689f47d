"""`secaudit audit examples/express-ts-service` as a subprocess, with the real semgrep and the shipped rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from secaudit.tools.findings import FindingsService
from secaudit.tools.schema import STORE_MIGRATIONS
from secaudit.tools.store import Store
from tests.support.semgrep import require_semgrep

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "express-ts-service"


@pytest.mark.slow
def test_audit_of_the_express_example_reports_eval_ssrf_and_tls(tmp_path: Path) -> None:
    semgrep = require_semgrep()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_")}
    env.update(SECAUDIT_STORE=str(tmp_path / "store.db"), SECAUDIT_SEMGREP=str(semgrep))
    out = subprocess.run(
        [sys.executable, "-m", "secaudit.server", "audit", str(EXAMPLE), "--scanners", "semgrep",
         "--fail-on", "high"],
        capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr  # findings at or above high
    assert "semgrep secaudit-semgrep-v1:" in out.stdout and "complete" in out.stdout
    store = Store(tmp_path / "store.db")
    store.migrate(STORE_MIGRATIONS)
    try:
        findings = FindingsService(store).run_findings(1)
    finally:
        store.close()
    cwes = {c: f for f in findings if f.scanner == "semgrep" for c in f.cwe}
    # Matched by weakness, not by rule id: these are the rule pack's findings, whatever their names.
    assert cwes.keys() & {94, 95}, "eval of request data"
    assert cwes[918].path == "src/routes/proxy.ts", "SSRF through axios"
    assert cwes[295].path == "src/routes/proxy.ts", "rejectUnauthorized: false"
    assert all(f.path.startswith("src/") for f in findings if f.scanner == "semgrep")
