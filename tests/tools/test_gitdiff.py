"""tools/gitdiff.py against real git repositories: the changed files per mode, renames, deletions,
untracked files, subfolder roots, base and staged content, changed lines, refs and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.tools.errors import InvalidInput
from secaudit.tools.gitdiff import DiffMode, GitError, GitRepo, check_ref, parse_hunks
from tests.support.git import Repo, needs_git

pytestmark = needs_git


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    r = Repo(tmp_path / "repo", tmp_path / "home")
    for key, value in r.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GIT_DIR", raising=False)
    r.write("keep.py", "x = 1\n")
    r.write("gone.py", "y = 2\n")
    r.write("sub/old name.py", "def f():\n    return 1\n")
    r.write("mod.py", "a = 1\nb = 2\nc = 3\n")
    r.commit("base")
    return r


def test_working_tree_against_head(repo: Repo) -> None:
    repo.git("mv", "sub/old name.py", "sub/new name.py")
    repo.write("mod.py", "a = 1\nb = 22\nc = 3\nd = 4\n")
    (repo.path / "gone.py").unlink()
    repo.write("fresh.py", "z = 0\n")
    repo.write(".gitignore", "ignored.py\n")
    repo.write("ignored.py", "q = 1\n")
    scope = GitRepo(repo.path).scope(DiffMode.WORKING)
    by_path = {c.path: c for c in scope.changes}
    assert set(by_path) == {"mod.py", "sub/new name.py", "fresh.py", ".gitignore"}
    assert by_path["sub/new name.py"].old_path == "sub/old name.py"
    assert by_path["fresh.py"].old_path is None and by_path["fresh.py"].status == "?"
    assert scope.deleted == 1 and scope.base_ref == "HEAD" and scope.base_commit


def test_staged_only_and_staged_content(repo: Repo, tmp_path: Path) -> None:
    repo.write("mod.py", "staged = True\n")
    repo.git("add", "mod.py")
    repo.write("mod.py", "working = True\n")  # not staged: the index keeps the staged text
    repo.write("keep.py", "x = 2\n")  # modified, not staged
    git = GitRepo(repo.path)
    scope = git.scope(DiffMode.STAGED)
    assert [c.path for c in scope.changes] == ["mod.py"]
    out = tmp_path / "index"
    out.mkdir()
    assert git.materialize_index(scope, out, max_bytes=1 << 20) == ["mod.py"]
    assert (out / "mod.py").read_text() == "staged = True\n"


def test_base_content_at_the_new_path_of_a_rename(repo: Repo, tmp_path: Path) -> None:
    repo.git("mv", "sub/old name.py", "sub/new name.py")
    repo.write("mod.py", "changed\n")
    git = GitRepo(repo.path)
    scope = git.scope(DiffMode.WORKING)
    out = tmp_path / "base"
    out.mkdir()
    written = sorted(git.materialize_base(scope, out, max_bytes=1 << 20))
    assert written == ["mod.py", "sub/new name.py"]
    assert (out / "sub/new name.py").read_text() == "def f():\n    return 1\n"
    assert (out / "mod.py").read_text() == "a = 1\nb = 2\nc = 3\n"
    # A blob over the size cap is not read at all.
    small = tmp_path / "small"
    small.mkdir()
    assert git.materialize_base(scope, small, max_bytes=5) == []


def test_changed_lines(repo: Repo) -> None:
    repo.git("mv", "sub/old name.py", "sub/new name.py")
    repo.write("mod.py", "a = 1\nb = 22\nc = 3\nd = 4\n")
    repo.write("fresh.py", "z = 0\n")
    git = GitRepo(repo.path)
    ranges = git.changed_lines(git.scope(DiffMode.WORKING))
    assert ranges["mod.py"] == [(2, 2), (4, 4)]
    assert ranges["sub/new name.py"] == []  # a pure rename changes no line
    assert "fresh.py" not in ranges  # untracked: wholly new


def test_since_a_ref_and_subfolder_root(repo: Repo) -> None:
    first = repo.git("rev-parse", "HEAD").strip()
    repo.write("sub/added.py", "n = 1\n")
    repo.write("mod.py", "other\n")
    repo.commit("second")
    scope = GitRepo(repo.path / "sub").scope(DiffMode.SINCE, first)
    assert [c.path for c in scope.changes] == ["added.py"]  # relative to the audit root; mod.py is outside
    assert scope.base_commit == first


def test_unborn_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = Repo(tmp_path / "new", tmp_path / "home")
    for key, value in r.env.items():
        monkeypatch.setenv(key, value)
    r.write("a.py", "x = 1\n")
    git = GitRepo(r.path)
    scope = git.scope(DiffMode.WORKING)
    assert scope.base_commit is None and [c.path for c in scope.changes] == ["a.py"]
    assert git.materialize_base(scope, tmp_path, max_bytes=100) == []


def test_refs_are_checked(repo: Repo) -> None:
    for bad in ("-p", "--output=/tmp/x", "", "a b", "x" * 300, "a\nb"):
        with pytest.raises(InvalidInput):
            check_ref(bad)
    with pytest.raises(GitError, match="names no commit"):
        GitRepo(repo.path).resolve("no-such-branch")
    assert GitRepo(repo.path).resolve("main~0") == repo.git("rev-parse", "HEAD").strip()


def test_not_a_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match="not in a git repository"):
        GitRepo(plain)


def test_parse_hunks_quoted_and_deletions() -> None:
    patch = (
        b'diff --git "a/t\\tab.py" "b/t\\tab.py"\n--- "a/t\\tab.py"\n+++ "b/t\\tab.py"\n'
        b"@@ -1,2 +0,0 @@\n-x\n-y\n@@ -5 +4,3 @@\n+a\n+b\n+c\n"
        b"diff --git a/gone b/gone\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n"
    )
    assert parse_hunks(patch) == {"t\tab.py": [(4, 6)]}


def test_ignore_rules_and_git_paths_are_read_from_the_audit_roots_repository(repo: Repo) -> None:
    # check-ignore refuses --literal-pathspecs, which every other command here gets.
    sub = GitRepo(repo.path / "sub")
    assert not sub.is_ignored("local.json")
    repo.write(".gitignore", "sub/local.json\n")
    assert sub.is_ignored("local.json") and not sub.is_ignored("old name.py")
    assert sub.git_path("info/exclude") == (repo.path / ".git" / "info" / "exclude").resolve()
