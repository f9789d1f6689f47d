"""One registration style for every plug-in kind: a `Registry` of plug-in classes by name.

Each kind has one registry, filled in one module by `register` calls, one line per plug-in:

    kind                 registry          registered in                    interface
    scanner              SCANNERS          tools/scanners/builtin.py        tools/scanners/interface.py
    dependency source    SOURCES           tools/deps/sources/__init__.py   tools/deps/interface.py
    fix generator        FIX_GENERATORS    tools/fixes/generators.py        tools/fixes/model.py

A plug-in is registered as its class or as a "package.module:Class" reference. A reference is
imported on first use, so a command that never scans never imports bandit or detect-secrets. The
name a plug-in is registered under must be the class's own `name`; a second registration of a name
is a programming error, not an override.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Generic, TypeVar, cast

from secaudit.tools.errors import NotFound

__all__ = ["PluginNotFound", "Registry"]

T = TypeVar("T")


class PluginNotFound(NotFound):
    code = "plugin_not_found"


class Registry(Generic[T]):
    """Plug-in classes of one kind (subclasses of `base`), by name, in registration order."""

    def __init__(self, kind: str, base: type[Any]) -> None:
        self.kind = kind
        self._base = base
        self._entries: dict[str, type[T] | str] = {}
        self._lock = threading.Lock()

    def register(self, name: str, plugin: type[T] | str) -> None:
        """Add `plugin` (a class, or a "module:Class" reference imported on first use) as `name`."""
        if isinstance(plugin, str) and ":" not in plugin:
            raise ValueError(f"{self.kind} {name!r}: a reference is 'package.module:Class', not {plugin!r}")
        if not isinstance(plugin, str):
            self._check(name, plugin)
        with self._lock:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = plugin

    def names(self) -> list[str]:
        """Registered names in registration order; nothing is imported."""
        with self._lock:
            return list(self._entries)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._entries

    def get(self, name: str) -> type[T]:
        """The class registered as `name` (importing it on first use); PluginNotFound if none."""
        with self._lock:
            entry = self._entries.get(name)
            known = list(self._entries)
        if entry is None:
            raise PluginNotFound(
                f"unknown {self.kind} {name[:60]!r}; available: {', '.join(sorted(known)) or 'none'}"
            )
        if not isinstance(entry, str):
            return entry
        module_name, _, attribute = entry.partition(":")
        loaded = getattr(importlib.import_module(module_name), attribute)
        cls = self._check(name, loaded)
        with self._lock:
            self._entries[name] = cls
        return cls

    def all(self) -> list[type[T]]:
        """Every registered class, in registration order (importing references)."""
        return [self.get(name) for name in self.names()]

    def _check(self, name: str, plugin: object) -> type[T]:
        if not (isinstance(plugin, type) and issubclass(plugin, self._base)):
            raise TypeError(f"{self.kind} {name!r} is not a {self._base.__name__} subclass: {plugin!r}")
        own = getattr(plugin, "name", name)
        if own != name:
            raise TypeError(f"{self.kind} registered as {name!r} names itself {own!r}")
        return cast("type[T]", plugin)
