"""The installed package's version: light, so `secaudit --version` and SARIF output need nothing else."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["package_version"]


def package_version() -> str:
    try:
        return version("secaudit-mcp")
    except PackageNotFoundError:
        return "0+unknown"
