"""Confined reads and atomic writes (`secaudit.tools.confined_io`): one home, two link policies."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from secaudit.tools import confined_io as cio
from secaudit.tools.errors import Conflict, InvalidInput, PathNotAllowed


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "sub" / "a.txt").write_bytes(b"inside\n")
    (tmp_path / "outside.txt").write_bytes(b"secret\n")
    return repo.resolve()


# -- reads -------------------------------------------------------------------------------------------


def test_read_regular_file_and_text(root: Path) -> None:
    assert cio.read_bytes(root, "sub/a.txt") == b"inside\n"
    (root / "bom.txt").write_bytes(b"\xef\xbb\xbfhi")
    assert cio.read_text(root, "bom.txt") == "hi"
    assert cio.is_regular(root, "sub/a.txt") and not cio.is_regular(root, "sub")


def test_read_follows_a_link_only_when_it_stays_inside(root: Path) -> None:
    (root / "in-link").symlink_to(root / "sub" / "a.txt")
    (root / "dir-link").symlink_to(root / "sub")
    assert cio.read_bytes(root, "in-link") == b"inside\n"
    assert cio.read_bytes(root, "dir-link/a.txt") == b"inside\n"
    (root / "out-link").symlink_to(root.parent / "outside.txt")
    (root / "out-dir").symlink_to(root.parent)
    for rel in ("out-link", "out-dir/outside.txt"):
        with pytest.raises(cio.LinkRefused, match="leading outside") as caught:
            cio.read_bytes(root, rel)
        assert isinstance(caught.value, PathNotAllowed)
        assert not cio.is_regular(root, rel)
    (root / "to-root").symlink_to(root)
    with pytest.raises(cio.FileRefused, match="not a regular file"):
        cio.read_bytes(root, "to-root")


def test_read_without_following_refuses_even_inner_links(root: Path) -> None:
    (root / "in-link").symlink_to(root / "sub" / "a.txt")
    (root / "dir-link").symlink_to(root / "sub")
    for rel in ("in-link", "dir-link/a.txt"):
        with pytest.raises(cio.LinkRefused, match="not followed"):
            cio.read_bytes(root, rel, follow_links=False)


def test_read_refuses_paths_leaving_the_root(root: Path) -> None:
    for rel in ("../outside.txt", "/etc/passwd", "sub/../../outside.txt"):
        with pytest.raises(PathNotAllowed):
            cio.read_bytes(root, rel)
    assert cio.read_bytes(root, "sub/../sub/a.txt") == b"inside\n"  # folded, still inside


@pytest.mark.timeout(20)
def test_fifo_is_refused_without_blocking(root: Path) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(cio.FileRefused) as caught:
        cio.read_bytes(root, "pipe")
    assert caught.value.reason == "is a FIFO (named pipe); not read"


def test_size_cap_and_head(root: Path) -> None:
    (root / "big").write_bytes(b"x" * 1000)
    with pytest.raises(cio.FileRefused, match="larger than 999 bytes"):
        cio.read_bytes(root, "big", 999)
    assert cio.read_bytes(root, "big", 1000) == b"x" * 1000
    assert cio.read_head(root, "big", 10) == b"x" * 10
    (root / "bad.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(cio.FileRefused, match="not valid UTF-8"):
        cio.read_text(root, "bad.txt")
    with pytest.raises(cio.FileRefused, match="cannot be opened"):
        cio.read_bytes(root, "missing.txt")


# -- writes ------------------------------------------------------------------------------------------


def _write(root: Path, rel: str, data: bytes | None, expected: str | None, *, absent: bool = False) -> None:
    with cio.open_parent(root, rel) as (dir_fd, name):
        cio.write_atomic(dir_fd, name, rel, data, expected_sha256=expected, expect_absent=absent)


def test_atomic_replace_keeps_mode_and_leaves_no_temp(root: Path) -> None:
    target = root / "sub" / "a.txt"
    target.chmod(0o640)
    _write(root, "sub/a.txt", b"new\n", cio.sha256_bytes(b"inside\n"))
    assert target.read_bytes() == b"new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not [p for p in (root / "sub").iterdir() if p.name.startswith(cio.TEMP_MARK)]


def test_write_compares_before_it_replaces(root: Path) -> None:
    with pytest.raises(Conflict, match="changed since"):
        _write(root, "sub/a.txt", b"new\n", cio.sha256_bytes(b"something else"))
    with pytest.raises(Conflict, match="now exists"):
        _write(root, "sub/a.txt", b"new\n", None, absent=True)
    assert (root / "sub" / "a.txt").read_bytes() == b"inside\n"
    _write(root, "sub/created.txt", b"c\n", None, absent=True)
    assert (root / "sub" / "created.txt").read_bytes() == b"c\n"
    _write(root, "sub/created.txt", None, cio.sha256_bytes(b"c\n"))
    assert not (root / "sub" / "created.txt").exists()


def test_write_refuses_a_link_even_one_inside_the_root(root: Path) -> None:
    # The stricter policy won for writes: a link that stays inside the root is refused too.
    (root / "in-link").symlink_to(root / "sub" / "a.txt")
    (root / "dir-link").symlink_to(root / "sub")
    for rel in ("in-link", "dir-link/a.txt"):
        with pytest.raises(cio.LinkRefused, match="never write through links"):
            _write(root, rel, b"new\n", cio.sha256_bytes(b"inside\n"))
    assert (root / "sub" / "a.txt").read_bytes() == b"inside\n"


def test_write_refuses_a_second_hard_link(root: Path) -> None:
    os.link(root / "sub" / "a.txt", root / "twin.txt")
    with pytest.raises(cio.LinkRefused, match="2 hard links"):
        _write(root, "twin.txt", b"new\n", cio.sha256_bytes(b"inside\n"))
    assert (root / "sub" / "a.txt").read_bytes() == b"inside\n"


def test_open_parent_checks_the_path_and_reports_a_missing_folder(root: Path) -> None:
    with pytest.raises(cio.MissingFolder):
        _write(root, "nope/a.txt", b"x", None, absent=True)
    for rel in ("../x", "a/../b", "/etc/x"):
        with pytest.raises(PathNotAllowed), cio.open_parent(root, rel):
            pass
    with pytest.raises(InvalidInput), cio.open_parent(root, "a\\b"):
        pass


def test_current_and_temp_cleanup(root: Path) -> None:
    with cio.open_parent(root, "sub/a.txt") as (dir_fd, name):
        assert cio.read_current(dir_fd, "missing", "sub/missing").content is None
        current = cio.read_current(dir_fd, name, "sub/a.txt")
        assert current.content == b"inside\n" and current.sha256 == cio.sha256_bytes(b"inside\n")
        # The documented name of a killed writer's temp file: mark, 16 hex of sha256(name), random.
        stale = f"{cio.TEMP_MARK}{hashlib.sha256(name.encode()).hexdigest()[:16]}-dead"
        (root / "sub" / stale).write_bytes(b"half")
        (root / "sub" / (cio.TEMP_MARK + "other")).write_bytes(b"not ours")
        assert cio.cleanup_temps(dir_fd, name) == 1
    assert sorted(p.name for p in (root / "sub").iterdir()) == [cio.TEMP_MARK + "other", "a.txt"]
    assert cio.real_target(root, "sub/a.txt") == root / "sub" / "a.txt"
