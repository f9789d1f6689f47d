"""Helpers the tests share, imported as `tests.support.<module>`; fixtures live in conftest.py files.

Nothing here is collected as a test: a test module imports from here (or gets a fixture from a
conftest.py), never from another test module.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository's root folder (the one holding pyproject.toml)."""

DATA = Path(__file__).resolve().parent / "data"
"""Recorded inputs the tests read (files too large or too exact to write inline)."""
