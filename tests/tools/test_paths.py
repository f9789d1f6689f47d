"""The one rule for repository-relative paths (`secaudit.tools.paths`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from secaudit.tools.errors import InvalidInput, PathNotAllowed
from secaudit.tools.paths import check_paths, check_relpath, confine, normalize_relpath, path_in_scope


@pytest.mark.parametrize("rel", ["a.py", "pkg/web.py", ".env", "a/.hidden/b", "..foo/bar", "x..y"])
def test_plain_relative_paths_pass_unchanged(rel: str) -> None:
    assert check_relpath(rel) == tuple(rel.split("/"))


@pytest.mark.parametrize(
    "rel", ["/etc/passwd", "../x", "a/../../x", "a/../b", "./a", "a/./b", "a//b", "a/", ".", "C:/x", "c:x"]
)
def test_leaving_or_ambiguous_paths_are_refused(rel: str) -> None:
    # Nothing is folded: `a/../b` would stay inside, but what is checked must be what is opened.
    with pytest.raises(PathNotAllowed):
        check_relpath(rel)


@pytest.mark.parametrize("rel", ["", "a\x00b", "a\\b", "x" * 4097])
def test_malformed_paths_are_invalid_input_not_path_errors(rel: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_relpath(rel, "a fix path")
    assert not isinstance(caught.value, PathNotAllowed)
    assert str(caught.value).startswith("a fix path must")


def test_normalize_folds_then_applies_the_rule() -> None:
    assert normalize_relpath("sub/../requirements.txt") == "requirements.txt"
    assert normalize_relpath("./a/./b.txt") == "a/b.txt"
    for bad in ("../outside.txt", "a/../../x", "/etc/passwd", "a/..", "C:/x"):
        with pytest.raises(PathNotAllowed):
            normalize_relpath(bad)
    for bad in ("", "a\\b", "a\x00"):
        with pytest.raises(InvalidInput):
            normalize_relpath(bad)


def test_scope_paths_forgive_separators_but_not_escapes() -> None:
    assert check_paths(None) is None
    assert check_paths([" pkg/ ", "./src/*.py", "a\\b.py"]) == ["pkg", "src/*.py", "a/b.py"]
    for bad in (["../x"], ["/etc"], ["a/../b"], ["a//b"], ["."], [""], ["a\x00"], ["x" * 1001]):
        with pytest.raises(InvalidInput):
            check_paths(bad)
    with pytest.raises(InvalidInput, match="at most 200"):
        check_paths(["a"] * 201)


def test_scope_matching() -> None:
    assert path_in_scope("pkg/a.py", ["pkg"]) and path_in_scope("pkg/a.py", ["*.py"])
    assert not path_in_scope("pkgx/a.py", ["pkg"])
    assert path_in_scope("anything", None)


def test_item15_tilde_is_never_expanded_in_a_caller_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path.resolve()
    home = root / "home"
    (home / "notes").mkdir(parents=True)
    (root / "~" / "notes").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    # `~/notes` names the folder `~` in the root, never the server's home (here inside the root too).
    assert confine("~/notes", [root]) == root / "~" / "notes"
    assert confine("~", [root]) == root / "~"
    monkeypatch.setenv("HOME", str(tmp_path.parent))
    with pytest.raises(InvalidInput):
        confine("~user/x", [root])  # the folder `~user` does not exist under the root
