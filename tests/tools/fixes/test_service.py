"""FixService end to end on real files and a real store: plan, apply, verify, revert, refusals."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from secaudit.tools.confined_io import WriteFailed
from secaudit.tools.errors import Conflict, InvalidInput, PathNotAllowed, SecauditError
from secaudit.tools.findings.model import Finding
from secaudit.tools.fixes.errors import BackupUnavailable, FixError, FixNotApplicable
from secaudit.tools.fixes.model import FileChange, FixStatus, Proposal, RepoView
from secaudit.tools.fixes.service import FixService
from secaudit.tools.fixes.verify import ScannerVerifier, ScanSnapshot, Verifier
from tests.support.fixes import (
    PredicateVerifier,
    finding,
    import_osv,
    make_service,
    scanner_verifier,
    temp_files,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    return root


@dataclass
class Case:
    name: str
    files: dict[str, bytes]
    finding: Finding
    verifier: Callable[[Finding], Verifier] | str
    expect_in_diff: str


def _deps_present(path: str, needle: bytes) -> Callable[[Path], bool]:
    return lambda root: needle in (root / path).read_bytes()


REAL = "real"  # the case is verified by the real scanner (ScannerVerifier), not a predicate

CASES = [
    Case(
        "requirements",
        {"requirements.txt": b"flask==1.0.2\r\nrequests==2.19.0  # http\r\n"},
        finding(
            "deps",
            "PYSEC-TEST-REQ",
            "requirements.txt",
            2,
            package="requests",
            version="2.19.0",
            fixed_versions=["2.20.0"],
            smallest_safe_upgrade="2.20.0",
        ),
        REAL,
        "+requests==2.20.0  # http",
    ),
    Case(
        "pyproject",
        {"pyproject.toml": b'[project]\nname = "x"\ndependencies = ["urllib3==1.24.1", "flask>=1.0"]\n'},
        finding(
            "deps",
            "PYSEC-TEST-URL",
            "pyproject.toml",
            3,
            package="urllib3",
            version="1.24.1",
            fixed_versions=["1.24.2"],
            smallest_safe_upgrade="1.24.2",
        ),
        REAL,
        '+dependencies = ["urllib3==1.24.2", "flask>=1.0"]',
    ),
    Case(
        "pyproject-locked",
        {
            "pyproject.toml": b'[project]\nname = "x"\ndependencies = ["jinja2<3", "flask>=1.0"]\n',
            "uv.lock": b"version = 1\n",
        },
        finding(
            "deps",
            "GHSA-x",
            "uv.lock",
            None,
            package="Jinja2",
            version="2.10",
            fixed_versions=["2.11.3"],
            smallest_safe_upgrade="2.11.3",
            declared_in="pyproject.toml",
            declared_line=3,
        ),
        # The vulnerable version sits in uv.lock, which the fix does not touch: still reported until re-lock.
        lambda f: PredicateVerifier(f, lambda _root: True),
        '+dependencies = ["jinja2>=2.11.3,<3", "flask>=1.0"]',
    ),
    Case(
        "package.json",
        {"package.json": b'{\n  "dependencies": {\n    "lodash": "^4.17.4"\n  }\n}\n'},
        finding(
            "deps",
            "GHSA-35jh",
            "package.json",
            3,
            package="lodash",
            version="4.17.4",
            smallest_safe_upgrade="4.17.21",
        ),
        # The deps scanner matches exact versions only (a lockfile), not package.json ranges.
        lambda f: PredicateVerifier(f, _deps_present("package.json", b"4.17.4")),
        '+    "lodash": "^4.17.21"',
    ),
    Case(
        "yaml",
        {"app/load.py": b"import yaml\n\n\ndef read(s):\n    return yaml.load(s)  # config\n"},
        finding("bandit", "B506", "app/load.py", 5),
        REAL,
        "+    return yaml.safe_load(s)  # config",
    ),
    Case(
        "verify",
        {"client.py": b"import requests\n\nr = requests.get('https://x', verify=False, timeout=5)\n"},
        finding("bandit", "B501", "client.py", 3),
        REAL,
        "verify=True",
    ),
    Case(
        "mktemp",
        {"tmp.py": b"import tempfile\n\npath = tempfile.mktemp(suffix='.log')\n"},
        finding("bandit", "B306", "tmp.py", 3),
        REAL,
        "NamedTemporaryFile(delete=False, suffix='.log').name",
    ),
    Case(
        "flask",
        {"web.py": b"from flask import Flask\n\napp = Flask(__name__)\napp.run(debug=True)\n"},
        finding("bandit", "B201", "web.py", 4),
        REAL,
        "+app.run(debug=False)",
    ),
    Case(
        "hash",
        {"cache.py": b"import hashlib\n\n\ndef cache_key(data):\n    return hashlib.md5(data).hexdigest()\n"},
        finding("bandit", "B324", "cache.py", 5),
        REAL,
        "hashlib.md5(data, usedforsecurity=False)",
    ),
    Case(
        "secret",
        {"settings.py": b'DEBUG = False\nSTRIPE_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"\n'},
        finding(
            "secrets",
            "secrets.stripe-key",
            "settings.py",
            2,
            kind="Stripe Access Key",
            preview="sk_l\u2026p7dc",
        ),
        REAL,
        '+STRIPE_KEY = os.environ["STRIPE_KEY"]',
    ),
    Case(
        "gitignore",
        {".gitignore": b"__pycache__/\n", ".env": b"A=1\n"},
        finding("config", "config.env-file-not-ignored", ".env", None),
        REAL,
        "+.env",
    ),
    Case(
        "dockerfile",
        {"Dockerfile": b'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/main.py"]\n'},
        finding("config", "config.docker-root-user", "Dockerfile", None),
        REAL,
        "+USER app",
    ),
]


def _write(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_fix_kind_plan_apply_verify_revert(case: Case, tmp_path: Path, repo: Path) -> None:
    _write(repo, case.files)
    before = _snapshot(repo)
    svc = make_service(tmp_path, [repo])
    if case.verifier == REAL:
        import_osv(svc.store, tmp_path / "osv")
        svc.verifier = scanner_verifier(svc.store)
    else:
        assert callable(case.verifier)
        svc.verifier = case.verifier(case.finding)

    plan = svc.plan(case.finding, repo)
    assert case.expect_in_diff in plan.diff
    for f in plan.files:
        assert f"+++ b/{f.path}" in plan.diff
    assert _snapshot(repo) == before  # planning writes nothing

    dry = svc.apply(plan_id=plan.plan_id)
    assert dry.dry_run and dry.fix is None and _snapshot(repo) == before

    result = svc.apply(plan_id=plan.plan_id, dry_run=False)
    assert result.fix is not None
    expected = (
        FixStatus.APPLIED if case.name == "pyproject-locked" else FixStatus.VERIFIED
    )  # lockfile finding
    assert result.fix.status == expected, result.fix.message
    assert _snapshot(repo) != before
    assert temp_files(repo) == []

    reverted = svc.revert(result.fix.fix_id)
    assert reverted.status == FixStatus.REVERTED
    assert _snapshot(repo) == before  # exact previous bytes; created files removed again


def test_plan_notes_relock_and_major_risk(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"pyproject.toml": b'[tool.poetry.dependencies]\ndjango = "^3.2"\n', "poetry.lock": b""})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(
        finding("deps", "X", "poetry.lock", None, package="django", smallest_safe_upgrade="4.2.8"), repo
    )
    assert any(c.startswith("poetry lock") for c in plan.relock_commands)
    assert any("major version" in r for r in plan.risks)
    assert _snapshot(repo)["poetry.lock"] == b""  # lockfiles never edited


def test_secret_never_stored_or_shown_in_clear(tmp_path: Path, repo: Path) -> None:
    secret = b"sk_live_CANARY0123456789abcdef"
    _write(repo, {"conf.py": b'token = "' + secret + b'"\n'})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(finding("secrets", "secrets.keyword", "conf.py", 1), repo)
    assert secret.decode() not in plan.diff and "***" in plan.diff
    fix = svc.apply(plan_id=plan.plan_id, dry_run=False).fix
    assert fix is not None and fix.backup_available
    assert (repo / ".env.example").read_bytes() == b"TOKEN=\n"
    svc.store.close()
    for path in (tmp_path / "store").iterdir():
        if path.is_file():
            assert secret not in path.read_bytes(), path.name
    assert svc.get_plan(plan.plan_id).diff == plan.diff
    svc.revert(fix.fix_id)
    assert secret in (repo / "conf.py").read_bytes()


def test_dry_run_with_finding_writes_nothing(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo])
    result = svc.apply(finding=finding("bandit", "B201", "web.py", 1), root=repo)
    assert result.dry_run and "-app.run(debug=True)" in result.plan.diff
    assert (repo / "web.py").read_bytes() == b"app.run(debug=True)\n"
    assert svc.list().items == []


def test_no_verifier_means_applied_not_verified(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo])
    fix = svc.apply(finding=finding("bandit", "B201", "web.py", 1), root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.APPLIED
    assert fix.verification is not None and fix.verification.outcome == "skipped"


def _custom(after: bytes, rel: str = "m.py") -> Callable[[Finding], Callable[[Finding, RepoView], Proposal]]:
    def generator(f: Finding, view: RepoView) -> Proposal:
        return Proposal(kind="test", summary="test", changes=[FileChange(rel, view.read(rel), after)])

    return lambda _f: generator


def test_broken_parse_is_rolled_back(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"m.py": b"x = 1\n"})
    svc = make_service(tmp_path, [repo], generator_lookup=_custom(b"x = (\n"))
    fix = svc.apply(finding=finding("bandit", "B000", "m.py", 1), root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.ROLLED_BACK
    assert "rolled back" in fix.message and fix.verification and fix.verification.outcome == "broke_parsing"
    assert (repo / "m.py").read_bytes() == b"x = 1\n"


def test_new_findings_roll_back(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"import yaml\napp.run(debug=True)\n"})
    target = finding("bandit", "B201", "web.py", 2)
    svc = make_service(
        tmp_path,
        [repo],
        verifier=ScannerVerifier(),
        generator_lookup=_custom(b"import yaml\napp.run(debug=False)\nyaml.load(x)\n", "web.py"),
    )
    fix = svc.apply(finding=target, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.ROLLED_BACK
    assert fix.verification is not None and fix.verification.outcome == "new_findings"
    assert fix.verification.new_findings[0]["rule_id"] == "B506"
    assert (repo / "web.py").read_bytes() == b"import yaml\napp.run(debug=True)\n"


def test_still_present_rolls_back(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    target = finding("bandit", "B201", "web.py", 1)
    svc = make_service(tmp_path, [repo], verifier=PredicateVerifier(target, lambda _r: True))
    fix = svc.apply(finding=target, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.ROLLED_BACK
    assert (repo / "web.py").read_bytes() == b"app.run(debug=True)\n"


def test_changed_since_plan_is_a_conflict_and_nothing_written(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(finding("bandit", "B201", "web.py", 1), repo)
    (repo / "web.py").write_bytes(b"app.run(debug=True)  # edited\n")
    with pytest.raises(Conflict, match="changed since"):
        svc.apply(plan_id=plan.plan_id, dry_run=False)
    assert (repo / "web.py").read_bytes() == b"app.run(debug=True)  # edited\n"
    assert svc.list().items == []


def test_revert_refuses_when_changed_after_apply(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo])
    fix = svc.apply(finding=finding("bandit", "B201", "web.py", 1), root=repo, dry_run=False).fix
    assert fix is not None
    (repo / "web.py").write_bytes(b"later edit\n")
    with pytest.raises(Conflict):
        svc.revert(fix.fix_id)
    assert (repo / "web.py").read_bytes() == b"later edit\n"
    assert svc.get(fix.fix_id).status == FixStatus.APPLIED


def test_permissions_kept(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"run.py": b"app.run(debug=True)\n"})
    os.chmod(repo / "run.py", 0o750)
    svc = make_service(tmp_path, [repo])
    svc.apply(finding=finding("bandit", "B201", "run.py", 1), root=repo, dry_run=False)
    assert stat.S_IMODE((repo / "run.py").stat().st_mode) == 0o750


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "dir-symlink"])
def test_link_swapped_in_between_plan_and_apply_is_refused(kind: str, tmp_path: Path, repo: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "web.py"
    secret.write_bytes(b"app.run(debug=True)\n")
    _write(repo, {"pkg/web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(finding("bandit", "B201", "pkg/web.py", 1), repo)
    if kind == "symlink":
        (repo / "pkg/web.py").unlink()
        (repo / "pkg/web.py").symlink_to(secret)
    elif kind == "hardlink":
        (repo / "pkg/web.py").unlink()
        os.link(secret, repo / "pkg/web.py")
    else:
        (repo / "pkg/web.py").unlink()
        (repo / "pkg").rmdir()
        (repo / "pkg").symlink_to(outside)
    with pytest.raises(PathNotAllowed):
        svc.apply(plan_id=plan.plan_id, dry_run=False)
    assert secret.read_bytes() == b"app.run(debug=True)\n"
    assert temp_files(outside) == [] and temp_files(repo) == []


def test_paths_outside_roots_refused(tmp_path: Path, repo: Path) -> None:
    svc = make_service(tmp_path, [repo])
    with pytest.raises(PathNotAllowed):
        svc.plan(finding("bandit", "B201", "../x.py", 1), repo)
    with pytest.raises(PathNotAllowed):
        svc.plan(finding("bandit", "B201", "x.py", 1), tmp_path)


def test_unsupported_finding_says_what_is_supported(tmp_path: Path, repo: Path) -> None:
    svc = make_service(tmp_path, [repo])
    with pytest.raises(FixNotApplicable, match="fixes exist for"):
        svc.plan(finding("semgrep", "x", "a.py", 1), repo)


def test_purged_backup_cannot_be_reverted(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo])
    fix = svc.apply(finding=finding("bandit", "B201", "web.py", 1), root=repo, dry_run=False).fix
    assert fix is not None
    assert svc.purge_backups(older_than_days=-1) == 1
    assert not svc.get(fix.fix_id).backup_available
    with pytest.raises(BackupUnavailable, match="purged"):
        svc.revert(fix.fix_id)


def test_list_pages_and_filters(tmp_path: Path, repo: Path) -> None:
    svc = make_service(tmp_path, [repo])
    ids = []
    for i in range(5):
        _write(repo, {f"w{i}.py": b"app.run(debug=True)\n"})
        fix = svc.apply(finding=finding("bandit", "B201", f"w{i}.py", 1), root=repo, dry_run=False).fix
        assert fix is not None
        ids.append(fix.fix_id)
    svc.revert(ids[0])
    page = svc.list(limit=2)
    assert [f.fix_id for f in page.items] == ids[::-1][:2]
    assert page.next_cursor
    rest = svc.list(limit=10, cursor=page.next_cursor)
    assert [f.fix_id for f in rest.items] == ids[::-1][2:]
    assert [f.fix_id for f in svc.list(statuses=[FixStatus.REVERTED]).items] == [ids[0]]
    with pytest.raises(InvalidInput):
        svc.list(statuses=[FixStatus.APPLIED], cursor=page.next_cursor)


def test_service_is_usable_across_instances(tmp_path: Path, repo: Path) -> None:
    _write(repo, {"web.py": b"app.run(debug=True)\n"})
    first = make_service(tmp_path, [repo])
    plan = first.plan(finding("bandit", "B201", "web.py", 1), repo)
    second: FixService = make_service(tmp_path, [repo])
    fix = second.apply(plan_id=plan.plan_id, dry_run=False).fix
    assert fix is not None and first.get(fix.fix_id).status == FixStatus.APPLIED


class _SwapDuringVerify:
    """Reports the target both times (so the fix rolls back); before the second answer, `swap` runs:
    a link is swapped in while the fix's bytes are on disk."""

    def __init__(self, target: Finding, swap: Callable[[Path], None]) -> None:
        self.target = target
        self.swap = swap
        self.calls = 0

    def scan(self, root: Path, f: Finding, paths: object) -> ScanSnapshot:
        self.calls += 1
        if self.calls == 2:
            self.swap(root)
        return ScanSnapshot(findings=[self.target])


