"""Each dependency source on fixtures written here, including hostile input."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from secaudit.tools.advisories import AdvisoryDB
from secaudit.tools.deps import DepAuditResult, Dependency, audit_dependencies, discover_manifests
from secaudit.tools.deps.interface import SourceError
from secaudit.tools.deps.safe_io import read_text_within
from secaudit.tools.store import Store

OSV = {
    "id": "PYSEC-TEST-1",
    "modified": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2099-1"],
    "summary": "test advisory",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "requests"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }
    ],
}
NPM_OSV = {
    "id": "GHSA-test-test-test",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}],
        }
    ],
}


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    return root


@pytest.fixture
def db(tmp_path: Path) -> Iterator[AdvisoryDB]:
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "a.json").write_text(json.dumps(OSV))
    (osv / "b.json").write_text(json.dumps(NPM_OSV))
    store = Store(tmp_path / "store.db")
    database = AdvisoryDB(store)
    database.import_path(osv)
    yield database
    store.close()


def deps_by_name(result: DepAuditResult) -> dict[str, Dependency]:
    return {d.name: d for d in result.dependencies}


def notes_text(result: DepAuditResult) -> str:
    return "\n".join(f"{n.path}: {n.message}" for n in [*result.notes, *result.skipped])


# -- requirements.txt ------------------------------------------------------------------------------


def test_requirements_pins_hashes_markers_extras_and_notes(repo: Path, db: AdvisoryDB) -> None:
    write(
        repo,
        "requirements.txt",
        """
        # a comment
        requests[security]==2.19.0 ; python_version >= "3.8"  # trailing comment
        flask>=1.0
        django==3.2.0 \\
            --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
        pkg-with-var==${VERSION}
        -i https://user:secret@example.invalid/simple
        --extra-index-url https://example.invalid/extra
        git+https://github.com/org/repo.git#egg=vcspkg
        https://example.invalid/some.whl
        ./local/path
        -e ./editable
        not a requirement at all !!
    """,
    )
    result = audit_dependencies(repo, None, db)
    deps = deps_by_name(result)
    req = deps["requests"]
    assert (req.version, req.line, req.extras, req.direct) == ("2.19.0", 2, ("security",), True)
    assert req.marker == 'python_version >= "3.8"'
    assert deps["flask"].version is None and deps["flask"].specifier == ">=1.0"
    assert deps["flask"] in result.unchecked
    assert deps["django"].hashed and deps["django"].line == 4
    assert deps["vcspkg"].version is None and "not followed" in deps["vcspkg"].notes[0]
    text = notes_text(result)
    assert "${...}" in text and "never expanded" in text
    assert "-i option not followed" in text and "--extra-index-url option not followed" in text
    assert "secret" not in text  # URLs (and their credentials) are not echoed
    assert "line 12: editable requirement not followed" in text
    assert "line 13: not a valid requirement" in text
    assert [h.advisory.id for h in result.vulnerable] == ["PYSEC-TEST-1"]
    hit = result.vulnerable[0]
    assert hit.upgrade.version == "2.20.0" and hit.fixed_versions == ("2.20.0",)
    assert hit.dependency.manifest == "requirements.txt" and hit.dependency.line == 2


def test_nested_includes_and_constraints(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "requirements.txt", "-r requirements/base.txt\n-c constraints.txt\nrequests\n")
    write(repo, "requirements/base.txt", "--requirement=../requirements/extra.txt\nsix==1.16.0\n")
    write(
        repo,
        "requirements/extra.txt",
        "-r ../../outside.txt\n-r /etc/passwd\n-r https://example.invalid/r.txt\n",
    )
    write(repo, "constraints.txt", "requests==2.0.0\n")
    write(repo.parent, "outside.txt", "evil==1.0\n")
    result = audit_dependencies(repo, ["requirements.txt"], db)
    deps = deps_by_name(result)
    assert "evil" not in deps
    assert deps["six"].manifest == "requirements/base.txt" and deps["six"].line == 2
    assert deps["requests"].version == "2.0.0"
    assert "constraint constraints.txt:1" in deps["requests"].notes[-1]
    text = notes_text(result)
    assert "outside the audited root" in text
    assert "remote requirements file not fetched" in text
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]


def test_self_include_and_cycles_terminate(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "requirements.txt", "-r requirements.txt\n-r requirements-b.txt\nrequests==2.19.0\n")
    write(repo, "requirements-b.txt", "-r requirements.txt\nsix==1.0\n")
    result = audit_dependencies(repo, ["requirements.txt"], db)
    assert {d.name for d in result.dependencies} == {"requests", "six"}
    text = notes_text(result)
    assert "include cycle requirements.txt -> requirements.txt" in text
    assert "include cycle requirements.txt -> requirements-b.txt -> requirements.txt" in text


@pytest.mark.timeout(20)
def test_fifo_named_requirements_is_refused_without_blocking(repo: Path, db: AdvisoryDB) -> None:
    os.mkfifo(repo / "requirements.txt")
    write(repo, "sub/requirements.txt", "-r ../requirements.txt\nrequests==2.19.0\n")
    result = audit_dependencies(repo, None, db)
    assert any(s.path == "requirements.txt" and "FIFO" in s.message for s in result.skipped)
    assert "FIFO" in notes_text(result)
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]


def test_symlink_leading_outside_is_never_opened(repo: Path, db: AdvisoryDB) -> None:
    secret = write(repo.parent, "secret.txt", "requests==2.19.0\n")
    (repo / "requirements.txt").symlink_to(secret)
    (repo / "linkdir").symlink_to(repo.parent)
    result = audit_dependencies(repo, ["requirements.txt", "linkdir/secret.txt"], db)
    assert not result.dependencies
    assert any("symbolic link leading outside" in s.message for s in result.skipped)
    with pytest.raises(SourceError):
        read_text_within(repo, "linkdir/secret.txt")
    with pytest.raises(SourceError):
        read_text_within(repo, "../secret.txt")


def test_symlink_inside_the_root_is_followed(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "reqs/base.txt", "requests==2.19.0\n")
    (repo / "requirements.txt").symlink_to(repo / "reqs" / "base.txt")
    result = audit_dependencies(repo, ["requirements.txt"], db)
    assert [d.name for d in result.dependencies] == ["requests"]


def test_unicode_lookalike_never_matches(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "requirements.txt", "r\u0435quests==2.19.0\n")  # Cyrillic "е"
    result = audit_dependencies(repo, None, db)
    (dep,) = result.dependencies
    assert dep.normalized_name != "requests" and dep.version == "2.19.0"
    assert "not ASCII" in dep.notes[0]
    assert not result.vulnerable


def test_invalid_version_is_a_note_not_a_crash(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "requirements.txt", "requests===weird-build\nsix==1.0\n")
    result = audit_dependencies(repo, None, db)
    assert deps_by_name(result)["requests"].version == "weird-build"
    assert "not a valid PEP 440" in notes_text(result)
    assert not result.vulnerable


def test_huge_and_binary_files(repo: Path, db: AdvisoryDB) -> None:
    (repo / "requirements.txt").write_bytes(b"\xff\xfe\x00garbage")
    result = audit_dependencies(repo, None, db)
    assert "not valid UTF-8" in notes_text(result)


# -- pyproject.toml ---------------------------------------------------------------------------------


def test_pyproject_pep621_groups_and_poetry(repo: Path, db: AdvisoryDB) -> None:
    write(
        repo,
        "pyproject.toml",
        """
        [project]
        name = "demo"
        dependencies = [
            "requests==2.19.0",
            "click>=8",
        ]
        [project.optional-dependencies]
        test = ["pytest==8.0.0"]

        [dependency-groups]
        lint = ["ruff==0.6.0", {include-group = "test"}]

        [tool.poetry.dependencies]
        python = "^3.11"
        attrs = "23.1.0"
        rich = "^13"
        local = { path = "../local" }

        [tool.poetry.group.dev.dependencies]
        mypy = { version = "==1.11.0" }
    """,
    )
    result = audit_dependencies(repo, None, db)
    deps = deps_by_name(result)
    assert deps["requests"].line == 4 and deps["requests"].version == "2.19.0"
    assert deps["click"].version is None and deps["click"].line == 5
    assert deps["pytest"].groups == ("test",) and deps["pytest"].line == 8
    assert deps["ruff"].version == "0.6.0" and deps["ruff"].groups == ("lint",)
    assert deps["attrs"].version == "23.1.0" and deps["attrs"].line == 15  # Poetry: bare version = exact
    assert deps["rich"].version is None and deps["rich"].specifier == "^13"
    assert "not followed" in deps["local"].notes[0]
    assert deps["mypy"].version == "1.11.0" and deps["mypy"].groups == ("dev",)
    assert "python" not in deps
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]


def test_malformed_toml_is_a_per_file_skip(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "pyproject.toml", "[project\ndependencies = [")
    write(repo, "requirements.txt", "requests==2.19.0\n")
    result = audit_dependencies(repo, None, db)
    assert any(s.path == "pyproject.toml" and "not valid TOML" in s.message for s in result.skipped)
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]


# -- Python lockfiles -------------------------------------------------------------------------------


def test_poetry_lock_direct_and_transitive(repo: Path, db: AdvisoryDB) -> None:
    write(
        repo,
        "pyproject.toml",
        """
        [tool.poetry.dependencies]
        python = "^3.11"
        requests = "^2.19"
    """,
    )
    write(
        repo,
        "poetry.lock",
        """
        [[package]]
        name = "certifi"
        version = "2024.2.2"
        groups = ["main"]

        [[package]]
        name = "requests"
        version = "2.19.0"
        groups = ["main"]

        [package.dependencies]
        certifi = ">=2017.4.17"
    """,
    )
    result = audit_dependencies(repo, None, db)
    deps = deps_by_name(result)
    assert deps["requests"].direct is True and deps["certifi"].direct is False
    assert deps["requests"].line == 7 and deps["requests"].manifest == "poetry.lock"
    assert (deps["requests"].declared_in, deps["requests"].declared_line) == ("pyproject.toml", 3)
    # The pyproject range is superseded by the lockfile: no "unpinned" entry for requests.
    assert all(d.source != "pyproject" for d in result.dependencies)
    assert [h.dependency.manifest for h in result.vulnerable] == ["poetry.lock"]


def test_uv_lock(repo: Path, db: AdvisoryDB) -> None:
    write(
        repo,
        "uv.lock",
        """
        version = 1

        [[package]]
        name = "demo"
        version = "0.1.0"
        source = { editable = "." }
        dependencies = [{ name = "requests" }]

        [[package]]
        name = "requests"
        version = "2.19.0"
        source = { registry = "https://pypi.org/simple" }
        dependencies = [{ name = "idna" }]

        [[package]]
        name = "idna"
        version = "3.7"
        source = { registry = "https://pypi.org/simple" }

        [[package]]
        name = "gitdep"
        version = "1.0"
        source = { git = "https://github.com/x/y" }
    """,
    )
    result = audit_dependencies(repo, None, db)
    deps = deps_by_name(result)
    assert "demo" not in deps
    assert deps["requests"].direct is True and deps["idna"].direct is False
    assert deps["requests"].line == 10
    assert "not an index release" in deps["gitdep"].notes[0]
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]


def test_pipfile_lock(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "Pipfile", '[packages]\nrequests = "*"\n\n[dev-packages]\npytest = "*"\n')
    lock = {
        "_meta": {"hash": {"sha256": "x"}},
        "default": {
            "requests": {
                "version": "==2.19.0",
                "hashes": ["sha256:aa"],
                "markers": "python_version >= '3.8'",
            },
            "idna": {"version": "==3.7"},
            "broken": "nope",
        },
        "develop": {"pytest": {"version": "==8.0.0"}, "localpkg": {"path": ".", "editable": True}},
    }
    write(repo, "Pipfile.lock", json.dumps(lock, indent=4))
    result = audit_dependencies(repo, None, db)
    deps = deps_by_name(result)
    assert deps["requests"].direct is True and deps["idna"].direct is False
    assert deps["requests"].hashed and deps["requests"].declared_line == 2
    assert deps["pytest"].groups == ("dev",)
    assert deps["localpkg"].version is None
    assert "malformed entry" in notes_text(result)
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]
    write(repo, "Pipfile.lock", "{ not json")
    again = audit_dependencies(repo, None, db)
    assert any("not valid JSON" in s.message for s in again.skipped)


def test_pylock_toml(repo: Path, db: AdvisoryDB) -> None:
    write(
        repo,
        "pylock.toml",
        """
        lock-version = "1.0"
        created-by = "test"

        [[packages]]
        name = "requests"
        version = "2.19.0"
        marker = "python_version >= '3.8'"

        [[packages]]
        name = "fromgit"
        [packages.vcs]
        type = "git"
        url = "https://github.com/x/y"
        commit-id = "abc"
    """,
    )
    result = audit_dependencies(repo, None, db)
    deps = deps_by_name(result)
    assert deps["requests"].line == 5 and deps["requests"].direct is None
    assert deps["fromgit"].version is None
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]


# -- installed environment --------------------------------------------------------------------------


def test_installed_environment(repo: Path, db: AdvisoryDB, tmp_path: Path) -> None:
    sp = repo / ".venv" / "lib" / "python3.11" / "site-packages"
    for name, version, requested in (("requests", "2.19.0", True), ("idna", "3.7", False)):
        info = sp / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\n")
        if requested:
            (info / "REQUESTED").write_text("")
    evil = sp / "evil-1.0.dist-info"
    evil.mkdir()
    (evil / "METADATA").symlink_to(write(tmp_path, "outside/METADATA", "Name: evil\nVersion: 1.0\n"))
    (sp / "hook.pth").write_text("import os; os.system('touch /tmp/pwned-by-secaudit-test')\n")
    # Not discovered by walking (virtualenvs are excluded), read only when named.
    assert audit_dependencies(repo, None, db).dependencies == []
    result = audit_dependencies(repo, None, db, environments=[".venv"])
    deps = deps_by_name(result)
    assert set(deps) == {"requests", "idna"}
    assert deps["requests"].direct is True and deps["idna"].direct is None
    assert deps["requests"].manifest.endswith("requests-2.19.0.dist-info/METADATA")
    assert "symbolic link leading outside" in notes_text(result)
    assert [h.dependency.name for h in result.vulnerable] == ["requests"]
    assert not Path("/tmp/pwned-by-secaudit-test").exists()


# -- npm --------------------------------------------------------------------------------------------


def test_package_lock_v3(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "package.json", json.dumps({"name": "app", "dependencies": {"lodash": "^4.17.0"}}, indent=2))
    lock = {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "dependencies": {"lodash": "^4.17.0", "aliased": "npm:lodash@4.17.21"}},
            "node_modules/lodash": {"version": "4.17.20"},
            "node_modules/aliased": {"name": "lodash", "version": "4.17.21"},
            "node_modules/a/node_modules/lodash": {"version": "4.17.4", "dev": True},
            "node_modules/gitdep": {"version": "git+ssh://git@github.com/x/y.git#abc"},
            "node_modules/ws": {"link": True, "resolved": "packages/ws"},
            "packages/ws": {"version": "1.0.0"},
        },
    }
    write(repo, "package-lock.json", json.dumps(lock, indent=2))
    result = audit_dependencies(repo, None, db)
    locks = [d for d in result.dependencies if d.name == "lodash"]
    top = next(d for d in locks if d.version == "4.17.20")
    nested = next(d for d in locks if d.version == "4.17.4")
    assert top.direct is True and nested.direct is False and nested.groups == ("dev",)
    assert top.declared_in == "package.json" and top.declared_line == 4
    assert top.line == 12
    gitdep = deps_by_name(result)["gitdep"]
    assert gitdep.version is None and "not a registry release" in gitdep.notes[0]
    assert "ws" not in deps_by_name(result)
    assert sorted(h.dependency.version or "" for h in result.vulnerable) == ["4.17.20", "4.17.4"]
    assert all(h.upgrade.version == "4.17.21" for h in result.vulnerable)


def test_package_lock_v1(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "package.json", json.dumps({"dependencies": {"lodash": "4", "alias": "npm:lodash@4.17.21"}}))
    lock = {
        "lockfileVersion": 1,
        "dependencies": {
            "lodash": {"version": "4.17.15"},
            "alias": {"version": "npm:lodash@4.17.21"},
            "x": {"version": "1.0.0", "dependencies": {"lodash": {"version": "3.10.1"}}},
            "tarball": {"version": "https://example.invalid/t.tgz"},
        },
    }
    write(repo, "package-lock.json", json.dumps(lock, indent=2))
    result = audit_dependencies(repo, None, db)
    lodash = sorted((d.version or "", d.direct) for d in result.dependencies if d.name == "lodash")
    assert lodash == [("3.10.1", False), ("4.17.15", True), ("4.17.21", True)]
    assert deps_by_name(result)["tarball"].version is None
    assert sorted(h.dependency.version or "" for h in result.vulnerable) == ["3.10.1", "4.17.15"]


def test_malformed_package_lock(repo: Path, db: AdvisoryDB) -> None:
    write(repo, "package-lock.json", "[1, 2")
    write(repo, "sub/package-lock.json", json.dumps(["not", "an", "object"]))
    result = audit_dependencies(repo, None, db)
    assert {s.path for s in result.skipped} == {"package-lock.json", "sub/package-lock.json"}


# -- discovery and coverage -------------------------------------------------------------------------


def test_discovery_skips_excluded_dirs(repo: Path) -> None:
    write(repo, "requirements-dev.txt", "x==1\n")
    write(repo, "requirements/prod.txt", "x==1\n")
    write(repo, "node_modules/pkg/package-lock.json", "{}")
    write(repo, ".venv/requirements.txt", "x==1\n")
    write(repo, "web/package-lock.json", "{}")
    write(repo, "README.txt", "no")
    assert discover_manifests(repo) == [
        "requirements-dev.txt",
        "requirements/prod.txt",
        "web/package-lock.json",
    ]


def test_empty_database_and_missing_ecosystem_are_never_clean(repo: Path, tmp_path: Path) -> None:
    write(repo, "requirements.txt", "requests==2.19.0\n")
    store = Store(tmp_path / "empty.db")
    try:
        result = audit_dependencies(repo, None, AdvisoryDB(store))
        assert result.checked == 0 and "empty" in result.coverage[0]
    finally:
        store.close()
    osv = tmp_path / "pyonly"
    osv.mkdir()
    (osv / "a.json").write_text(json.dumps(OSV))
    store = Store(tmp_path / "py.db")
    try:
        database = AdvisoryDB(store)
        database.import_path(osv)
        write(
            repo,
            "package-lock.json",
            json.dumps(
                {
                    "lockfileVersion": 3,
                    "packages": {
                        "": {"dependencies": {"lodash": "*"}},
                        "node_modules/lodash": {"version": "4.17.20"},
                    },
                }
            ),
        )
        result = audit_dependencies(repo, None, database)
        assert any("no npm records" in c and "NOT checked" in c for c in result.coverage)
        assert [d.name for d in result.unchecked] == ["lodash"]
    finally:
        store.close()
