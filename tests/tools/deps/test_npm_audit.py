"""The opt-in `npm audit` backend: the parser on recorded-style reports, the real npm offline, and a
stand-in npm that records what it was given (nothing from the repo but the two copied files)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps.interface import AdvisoryBackendUnavailable
from secaudit.tools.deps.npm_audit import npm_audit_check, parse_npm_audit
from secaudit.tools.scanners.deps import DepsScanner
from secaudit.tools.scanners.interface import CancelToken, FileRef, ScanContext
from secaudit.tools.store import Store
from tests.support import DATA

FIXTURES = DATA / "npm_audit"
# The offline database knows two lodash advisories: one by its GHSA id, one (ReDoS) only through an
# alias of another id. npm's report names both by GHSA id: neither is "online only".
OFFLINE = [
    {
        "id": "GHSA-35jh-r3h4-6jhm",
        "modified": "2024-01-01T00:00:00Z",
        "summary": "command injection",
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
            }
        ],
    },
    {
        "id": "NPM-TEST-1",
        "aliases": ["GHSA-29mw-wpgm-hmr9"],
        "modified": "2024-01-01T00:00:00Z",
        "summary": "redos",
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": "lodash"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
            }
        ],
    },
]
LOCK = {
    "name": "app",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.20", "tool": "^1.0.0"}},
        "node_modules/lodash": {"version": "4.17.20"},
        "node_modules/tool": {"version": "1.5.0", "dependencies": {"minimist": "^0.0.8", "lodash": "4.17.4"}},
        "node_modules/tool/node_modules/lodash": {"version": "4.17.4"},
        "node_modules/minimist": {"version": "0.0.8"},
    },
}
MANIFEST = {"name": "app", "version": "1.0.0", "dependencies": {"lodash": "4.17.20", "tool": "^1.0.0"}}
BOGUS_NPMRC = "registry=http://bogus-registry.invalid/\n//bogus-registry.invalid/:_authToken=repo-token\n"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    osv = tmp_path / "osv"
    osv.mkdir()
    for i, record in enumerate(OFFLINE):
        (osv / f"{i}.json").write_text(json.dumps(record))
    store = Store(tmp_path / "store.db")
    database = AdvisoryDB(store)
    database.import_path(osv)
    yield database
    store.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "package.json").write_text(json.dumps(MANIFEST, indent=2))
    (root / "package-lock.json").write_text(json.dumps(LOCK, indent=2))
    (root / ".npmrc").write_text(BOGUS_NPMRC)
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def refs(root: Path) -> list[FileRef]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out.append(
                FileRef(path=path, rel=path.relative_to(root).as_posix(), size=st.st_size, mode=st.st_mode)
            )
    return out


def scan(root: Path, db: AdvisoryDB, online: object) -> list[str]:
    ctx = ScanContext(
        root=root,
        cancel=CancelToken(),
        deadline=time.monotonic() + 60,
        options=DepsScanner.Options.parse("deps", {"advisory_db": db, "online": online}),
    )
    result = DepsScanner().scan(ctx, refs(root))
    # The offline result stands whatever the online backend did.
    assert sorted(f.rule_id for f in result.findings if f.rule_id.startswith("GHSA")) == [
        "GHSA-35jh-r3h4-6jhm",
        "GHSA-35jh-r3h4-6jhm",
    ]
    assert sum(1 for f in result.findings if f.rule_id == "NPM-TEST-1") == 2
    return result.notes


# -- the parser --------------------------------------------------------------------------------------


def test_parser_reads_the_v7_report_with_versions_from_the_lockfile() -> None:
    result = parse_npm_audit(fixture("success_v2.json"), lockfile="web/package-lock.json", lock=LOCK)
    assert result.lockfile == "web/package-lock.json" and result.dependencies == 4
    got = {(a.name, a.id): a for a in result.advisories}
    # "tool" is vulnerable only through minimist (a string in `via`): no advisory of its own.
    assert sorted(got) == [
        ("lodash", "GHSA-29mw-wpgm-hmr9"),
        ("lodash", "GHSA-35jh-r3h4-6jhm"),
        ("minimist", "GHSA-xvch-5gv4-984h"),
        ("minimist", "npm-4242"),
    ]
    lodash = got[("lodash", "GHSA-35jh-r3h4-6jhm")]
    assert (
        lodash.versions == ("4.17.20", "4.17.4") and lodash.severity == "high" and lodash.range == "<4.17.21"
    )
    assert lodash.paths == ("node_modules/lodash", "node_modules/tool/node_modules/lodash")
    assert lodash.url == "https://github.com/advisories/GHSA-35jh-r3h4-6jhm"
    assert "within the declared ranges" in lodash.fix
    minimist = got[("minimist", "GHSA-xvch-5gv4-984h")]
    assert minimist.versions == ("0.0.8",) and minimist.severity == "critical"
    assert minimist.title == "Prototype Pollution in minimist[31m"  # the escape character is stripped
    assert "\x1b" not in minimist.title
    assert "tool to 2.0.0 (a semver-major change)" in minimist.fix


def test_parser_reads_a_v1_lockfile_and_a_clean_answer() -> None:
    v1 = {
        "lockfileVersion": 1,
        "dependencies": {
            "lodash": {"version": "4.17.20"},
            "tool": {"version": "1.5.0", "dependencies": {"lodash": {"version": "4.17.4"}}},
            "minimist": {"version": "0.0.8"},
        },
    }
    result = parse_npm_audit(fixture("success_v2.json").encode(), lock=v1)
    versions = {a.id: a.versions for a in result.advisories}
    assert versions["GHSA-35jh-r3h4-6jhm"] == ("4.17.20", "4.17.4")
    clean = parse_npm_audit(fixture("success_clean.json"))
    assert clean.advisories == [] and clean.dependencies == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("error_enotfound.json", "the registry host could not be resolved (ENOTFOUND; offline?)"),
        ("error_eai_again.json", "the registry host could not be resolved (EAI_AGAIN; offline?)"),
        ("error_econnrefused.json", "the registry could not be reached (ECONNREFUSED)"),
        ("error_endpoint_405.json", "the audit endpoint answered 405 Method Not Allowed"),
        ("npm6_format.json", "npm 6 report format"),
    ],
)
def test_parser_error_shapes_are_never_a_clean_result(name: str, reason: str) -> None:
    with pytest.raises(AdvisoryBackendUnavailable) as info:
        parse_npm_audit(fixture(name), lock=LOCK)
    message = info.value.message
    assert message.startswith("npm audit did not answer: ") and reason in message
    assert message.endswith("; the offline result stands")
    assert "s3cret" not in message


def test_parser_other_errors_give_a_short_reason_without_paths() -> None:
    with pytest.raises(AdvisoryBackendUnavailable) as info:
        parse_npm_audit(fixture("error_enolock.json"))
    assert "ENOLOCK This command requires an existing lockfile" in info.value.message
    assert "/tmp/" not in info.value.message and "<path>" in info.value.message
    for stdout in ("", "not json", "[1, 2]", "{" * 5000):
        with pytest.raises(
            AdvisoryBackendUnavailable, match="npm audit did not answer: npm printed no audit report"
        ):
            parse_npm_audit(
                stdout, stderr="npm error A complete log of this run can be found in: /root/x.log"
            )
    with pytest.raises(AdvisoryBackendUnavailable, match=r"could not be resolved \(ENOTFOUND"):
        parse_npm_audit("", stderr="npm error getaddrinfo ENOTFOUND registry.npmjs.org")


# -- the real npm, offline here ----------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_real_npm_offline_gives_a_note_and_the_offline_result_stands(repo: Path, db: AdvisoryDB) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed on this machine")
    before = snapshot(repo)
    notes = scan(repo, db, "npm")
    online = [n for n in notes if "npm audit" in n]
    assert len(online) >= 1
    assert snapshot(repo) == before  # nothing written into the audited repo (no node_modules, no log)
    if any("did not answer" in n for n in online):
        (note,) = online
        assert note.startswith("online check (package-lock.json): npm audit did not answer: ")
        assert note.endswith("; the offline result stands")
        assert "bogus-registry" not in note  # the repo's .npmrc did not redirect the request
    else:  # a machine where the registry answers: the report was merged
        assert online[0].startswith("online check (npm audit, package-lock.json): ")
        assert not any("online only" in n and "GHSA-35jh-r3h4-6jhm" in n for n in notes)


# -- a stand-in npm that records its argv, environment and working folder ----------------------------

FAKE_NPM = """#!{python}
import json, os, sys
cwd = os.getcwd()
record = {{
    "argv": sys.argv,
    "cwd": cwd,
    "env": dict(os.environ),
    "files": {{n: open(os.path.join(cwd, n), encoding="utf-8").read() for n in os.listdir(cwd)}},
    "userconfig": open(os.environ["npm_config_userconfig"], encoding="utf-8").read(),
}}
with open({record!r}, "w", encoding="utf-8") as fh:
    json.dump(record, fh)