def test_item4_rollback_restores_through_the_folder_it_wrote_into(tmp_path: Path, repo: Path) -> None:
    # Issue 11 item 4: the folder is swapped for a link to itself between the write and the
    # rollback. The rollback writes through the folder fd the write used, so the file gets its
    # bytes back and the row settles as rolled back (it answered path_not_allowed, left the fix's
    # bytes in the file and the row `applying`).
    original = b"app.run(debug=True)\n"
    _write(repo, {"pkg/web.py": original})
    target = finding("bandit", "B201", "pkg/web.py", 1)

    def swap(root: Path) -> None:
        (root / "pkg").rename(root / "pkg_real")
        (root / "pkg").symlink_to(root / "pkg_real")

    svc = make_service(tmp_path, [repo], verifier=_SwapDuringVerify(target, swap))
    fix = svc.apply(finding=target, root=repo, dry_run=False).fix
    assert fix is not None and fix.status == FixStatus.ROLLED_BACK, fix and fix.message
    assert (repo / "pkg_real/web.py").read_bytes() == original
    assert temp_files(repo) == []


def test_item4_refused_rollback_still_settles_the_row(tmp_path: Path, repo: Path) -> None:
    # The file itself swapped for a link leading out: the rollback never writes through it, and the
    # row is settled as failed, with a message naming the file, not left `applying`.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "web.py").write_bytes(b"outside\n")
    _write(repo, {"pkg/web.py": b"app.run(debug=True)\n"})
    target = finding("bandit", "B201", "pkg/web.py", 1)

    def swap(root: Path) -> None:
        (root / "pkg/web.py").rename(root / "pkg/moved.py")
        (root / "pkg/web.py").symlink_to(outside / "web.py")

    svc = make_service(tmp_path, [repo], verifier=_SwapDuringVerify(target, swap))
    with pytest.raises(FixError, match="rollback was refused") as err:
        svc.apply(finding=target, root=repo, dry_run=False)
    assert "pkg/web.py" in str(err.value)
    [fix] = svc.list().items
    assert fix.status == FixStatus.FAILED
    assert "could not be rolled back" in fix.message and "pkg/web.py" in fix.message
    assert (outside / "web.py").read_bytes() == b"outside\n"
    assert temp_files(repo) == [] and temp_files(outside) == []
    assert svc.recover() == []  # nothing left half done for the next start


