"""Manifest discovery is the audit's own walk: same excludes, same .gitignore, links reported."""

from __future__ import annotations

from pathlib import Path

from secaudit.tools.deps import discover_manifests


def test_discovery_uses_the_walk(tmp_path: Path) -> None:
    for rel in (
        "requirements.txt",
        "generated/requirements.txt",
        "build/requirements.txt",
        "web/package.json",
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x==1\n" if rel.endswith(".txt") else "{}")
    (tmp_path / ".gitignore").write_text("generated/\n")
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "env" / "requirements.txt").write_text("x==1\n")
    (tmp_path / "requirements-dev.txt").symlink_to(tmp_path / "requirements.txt")
    # The link is listed (the confined reader then decides); ignored and excluded folders are not.
    assert discover_manifests(tmp_path) == ["requirements-dev.txt", "requirements.txt", "web/package.json"]
