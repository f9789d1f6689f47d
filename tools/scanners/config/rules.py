"""The config scanner's rules: ids, titles, severities and fixes that never change (docs/rules.md)."""

from __future__ import annotations

from dataclasses import dataclass

from secaudit.tools.severity import Severity

__all__ = ["RULES", "Rule"]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    cwe: int
    fix: str


def _rule(rule_id: str, title: str, severity: Severity, cwe: int, fix: str) -> Rule:
    return Rule(rule_id, title, severity, cwe, fix)


_S = Severity
RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _rule(
            "config.env-file-committed",
            "Environment file committed to git",
            _S.HIGH,
            538,
            "Remove it from the index (git rm --cached), rotate its secrets, add it to .gitignore.",
        ),
        _rule(
            "config.env-file-not-ignored",
            "Environment file not covered by .gitignore",
            _S.MEDIUM,
            538,
            "Add the file (or `.env*` with `!.env.example`) to .gitignore.",
        ),
        _rule(
            "config.private-key-file",
            "Private key file in the repository",
            _S.HIGH,
            321,
            "Delete the key from the tree and its history, revoke it, and load keys from a secret store.",
        ),
        _rule(
            "config.docker-root-user",
            "Container runs as root",
            _S.MEDIUM,
            250,
            "Add a non-root `USER` (name or uid other than root/0) as the last USER of the final stage.",
        ),
        _rule(
            "config.docker-secret-in-env",
            "Secret in Dockerfile ENV/ARG",
            _S.HIGH,
            798,
            "Use build secrets (RUN --mount=type=secret) or runtime environment, not ENV/ARG values.",
        ),
        _rule(
            "config.docker-add-url",
            "Dockerfile ADD from a URL",
            _S.MEDIUM,
            494,
            "Download with a verified checksum (ADD --checksum=sha256:... or curl + sha256sum -c).",
        ),
        _rule(
            "config.docker-unpinned-image",
            "Base image not pinned",
            _S.LOW,
            1104,
            "Pin a version tag and preferably a digest: FROM image:1.2.3@sha256:...",
        ),
        _rule(
            "config.compose-privileged",
            "Compose service runs privileged",
            _S.HIGH,
            250,
            "Remove `privileged: true`; grant only the capabilities needed with cap_add.",
        ),
        _rule(
            "config.compose-host-network",
            "Compose service on the host network",
            _S.MEDIUM,
            668,
            "Remove `network_mode: host`; publish only the ports needed.",
        ),
        _rule(
            "config.compose-db-exposed",
            "Database published on all interfaces",
            _S.HIGH,
            668,
            'Bind to loopback ("127.0.0.1:5432:5432") or do not publish; services reach it by name.',
        ),
        _rule(
            "config.default-password",
            "Default or empty password",
            _S.HIGH,
            1392,
            "Set a strong password from a secret or the environment; never ship a default.",
        ),
        _rule(
            "config.debug-enabled",
            "Debug mode enabled in settings",
            _S.MEDIUM,
            489,
            "Read DEBUG from the environment, defaulting to False.",
        ),
        _rule(
            "config.hardcoded-secret-key",
            "Hardcoded framework SECRET_KEY",
            _S.HIGH,
            798,
            "Load SECRET_KEY from the environment or a secret store, with no literal fallback; rotate it.",
        ),
        _rule(
            "config.allowed-hosts-wildcard",
            "ALLOWED_HOSTS allows every host",
            _S.MEDIUM,
            183,
            "List the real host names in ALLOWED_HOSTS.",
        ),
        _rule(
            "config.cors-any-origin-credentials",
            "CORS allows every origin with credentials",
            _S.HIGH,
            942,
            "List the trusted origins explicitly, or do not allow credentials.",
        ),
        _rule(
            "config.insecure-env-fallback",
            "Setting falls back to an insecure value when its variable is unset",
            _S.MEDIUM,
            1188,
            'Make the lookup fail closed: no default for a required setting (os.environ["X"]), or a '
            "safe one (DEBUG off, no '*' host, CORS not open to every origin).",
        ),
        _rule(
            "config.agent-secret-in-config",
            "Credential written into an AI agent's MCP configuration",
            _S.HIGH,
            798,
            'Reference it instead ("${env:NAME}" in VS Code/Cursor, "${NAME}" in .mcp.json), keep the value '
            "in your environment or a secret store, and rotate it: it is in the repository history.",
        ),
        _rule(
            "config.agent-unpinned-server",
            "MCP server fetched by a package runner without an exact version",
            _S.MEDIUM,
            494,
            "Pin the exact version (npx -y pkg@1.2.3, uvx pkg==1.2.3 / uvx --from pkg==1.2.3 cmd, "
            "pipx run --spec pkg==1.2.3 cmd), or install it and start the installed executable.",
        ),
        _rule(
            "config.agent-hook-pipes-download",
            "Agent hook or MCP server pipes a download into a shell",
            _S.HIGH,
            494,
            "Download to a file, check its pinned sha256, then run it; better, commit the script and run it.",
        ),
        _rule(
            "config.agent-allow-all-commands",
            "Agent allowed to run every command without asking",
            _S.HIGH,
            250,
            'List the commands the agent needs ("Bash(npm run test:*)"), not Bash, Bash(*) or *; do not '
            "commit defaultMode bypassPermissions.",
        ),
        _rule(
            "config.agent-mcp-plain-http",
            "Remote MCP server over plain HTTP",
            _S.MEDIUM,
            319,
            "Use https:// for every MCP server that is not on this machine (loopback http is fine).",
        ),
        _rule(
            "config.agent-config-world-readable",
            "Agent configuration holding a credential is readable by every user",
            _S.MEDIUM,
            732,
            "chmod o-r (or 600) the file, and move the credential out of it (config.agent-secret-in-config).",
        ),
        _rule(
            "config.world-writable",
            "World-writable file",
            _S.MEDIUM,
            732,
            "chmod o-w the file; nothing in a repository needs to be writable by every user.",
        ),
    )
}