def _fail_on_temp_files(monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> None:
    """Make `os.<name>` fail with errno `code`, but only on secaudit's temp files (the store, the
    locks and everything else keep the real call)."""
    real = getattr(os, name)

    def fake(*args: object, **kwargs: object) -> object:
        first = args[0]
        target = os.readlink(f"/proc/self/fd/{first}") if isinstance(first, int) else str(first)
        if ".secaudit-tmp-" in os.path.basename(target):
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, fake)


@pytest.mark.parametrize(
    ("call", "code", "named"),
    [
        ("write", errno.ENOSPC, "no space left on the device"),
        ("write", errno.EDQUOT, "disk quota is exhausted"),
        ("replace", errno.EROFS, "file system is read-only"),
        ("replace", errno.EPERM, "immutable"),
        # A read-only folder: tests run as root, whom chmod does not stop, so the EACCES the
        # kernel gives a non-root writer is simulated here (the real chmod case follows, for non-root).
        ("replace", errno.EACCES, "folder or the file is read-only"),
    ],
)
def test_item19_write_refused_by_the_file_system_is_a_clear_error(
    call: str, code: int, named: str, tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 11 item 19: the original stays, no temp file, the fix is failed, and the caller gets a
    # SecauditError naming the condition (a bare OSError became "internal error (reference ...)").
    original = b"app.run(debug=True)\n"
    _write(repo, {"web.py": original})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(finding("bandit", "B201", "web.py", 1), repo)
    _fail_on_temp_files(monkeypatch, call, code)
    with pytest.raises(WriteFailed) as err:
        svc.apply(plan_id=plan.plan_id, dry_run=False)
    monkeypatch.undo()
    assert isinstance(err.value, SecauditError) and err.value.code == "write_failed"
    assert named in str(err.value) and str(err.value).startswith("web.py: the write failed")
    assert (repo / "web.py").read_bytes() == original
    assert temp_files(repo) == []
    [fix] = svc.list().items
    assert fix.status == FixStatus.FAILED and named in fix.message


def test_item19_immutable_file_is_a_clear_error(tmp_path: Path, repo: Path) -> None:
    original = b"app.run(debug=True)\n"
    _write(repo, {"web.py": original})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(finding("bandit", "B201", "web.py", 1), repo)
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(repo / "web.py")], timeout=30).returncode:
        pytest.skip("chattr +i is not available here (needs CAP_LINUX_IMMUTABLE)")
    try:
        with pytest.raises(WriteFailed, match="immutable"):
            svc.apply(plan_id=plan.plan_id, dry_run=False)
        assert (repo / "web.py").read_bytes() == original
        assert temp_files(repo) == []
    finally:
        subprocess.run([chattr, "-i", str(repo / "web.py")], timeout=30, check=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root is not stopped by a read-only folder mode")
def test_item19_read_only_folder_is_a_clear_error(tmp_path: Path, repo: Path) -> None:
    original = b"app.run(debug=True)\n"
    _write(repo, {"pkg/web.py": original})
    svc = make_service(tmp_path, [repo])
    plan = svc.plan(finding("bandit", "B201", "pkg/web.py", 1), repo)
    (repo / "pkg").chmod(0o555)
    try:
        with pytest.raises(WriteFailed, match="read-only"):
            svc.apply(plan_id=plan.plan_id, dry_run=False)
    finally:
        (repo / "pkg").chmod(0o755)
    assert (repo / "pkg/web.py").read_bytes() == original


def test_item22_plan_from_a_subfolder_names_the_root_to_allow(tmp_path: Path, repo: Path) -> None:
    # Issue 11 item 22: with a subfolder of the repository as the allowed root (the CLI run from
    # there), planning answered path_not_allowed without saying what to allow. Now it names the
    # relation and the --root to pass; a root elsewhere keeps the plain refusal.
    _write(repo, {"pkg/sub/web.py": b"app.run(debug=True)\n"})
    svc = make_service(tmp_path, [repo / "pkg" / "sub"])
    with pytest.raises(PathNotAllowed) as err:
        svc.plan(finding("bandit", "B201", "pkg/sub/web.py", 1), repo)
    message = str(err.value)
    assert "2 folder(s) above the allowed root" in message
    assert f"--root {repo / 'pkg' / 'sub'}/../.." in message and "SECAUDIT_ALLOWED_ROOTS" in message
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(PathNotAllowed, match="outside the allowed roots"):
        make_service(tmp_path, [elsewhere]).plan(finding("bandit", "B201", "pkg/sub/web.py", 1), repo)
