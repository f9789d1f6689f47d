"""`secaudit baseline write` as a real subprocess: what the file holds (never a secret), that it is
deterministic, that an audit on another machine (a fresh store) honours it, --include-open."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from secaudit.server.settings import Settings
from tests.support.cli import secaudit as run_secaudit

pytestmark = pytest.mark.slow

# Planted secrets: a GitHub token in the code (the secrets scanner's and bandit's lines quote it).
TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
CODE = f'import subprocess\n\nTOKEN = "{TOKEN}"\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n\n\nresult = eval(input())\n'


def secaudit(
    settings: Settings, *args: str, store: Path | None = None, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`secaudit ARGS`, on another store or with a fingerprint key when given."""
    env = {"SECAUDIT_STORE": str(store)} if store is not None else {}
    if key is not None:
        env["SECAUDIT_FINGERPRINT_KEY"] = key
    return run_secaudit(settings, *args, **env)


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "app.py").write_text(CODE)
    return workspace


def _audit_json(
    settings: Settings, repo: Path, *extra: str, store: Path | None = None, key: str | None = None
) -> dict:  # type: ignore[type-arg]
    proc = secaudit(
        settings, "audit", str(repo), "--scanners", "bandit,secrets", "--format", "json", *extra,
        store=store, key=key,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_baseline_write_then_a_fresh_store_honours_it(settings: Settings, repo: Path, tmp_path: Path) -> None:
    doc = _audit_json(settings, repo)
    by_rule = {f["rule_id"]: f for f in doc["findings"]}
    for rule, status in (
        ("B602", "accepted_risk"),
        ("B307", "false_positive"),
        ("secrets.github-token", "wont_fix"),
    ):
        proc = secaudit(
            settings, "findings", "triage", by_rule[rule]["id"], "--status", status,
            "--reason", f"reviewed; the value {TOKEN} is a test token",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr

    wrote = secaudit(settings, "baseline", "write", str(repo))
    assert wrote.returncode == 0, wrote.stderr
    assert "3 entries" in wrote.stdout
    data = (repo / ".secaudit" / "baseline.json").read_bytes()
    text = data.decode()
    # Never the secret, a snippet or a message: only the listed fields.
    assert TOKEN not in text and TOKEN[:12] not in text
    assert "subprocess.call" not in text and "shell=True" not in text
    entries = json.loads(text)["entries"]
    assert {tuple(sorted(e)) for e in entries} == {
        ("at", "expires_at", "fingerprint", "path", "reason", "rule_id", "scanner", "status", "who")
    }
    assert [e["rule_id"] for e in entries] == sorted(
        e["rule_id"] for e in entries
    )  # same path: by scanner, rule
    assert data.endswith(b"\n")
    # Deterministic: writing again changes no byte.
    again = secaudit(settings, "baseline", "write", str(repo))
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert (repo / ".secaudit" / "baseline.json").read_bytes() == data

    # Another machine: a fresh store. bandit's decisions apply; the secrets finding's fingerprint is
    # keyed by the first store's key, so it does not (documented) and still fails the gate.
    fresh = tmp_path / "other" / "secaudit.db"
    other = _audit_json(settings, repo, store=fresh)
    statuses = {f["rule_id"]: f["status"] for f in other["findings"]}
    assert statuses["B602"] == "accepted_risk" and statuses["B307"] == "false_positive"
    assert statuses["secrets.github-token"] == "new"
    assert (
        secaudit(
            settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "medium", store=fresh
        ).returncode
        == 0
    )
    assert (
        secaudit(
            settings, "audit", str(repo), "--scanners", "bandit", "--fail-on", "low", store=fresh
        ).returncode
        == 1
    )


def test_include_open_baselines_the_backlog(settings: Settings, repo: Path, tmp_path: Path) -> None:
    assert (
        secaudit(settings, "baseline", "write", str(repo), "--include-open").returncode == 2
    )  # no audit yet
    _audit_json(settings, repo)
    proc = secaudit(
        settings, "baseline", "write", str(repo), "--include-open", "--reason", "legacy backlog", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["adopted_open"] == summary["entries"] >= 3
    assert TOKEN not in (repo / ".secaudit" / "baseline.json").read_text()
    # On the same machine the next audit passes the gate at any threshold.
    assert (
        secaudit(settings, "audit", str(repo), "--scanners", "bandit,secrets", "--fail-on", "info").returncode
        == 0
    )


def test_an_invalid_baseline_is_exit_2_naming_the_entry(settings: Settings, repo: Path) -> None:
    (repo / ".secaudit").mkdir()
    (repo / ".secaudit" / "baseline.json").write_text('{"version": 1, "entries": [{"fingerprint": "nope"}]}')
    for args in (("audit", str(repo), "--scanners", "bandit"), ("baseline", "write", str(repo))):
        proc = secaudit(settings, *args)
        assert proc.returncode == 2
        assert "invalid baseline .secaudit/baseline.json: entries[0].fingerprint" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_reason_and_expiry_need_include_open(settings: Settings, repo: Path) -> None:
    proc = secaudit(settings, "baseline", "write", str(repo), "--reason", "x")
    assert proc.returncode == 2 and "--include-open" in proc.stderr


def test_the_fingerprint_key_carries_secrets_decisions_to_another_store(
    settings: Settings, repo: Path, tmp_path: Path
) -> None:
    doc = _audit_json(settings, repo)
    secret = next(f for f in doc["findings"] if f["rule_id"] == "secrets.github-token")
    triaged = secaudit(
        settings, "findings", "triage", secret["id"], "--status", "false_positive", "--reason", "fixture"
    )
    assert triaged.returncode == 0, triaged.stderr
    wrote = secaudit(settings, "baseline", "write", str(repo))
    assert wrote.returncode == 0, wrote.stderr
    # The writer is told the secrets entry needs the key in CI.
    assert "1 secrets entries" in wrote.stderr and "SECAUDIT_FINGERPRINT_KEY" in wrote.stderr

    shown = secaudit(settings, "baseline", "key")
    assert shown.returncode == 0, shown.stderr
    key = shown.stdout.strip()
    key_file = settings.store_path.with_name(settings.store_path.name + ".hmackey")
    assert base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)) == key_file.read_bytes()
    assert "hmackey" in shown.stderr and key not in shown.stderr
    as_json = json.loads(secaudit(settings, "baseline", "key", "--json").stdout)
    assert as_json["fingerprint_key"] == key

    # A CI machine: a fresh store, the key from its secret. The decision applies, no key file is
    # made beside that store, and the key text shows nowhere in the output.
    ci_store = tmp_path / "ci" / "secaudit.db"
    proc = secaudit(
        settings, "audit", str(repo), "--scanners", "secrets", "--format", "json", "--fail-on", "low",
        store=ci_store, key=key,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    statuses = {f["rule_id"]: f["status"] for f in json.loads(proc.stdout)["findings"]}
    assert statuses["secrets.github-token"] == "false_positive"
    assert key not in proc.stdout and key not in proc.stderr
    assert not ci_store.with_name("secaudit.db.hmackey").exists()
    # The same key as hex works too; another key matches nothing, as without one.
    hex_key = key_file.read_bytes().hex()
    by_hex = _audit_json(settings, repo, store=tmp_path / "hex" / "s.db", key=hex_key)
    assert {f["rule_id"]: f["status"] for f in by_hex["findings"]}["secrets.github-token"] == "false_positive"
    other = _audit_json(settings, repo, store=tmp_path / "other" / "s.db", key="Q" * 43)
    assert {f["rule_id"]: f["status"] for f in other["findings"]}["secrets.github-token"] == "new"


@pytest.mark.parametrize("bad", ["short", "!" * 43, "00" * 8])
def test_an_unusable_fingerprint_key_is_exit_2_without_quoting_it(
    settings: Settings, repo: Path, bad: str
) -> None:
    proc = secaudit(settings, "audit", str(repo), "--scanners", "secrets", key=bad)
    assert proc.returncode == 2
    assert "SECAUDIT_FINGERPRINT_KEY: not accepted" in proc.stderr and "secaudit baseline key" in proc.stderr
    assert bad not in proc.stderr and "Traceback" not in proc.stderr
