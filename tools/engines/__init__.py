"""Analysis engines that run as separate programs (today: semgrep), found or installed privately.

EngineError           installing or probing an engine failed (message says what and how to fix)
└── EngineUnavailable  no usable engine was found; the message names the install command
"""

from secaudit.tools.engines.semgrep import (
    INSTALL_COMMAND,
    MIN_VERSION,
    PINNED_VERSION,
    Engine,
    EngineError,
    EngineStatus,
    EngineUnavailable,
    InstallReport,
    Manifest,
    discover,
    engine_environment,
    engine_status,
    install,
    probe_version,
    read_manifest,
)

__all__ = [
    "INSTALL_COMMAND",
    "MIN_VERSION",
    "PINNED_VERSION",
    "Engine",
    "EngineError",
    "EngineStatus",
    "EngineUnavailable",
    "InstallReport",
    "Manifest",
    "discover",
    "engine_environment",
    "engine_status",
    "install",
    "probe_version",
    "read_manifest",
]
