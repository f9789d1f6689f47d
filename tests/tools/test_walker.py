"""The one walk of a tree, its default excludes and git's ignore rules (`tools/walker.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from secaudit.tools.walker import FileRef, GitIgnore, PathGlobs, gitignore_ignores, is_excluded_dir, walk


def write(root: Path, rel: str, text: str = "x\n") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def walked(root: Path) -> list[str]:
    return [f.rel for f in walk(root, max_files=1000, max_file_bytes=1 << 20).files]


def test_default_excludes_and_unnamed_virtualenvs(tmp_path: Path) -> None:
    for rel in ("a.py", "node_modules/m.js", ".venv/v.py", "pkg.egg-info/PKG-INFO", "env2/pyvenv.cfg"):
        write(tmp_path, rel)
    write(tmp_path, "env2/lib/x.py")
    result = walk(tmp_path, max_files=1000, max_file_bytes=1 << 20)
    assert [f.rel for f in result.files] == ["a.py"]
    assert sorted(result.excluded_dirs) == [".venv", "env2", "node_modules", "pkg.egg-info"]
    assert is_excluded_dir(".git") and is_excluded_dir("x.egg-info") and not is_excluded_dir("src")


def test_virtualenvs_are_known_by_their_listing_at_any_depth_but_the_root_is_walked(tmp_path: Path) -> None:
    # The pyvenv.cfg is looked for in a folder's own listing (no stat per folder): the audited root
    # itself is walked even when it is one (auditing a virtualenv on purpose).
    for rel in ("pyvenv.cfg", "top.py", "a/b/venv-x/pyvenv.cfg", "a/b/venv-x/lib/m.py", "a/b/c.py"):
        write(tmp_path, rel)
    result = walk(tmp_path, max_files=1000, max_file_bytes=1 << 20)
    assert sorted(f.rel for f in result.files) == ["a/b/c.py", "pyvenv.cfg", "top.py"]
    assert result.excluded_dirs == ["a/b/venv-x"]
    assert not any(rel.startswith("a/b/venv-x/") for rel in result.seen)


def test_only_a_real_pyvenv_cfg_file_makes_a_virtualenv(tmp_path: Path) -> None:
    # A dangling link, a folder or a pipe named pyvenv.cfg cannot hide the code beside it.
    write(tmp_path, "dangling/m.py")
    (tmp_path / "dangling" / "pyvenv.cfg").symlink_to(tmp_path / "nowhere")
    write(tmp_path, "dir/m.py")
    (tmp_path / "dir" / "pyvenv.cfg").mkdir()
    write(tmp_path, "fifo/m.py")
    os.mkfifo(tmp_path / "fifo" / "pyvenv.cfg")
    write(tmp_path, "linked/m.py")
    write(tmp_path, "real.cfg")
    (tmp_path / "linked" / "pyvenv.cfg").symlink_to(tmp_path / "real.cfg")  # a link to a file counts
    result = walk(tmp_path, max_files=1000, max_file_bytes=1 << 20)
    assert sorted(f.rel for f in result.files if f.rel.endswith("m.py")) == [
        "dangling/m.py", "dir/m.py", "fifo/m.py",
    ]  # fmt: skip
    assert result.excluded_dirs == ["linked"]


def test_gitignore_beats_info_exclude_and_deeper_beats_shallower(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "*.log\n")
    write(tmp_path, "sub/.gitignore", "!deep.tmp\n")
    write(tmp_path, ".gitignore", "!keep.log\nbuild-out/\n*.tmp\n")
    for rel in ("drop.log", "keep.log", "build-out/a.py", "sub/x.tmp", "sub/deep.tmp", "sub/a.py"):
        write(tmp_path, rel)
    assert walked(tmp_path) == [".gitignore", "keep.log", "sub/.gitignore", "sub/a.py", "sub/deep.tmp"]
    ignore = GitIgnore(tmp_path)
    # The same verdicts through the class the config scanner asks, file by file.
    for rel, expected in (
        ("drop.log", True),
        ("keep.log", False),
        ("build-out/a.py", True),  # under an ignored folder: ignored, whatever its own name
        ("sub/x.tmp", True),
        ("sub/deep.tmp", False),
        ("sub/a.py", False),
    ):
        assert ignore.ignored(rel) is expected, rel


def test_env_kept_by_gitignore_over_info_exclude(tmp_path: Path) -> None:
    # git: a folder's .gitignore overrides .git/info/exclude. The config scanner used to join the
    # two in the opposite order and would have called this .env ignored.
    write(tmp_path, ".git/info/exclude", ".env\n")
    write(tmp_path, ".gitignore", "!.env\n")
    assert GitIgnore(tmp_path).ignored(".env") is False


def test_an_ignore_file_behind_a_link_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "rules", "*.py\n")
    repo = tmp_path / "repo"
    write(repo, "a.py")
    (repo / ".gitignore").symlink_to(outside / "rules")
    assert walked(repo) == ["a.py"]
    assert GitIgnore(repo).ignored("a.py") is False


def test_oversized_or_undecodable_ignore_files(tmp_path: Path) -> None:
    write(tmp_path, "a.py")
    (tmp_path / ".gitignore").write_bytes(b"\xff\xfe junk\na.py\n")
    assert walked(tmp_path) == [".gitignore"]  # the valid line still applies
    (tmp_path / ".gitignore").write_bytes(b"a.py\n" + b"#" * (1 << 20))
    assert "a.py" in walked(tmp_path)  # over 1 MiB: not read, so nothing is ignored


@pytest.mark.timeout(20)
def test_links_and_fifos_are_reported_not_opened(tmp_path: Path) -> None:
    write(tmp_path, "a.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    os.mkfifo(tmp_path / "pipe.py")
    result = walk(tmp_path, max_files=1000, max_file_bytes=1 << 20)
    assert [f.rel for f in result.files] == ["a.py"]
    assert {s.path: s.reason for s in result.skips} == {
        "link.py": "symbolic link, not followed",
        "pipe.py": "a FIFO (named pipe), not read",
    }


def test_gitignore_text() -> None:
    assert gitignore_ignores("*.env\n", "deploy/prod.env")
    assert not gitignore_ignores(".env*\n!.env\n", ".env")
    assert not gitignore_ignores("", ".env")


def test_item7a_a_path_longer_than_the_os_allows_is_a_skip_not_the_end(tmp_path: Path) -> None:
    # Issue 11 item 7a: a folder whose `pyvenv.cfg` probe is longer than PATH_MAX raised
    # ENAMETOOLONG out of the walk, and every audit of the tree failed with "internal error".
    from tests.support.audit import make_deep_tree

    write(tmp_path, "top.py")
    _edge, fits, deep = make_deep_tree(tmp_path)
    write(tmp_path, "e/later.py")  # a folder walked after the deep ones
    result = walk(tmp_path, max_files=1000, max_file_bytes=1 << 20)
    rels = [f.rel for f in result.files]
    assert rels == ["top.py", fits, "e/later.py"]
    reasons = {s.path: s.reason for s in result.skips}
    [(skipped, reason)] = reasons.items()
    assert deep.startswith(skipped + "/") and "ENAMETOOLONG" in reason
    assert result.faults == 1


def test_project_exclude_patterns_prune_folders_and_files(tmp_path: Path) -> None:
    for rel in ("vendor/a/b.py", "web/app.min.js", "web/app.js", "src/vendor.py", "docs/x.md", "keep.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    globs = PathGlobs(["vendor/**", "*.min.js", "docs/"])
    result = walk(tmp_path, max_files=100, max_file_bytes=1000, exclude=globs)
    assert sorted(f.rel for f in result.files) == ["keep.py", "src/vendor.py", "web/app.js"]
    assert result.excluded == 3  # vendor/ and docs/ are not entered; the .min.js file is left out
    assert not any(s.startswith(("vendor/", "docs/")) for s in result.seen)
    assert any(
        "left out by the project's exclude patterns (vendor/**, *.min.js, docs/)" in n for n in result.notes
    )
    # The same matcher answers for finding paths: a folder pattern covers everything below it.
    assert (
        globs.matches("docs/deep/er.md") and globs.matches("a/b/c.min.js") and not globs.matches("src/x.py")
    )


def test_walked_refs_equal_refs_built_by_hand(tmp_path: Path) -> None:
    # The walk builds its FileRefs without the dataclass constructor and its Paths without parsing
    # (tools/walker.py): the objects must be the ones the constructor would have made.
    import dataclasses

    write(tmp_path, "pkg/sub/mod.py", "print(1)\n")
    [ref] = walk(tmp_path, max_files=10, max_file_bytes=1 << 20).files
    st = os.lstat(tmp_path / "pkg/sub/mod.py")
    made = FileRef(
        tmp_path / "pkg" / "sub" / "mod.py", "pkg/sub/mod.py", st.st_size, st.st_mode, st.st_mtime_ns,
        st.st_ctime_ns, st.st_ino, st.st_dev,
    )  # fmt: skip
    assert ref == made and hash(ref) == hash(made) and vars(ref) == vars(made) and repr(ref) == repr(made)
    assert str(ref.path) == str(tmp_path / "pkg/sub/mod.py") and ref.path.parts == made.path.parts
    assert dataclasses.replace(ref, size=1).size == 1 and ref.same_stat(st)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.size = 2  # type: ignore[misc]


def test_folder_faults_with_types_from_the_listing(tmp_path: Path) -> None:
    # A folder's type comes from the listing, not an lstat: the faults must stay those of the lstat
    # walk. A folder that cannot be entered (no x) is a fault of its own entry; one that can be
    # entered but not listed is "folder cannot be read".
    for rel in ("a.py", "shut/x.py", "listless/y.py"):
        write(tmp_path, rel)
    (tmp_path / "shut").chmod(0o600)
    (tmp_path / "listless").chmod(0o300)
    try:
        try:
            os.listdir(tmp_path / "listless")
        except PermissionError:
            pass
        else:
            pytest.skip("this process reads folders whatever their mode (root with CAP_DAC_OVERRIDE)")
        result = walk(tmp_path, max_files=100, max_file_bytes=1 << 20)
    finally:
        (tmp_path / "shut").chmod(0o755)
        (tmp_path / "listless").chmod(0o755)
    assert [f.rel for f in result.files] == ["a.py"]
    reasons = {s.path: s.reason for s in result.skips}
    assert reasons["shut"].startswith("cannot be examined: Permission denied")
    assert reasons["listless"].startswith("folder cannot be read: Permission denied")
    assert "shut" in result.seen and "listless" not in result.seen and result.faults == 2


def test_paths_entries_that_name_nothing_or_only_left_out_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.js").write_text("x\n")
    (tmp_path / "node_modules" / "lib").mkdir(parents=True)
    (tmp_path / "node_modules" / "lib" / "i.js").write_text("x\n")
    (tmp_path / "build.log").write_text("x\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    result = walk(
        tmp_path,
        max_files=100,
        max_file_bytes=1 << 20,
        paths=[
            "src",
            "src/*.js",
            "node_modules/lib",
            "node_modules/**/*.js",
            "build.log",
            "nope/*.py",
            "src/app.ts",
        ],
    )
    assert [f.rel for f in result.files] == ["src/app.js"]
    assert result.unmatched == ["nope/*.py", "src/app.ts"]
    assert result.left_out_only == ["node_modules/lib", "node_modules/**/*.js", "build.log"]
    # No `paths`: nothing to match.
    whole = walk(tmp_path, max_files=100, max_file_bytes=1 << 20)
    assert whole.unmatched == [] and whole.left_out_only == []
