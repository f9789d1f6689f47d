"""Map the top-level `server/` and `tools/` folders to `secaudit.server` and `secaudit.tools`.

setuptools' `find_packages` finds `server`, `server.handlers`, ...; they are installed under
the `secaudit.` prefix so that no package called `server` or `tools` lands in site-packages.
"""

from setuptools import find_packages, setup

_FOUND = find_packages(include=["server", "server.*", "tools", "tools.*"])

setup(
    packages=[f"secaudit.{name}" for name in _FOUND],
    package_dir={"secaudit.server": "server", "secaudit.tools": "tools"},
    package_data={
        "secaudit.server": ["py.typed"],
        # Data beside the code: advisory samples, the semgrep rule pack and its pinned requirements.
        "secaudit.tools": ["py.typed", "**/*.json", "**/*.toml", "**/*.yaml", "**/*.yml", "**/*.txt"],
    },
)
