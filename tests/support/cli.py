"""Running `secaudit` as a subprocess in tests: its environment points at the test's store and roots."""

from __future__ import annotations

import os

from secaudit.server.settings import Settings

__all__ = ["cli_env"]


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a `secaudit` subprocess pointing at the test's store and roots."""
    # Without CI: `secaudit audit` reads it for its --fail-on-partial default, and a test's exit
    # codes must not depend on where the suite runs (a test that wants it passes it in `extra`).
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECAUDIT_") and k != "CI"}
    env["SECAUDIT_STORE"] = str(settings.store_path)
    env["SECAUDIT_ALLOWED_ROOTS"] = os.pathsep.join(str(r) for r in settings.allowed_roots)
    env.update(extra)
    return env