sys.stdout.write(open({report!r}, encoding="utf-8").read())
sys.exit(1)  # npm exits 1 when it found vulnerabilities
"""


def install_fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: str) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    record = tmp_path / "npm-record.json"
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable, record=str(record), report=str(FIXTURES / report)))
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return record


def test_npm_gets_only_private_copies_and_never_the_repo_npmrc(
    repo: Path, db: AdvisoryDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_path = install_fake_npm(tmp_path, monkeypatch, "success_v2.json")
    # Inherited settings that would point npm at the repo's .npmrc or another registry are dropped.
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(repo / ".npmrc"))
    monkeypatch.setenv("npm_config_registry", "http://bogus-registry.invalid/")
    monkeypatch.setenv("npm_config_globalconfig", str(repo / ".npmrc"))
    before = snapshot(repo)
    notes = scan(repo, db, "npm")
    assert snapshot(repo) == before
    record = json.loads(record_path.read_text())
    cwd = Path(record["cwd"])
    assert repo not in cwd.parents and cwd != repo
    assert not cwd.exists()  # the private folder is gone
    assert record["files"] == {
        "package.json": (repo / "package.json").read_text(),
        "package-lock.json": (repo / "package-lock.json").read_text(),
    }
    argv = record["argv"][1:]
    assert argv[:4] == ["audit", "--json", "--package-lock-only", "--ignore-scripts"]
    assert "--fetch-retries=0" in argv
    env = record["env"]
    assert record["userconfig"] == ""
    assert env["npm_config_userconfig"] != str(repo / ".npmrc")
    assert not any(k.lower() in ("npm_config_registry", "npm_config_globalconfig") for k in env)
    assert [k for k in env if k.lower() == "npm_config_userconfig"] == ["npm_config_userconfig"]
    everything = json.dumps([argv, env])
    assert (
        str(repo) not in everything and "bogus-registry" not in everything and "repo-token" not in everything
    )
    # The merge: both lodash advisories are known offline (one through an alias); minimist's are not.
    summary = next(n for n in notes if n.startswith("online check (npm audit, package-lock.json)"))
    assert summary == (
        "online check (npm audit, package-lock.json): 4 dependencies audited, 4 advisories, 2 already found offline"
    )
    extra = [n for n in notes if n.startswith("online only")]
    assert len(extra) == 2 and all("minimist 0.0.8" in n for n in extra)
    assert any("GHSA-xvch-5gv4-984h [critical] vulnerable <0.2.4" in n for n in extra)
    assert not any("lodash" in n for n in extra)


def test_npm_not_on_path_is_a_clear_note(
    repo: Path, db: AdvisoryDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "emptybin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    notes = scan(repo, db, ["npm", "nonsense"])
    assert (
        "online check (package-lock.json): npm audit did not run: `npm` is not on PATH; the offline result stands"
        in notes
    )
    assert any("unknown backend 'nonsense'" in n for n in notes)
    with pytest.raises(AdvisoryBackendUnavailable, match="not on PATH"):
        npm_audit_check(repo, "package-lock.json")


def test_npm_backend_refuses_unsafe_files(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-lock.json"
    outside.write_text(json.dumps(LOCK))
    (repo / "sub").mkdir()
    (repo / "sub" / "package-lock.json").symlink_to(outside)
    with pytest.raises(AdvisoryBackendUnavailable, match="symbolic link leading outside"):
        npm_audit_check(repo, "sub/package-lock.json", npm="/bin/false")
    with pytest.raises(AdvisoryBackendUnavailable, match="needs a package-lock.json"):
        npm_audit_check(repo, "package.json", npm="/bin/false")
    (repo / "package-lock.json").write_text("{not json")
    with pytest.raises(AdvisoryBackendUnavailable, match="not valid JSON"):
        npm_audit_check(repo, "package-lock.json", npm="/bin/false")


def test_without_a_lockfile_npm_audit_is_not_run(tmp_path: Path, db: AdvisoryDB) -> None:
    root = tmp_path / "nolock"
    root.mkdir()
    (root / "package.json").write_text(json.dumps({"dependencies": {"lodash": "4.17.20"}}))
    ctx = ScanContext(
        root=root,
        cancel=CancelToken(),
        deadline=time.monotonic() + 60,
        options=DepsScanner.Options.parse("deps", {"advisory_db": db, "online": "npm"}),
    )
    result = DepsScanner().scan(ctx, refs(root))
    assert (
        "online check (npm audit): not run: npm audit needs a package-lock.json, and none was read"
        in result.notes
    )
    assert sum(1 for f in result.findings if f.rule_id == "GHSA-35jh-r3h4-6jhm") == 1
