"""The error tree drawn in tools/errors.py names every SecauditError subclass, with its module,
and nothing that no longer exists: it cannot drift from the code again."""

from __future__ import annotations

import importlib
import pkgutil
import re

import secaudit.server
import secaudit.tools
from secaudit.tools import errors
from secaudit.tools.errors import SecauditError


def _import_everything() -> None:
    for package in (secaudit.tools, secaudit.server):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.rsplit(".", 1)[-1] != "__main__":  # runs the CLI when imported
                importlib.import_module(info.name)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _drawn() -> dict[str, list[str]]:
    """Each name in the docstring's tree, with the lines drawing it."""
    doc = errors.__doc__ or ""
    lines: dict[str, list[str]] = {}
    for line in doc.splitlines():
        match = re.search(r"(?:[├└]── |^    )(\w+)\s", line)
        if match and match.group(1)[0].isupper():
            lines.setdefault(match.group(1), []).append(line)
    return lines


def test_every_secaudit_error_is_drawn_with_its_module() -> None:
    _import_everything()
    classes = {c for c in _subclasses(SecauditError) if c.__module__.startswith("secaudit.")}
    assert len(classes) >= 20
    drawn = _drawn()
    missing = sorted(c.__name__ for c in classes if c.__name__ not in drawn)
    assert not missing, f"add these to the tree in tools/errors.py: {missing}"
    for cls in classes:
        if cls.__module__ == errors.__name__:
            continue
        where = "/".join(cls.__module__.split(".")[1:]) + ".py"  # secaudit.tools.x.y -> tools/x/y.py
        assert any(f"({where})" in line for line in drawn[cls.__name__]), (
            f"{cls.__name__}: the tree must say it lives in {where}"
        )


def test_the_tree_names_nothing_that_does_not_exist() -> None:
    _import_everything()
    names = {c.__name__ for c in _subclasses(SecauditError)} | {"SecauditError"}
    stale = sorted(set(_drawn()) - names)
    assert not stale, f"the tree in tools/errors.py names classes that do not exist: {stale}"


def test_a_class_drawn_under_a_parent_derives_from_it() -> None:
    _import_everything()
    by_name = {c.__name__: c for c in _subclasses(SecauditError)} | {"SecauditError": SecauditError}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.search(r"^(    (?:[│ ]   )*)(?:[├└]── )?(\w+)\s", line)
        if match is None or match.group(2) not in by_name:
            continue
        if "──" not in line and match.group(2) != "SecauditError":
            continue  # a continuation line
        depth = len(match.group(1)) // 4
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parent, child = by_name[stack[-1][1]], by_name[match.group(2)]
            assert issubclass(child, parent), f"{child.__name__} is drawn under {parent.__name__}"
        stack.append((depth, match.group(2)))
