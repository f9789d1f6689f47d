"""Package-name normalisation per ecosystem, and the ecosystems we know how to match."""

from __future__ import annotations

import re

__all__ = [
    "NPM",
    "PYPI",
    "SUPPORTED_ECOSYSTEMS",
    "canonical_ecosystem",
    "name_notes",
    "normalize_name",
    "shown_name",
    "valid_name",
]

PYPI = "PyPI"
NPM = "npm"
SUPPORTED_ECOSYSTEMS = (PYPI, NPM)

_ECOSYSTEM_ALIASES = {"pypi": PYPI, "npm": NPM}
# PEP 508 names: ASCII letters and digits, with `.`, `_`, `-` inside.
_PEP508_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
# npm's rules (validate-npm-package-name): at most 214 characters, URL-safe, not starting with "." or
# "_", an optional "@scope/". Narrowed further to letters, digits, ".", "_" and "-", with a letter or
# digit first, so the name can never be read by a shell as anything but one word, nor by npm as an
# option. Capitals are kept: legacy packages (before 2017) may have them.
_NPM_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_NPM_NAME = re.compile(rf"^(?:@{_NPM_PART}/)?{_NPM_PART}$")
NPM_MAX_NAME = 214
_PEP503_SEPARATORS = re.compile(r"[-_.]+")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def canonical_ecosystem(value: str) -> str:
    """OSV ecosystem names are case-sensitive ("PyPI"); accept the obvious variants of ours."""
    return _ECOSYSTEM_ALIASES.get(value.strip().lower(), value.strip())


def normalize_name(ecosystem: str, name: str) -> str:
    """The key a package is matched by: PEP 503 for PyPI; for npm, ASCII letters lower-cased.

    npm: the registry refuses new names with capitals and names that differ from an existing one
    only by case, so two live packages differing only by case can only be pre-2017 legacy names.
    Advisory data, on the other hand, is sometimes mis-capitalised (GHSA-8hc4-vh64-cxmj names
    `Axios` for the `axios` package): an exact comparison would silently miss it. Folding case
    risks, at worst, a flagged false match between two legacy names (the finding says when the
    advisory's spelling differs); exact comparison risks a silent miss, which a security audit must
    not prefer. Other ecosystems keep the name as written.

    Only ASCII letters are lower-cased: `str.lower()` would fold look-alikes such as the Kelvin sign
    (U+212A) into ASCII "k" and so make a non-ASCII name match a real package. Real PyPI and npm
    names are ASCII, so this is the registries' own folding for every name that can exist there.
    """
    name = name.strip()
    if ecosystem == PYPI:
        return _PEP503_SEPARATORS.sub("-", name).translate(_ASCII_UPPER)
    if ecosystem == NPM:
        return name.translate(_ASCII_UPPER)
    return name


def valid_name(ecosystem: str, name: str) -> bool:
    """Whether `name` can be a package of `ecosystem` (PEP 508 for PyPI, npm's rules for npm).

    A name that cannot exist there (a Cyrillic `rеquests`, the Kelvin sign) can match no advisory,
    so it is never counted as checked. Other ecosystems: any non-empty name."""
    if ecosystem == PYPI:
        return _PEP508_NAME.match(name) is not None
    if ecosystem == NPM:
        return len(name) <= NPM_MAX_NAME and _NPM_NAME.match(name) is not None
    return bool(name.strip())


def shown_name(name: str) -> str:
    """A name for a note: non-ASCII characters as escapes, so a look-alike shows what it is."""
    return name.encode("ascii", "backslashreplace").decode()


def name_notes(name: str) -> list[str]:
    """Notes to attach to a dependency whose name deserves a second look."""
    if not name.isascii():
        return [
            f"package name '{shown_name(name)}' is not ASCII: it can only "
            "match an advisory for that exact name, never the look-alike ASCII package"
        ]
    return []
