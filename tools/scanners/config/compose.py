"""Compose files: privileged services, host networking, databases published on every interface,
default passwords (also the service's own name, its image's or its user's as the password). Read
through PyYAML's SafeLoader as a node tree (for line numbers); nothing is constructed, so no YAML
tag runs anything. An `environment` entry whose key is no variable name (`"#KEY=x"`, a disabled
line) is not a setting."""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from .common import Hit, Skip, is_variable_name, weak_password_hit

__all__ = ["is_compose", "scan_compose"]

_COMPOSE = re.compile(r"^(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml$")
_DB_IMAGES = re.compile(
    r"(?:^|/)(?:redis|valkey|keydb|postgres|postgis|timescaledb|mysql|mariadb|percona|mongo|mongodb|"
    r"memcached|elasticsearch|opensearch|cassandra|couchdb|couchbase|influxdb|neo4j|clickhouse|rethinkdb|"
    r"mssql|cockroach)[\w.-]*$"
)
_LOOPBACK = ("127.", "localhost", "::1", "[::1]")


def is_compose(name: str) -> bool:
    return bool(_COMPOSE.match(name))


def _node_map(node: yaml.Node | None) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            out[str(key.value)] = value
    return out


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag.endswith(":null") else str(node.value)
    return None


def _is_true(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.ScalarNode) and str(node.value).lower() in ("true", "yes", "on")


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _all_interfaces(port: str) -> bool:
    """Whether a short-syntax port mapping publishes on every host interface."""
    spec = port.split("/", 1)[0]
    if spec.startswith("["):  # [::]:5432:5432 or [::1]:...
        host = spec[: spec.find("]") + 1]
        return host not in ("[::1]",)
    parts = spec.split(":")
    if len(parts) == 3:
        host = parts[0]
        return not host.startswith(_LOOPBACK)
    return True  # "5432:5432" or "5432": every interface


def scan_compose(rel: str, text: str) -> list[Hit]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise Skip(f"not valid YAML{where}") from None
    hits: list[Hit] = []
    services = _node_map(_node_map(root).get("services"))
    for name, service_node in services.items():
        service = _node_map(service_node)
        where = f"services.{name}"
        if _is_true(service.get("privileged")):
            node = service["privileged"]
            hits.append(
                Hit(
                    "config.compose-privileged",
                    _line(node),
                    f"service {name} is privileged",
                    f"{where}.privileged",
                    snippet="privileged: true",
                )
            )
        mode = service.get("network_mode")
        if _scalar(mode) == "host" and mode is not None:
            hits.append(
                Hit(
                    "config.compose-host-network",
                    _line(mode),
                    f"service {name} uses the host network",
                    f"{where}.network_mode",
                    snippet="network_mode: host",
                )
            )
        image = (_scalar(service.get("image")) or "").split("@", 1)[0]
        image_name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        ports = service.get("ports")
        if _DB_IMAGES.search(image_name.lower()) and isinstance(ports, yaml.SequenceNode):
            for port in ports.value:
                exposed = False
                text_port = ""
                if isinstance(port, yaml.ScalarNode):
                    text_port = str(port.value)
                    exposed = _all_interfaces(text_port)
                elif isinstance(port, yaml.MappingNode):
                    long = _node_map(port)
                    host_ip = _scalar(long.get("host_ip")) or ""
                    text_port = (
                        f"{host_ip + ':' if host_ip else ''}{_scalar(long.get('published')) or ''}:"
                        + (_scalar(long.get("target")) or "")
                    )
                    exposed = "published" in long and not host_ip.startswith(_LOOPBACK)
                if exposed:
                    hits.append(
                        Hit(
                            "config.compose-db-exposed",
                            _line(port),
                            f"service {name} ({image_name}) publishes {text_port} on all interfaces",
                            f"{where}.ports:{text_port}",
                            snippet=f'- "{text_port}"',
                        )
                    )
        environment = list(_compose_environment(service.get("environment")))
        # A password equal to the service's own name, its image's or its user's is guessed first.
        users = [v for k, v, _ in environment if v and re.search(r"(?i)user(?:name)?$", k)]
        own = [name, image_name.rsplit("/", 1)[-1], *users]
        for key, value, line in environment:
            hit = weak_password_hit(key, value, line, where, own)
            if hit:
                hits.append(hit)
    return hits


def _compose_environment(node: yaml.Node | None) -> Iterator[tuple[str, str | None, int]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and is_variable_name(str(key.value)):
                yield str(key.value), _scalar(value), _line(key)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            entry = _scalar(item)
            if entry is None:
                continue
            key, eq, value = entry.partition("=")
            if is_variable_name(key.strip()):
                yield key.strip(), (value if eq else None), _line(item)
