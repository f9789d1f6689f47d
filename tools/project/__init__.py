"""A project's own audit policy, committed with its code: the configuration (`.secaudit.toml` or
`[tool.secaudit]` in `pyproject.toml`, `config.py`), the triage baseline
(`.secaudit/baseline.json`, `baseline.py`) and the starter file `secaudit init` writes (`init.py`)."""

from secaudit.tools.project.config import (
    CONFIG_FILE,
    PYPROJECT_FILE,
    ProjectConfig,
    ProjectConfigError,
    ProjectPolicy,
    load_config,
)

__all__ = [
    "CONFIG_FILE",
    "PYPROJECT_FILE",
    "ProjectConfig",
    "ProjectConfigError",
    "ProjectPolicy",
    "load_config",
]
