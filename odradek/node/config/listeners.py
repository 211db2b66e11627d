"""Listener, voter and address strings of a Kafka configuration, parsed as Kafka parses them.

* ``listeners`` / ``advertised.listeners``: ``NAME://host:port`` entries
  (``SocketServerConfigs.listenerListToEndPoints``). The name is upper-cased; an empty
  host means "all interfaces"; IPv6 hosts are written in brackets.
* ``listener.security.protocol.map``: ``NAME:PROTOCOL`` pairs split at the last colon
  (``Csv.parseCsvMap``), protocols being PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL.
* ``controller.quorum.voters``: ``id@host:port`` entries (``QuorumConfig``).
* ``controller.quorum.bootstrap.servers``: ``host:port`` entries.

Spec: ``docs/ops.html`` ("KRaft", "Configuration") and Kafka's ``SocketServerConfigs``,
``AbstractKafkaConfig`` and ``QuorumConfig``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from .config_def import ConfigError


class SecurityProtocol(Enum):
    """Kafka's ``SecurityProtocol``; the values are the ids on the wire."""

    PLAINTEXT = 0
    SSL = 1
    SASL_PLAINTEXT = 2
    SASL_SSL = 3

    @classmethod
    def for_name(cls, name: str) -> SecurityProtocol:
        """``SecurityProtocol.forName``: case-insensitive, ValueError if unknown."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"No enum constant SecurityProtocol.{name.upper()}") from None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A listener: its (upper-cased) name, security protocol, host and port.

    ``host`` is None for "every interface" (an empty host in the configuration).
    """

    listener: str
    security_protocol: SecurityProtocol
    host: str | None
    port: int

    def __str__(self) -> str:
        host = self.host or ""
        if ":" in host:
            host = f"[{host}]"
        return f"{self.listener}://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Voter:
    """One entry of ``controller.quorum.voters``."""

    node_id: int
    host: str
    port: int


_LISTENER = re.compile(r"(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)")
_HOST_PORT = re.compile(r"(?:[0-9a-zA-Z\-%._]*://)?\[?([0-9a-zA-Z\-%._:]*)]?:([0-9]+)")
_VALID_HOST = re.compile(r"[0-9a-zA-Z\-%._:]*")


def valid_host_pattern(host: str) -> bool:
    """``Utils.validHostPattern``: only the characters a host name or IP may hold."""
    return _VALID_HOST.fullmatch(host) is not None


def split_host_port(address: str) -> tuple[str, int] | None:
    """``Utils.getHost``/``getPort``: ``host:port`` or ``[v6]:port``, or None."""
    match = _HOST_PORT.fullmatch(address)
    if match is None:
        return None
    return match.group(1), int(match.group(2))


def normalised_listener_name(name: str) -> str:
    """``ListenerName.normalised``: upper-cased; blank names are an error."""
    if not name.strip():
        raise ConfigError("The provided listener name is null or empty string")
    return name.upper()


def parse_csv_map(name: str, value: str) -> dict[str, str]:
    """``Csv.parseCsvMap``: ``k1:v1, k2:v2``, each entry split at its last colon."""
    result: dict[str, str] = {}
    if not value:
        return result
    for entry in re.split(r"\s*,\s*", value):
        colon = entry.rfind(":")
        if colon < 0:
            raise ConfigError(
                f"Error parsing configuration property '{name}': entry '{entry}' has no ':'", name
            )
        result[entry[:colon].strip()] = entry[colon + 1 :].strip()
    return result


def parse_security_protocol_map(name: str, value: str) -> dict[str, SecurityProtocol]:
    """``listener.security.protocol.map`` as listener name -> protocol."""
    protocols: dict[str, SecurityProtocol] = {}
    for listener, protocol in parse_csv_map(name, value).items():
        listener_name = normalised_listener_name(listener)
        try:
            protocols[listener_name] = SecurityProtocol.for_name(protocol)
        except ValueError:
            raise ConfigError(
                f"Invalid security protocol `{protocol}` defined in {name}", name
            ) from None
    return protocols


def listener_name_of(entry: str) -> str:
    """The upper-cased name before the first colon of a listener entry."""
    colon = entry.find(":")
    if colon < 0:
        raise ConfigError(f"Unable to parse a listener name from {entry}")
    return entry[:colon].upper()


def parse_endpoints(
    name: str,
    entries: Sequence[str],
    protocols: Mapping[str, SecurityProtocol],
    *,
    require_distinct_ports: bool = True,
) -> tuple[Endpoint, ...]:
    """Listener entries as endpoints, checked as ``AbstractKafkaConfig`` checks them.

    Names must be unique. With ``require_distinct_ports`` (``listeners``, not
    ``advertised.listeners``), two listeners may share a port only if one is bound to
    an IPv4 address and the other to an IPv6 address.
    """
    endpoints: list[Endpoint] = []
    for entry in entries:
        match = _LISTENER.fullmatch(entry)
        if match is None:
            raise _listener_error(name, entries, f"Unable to parse {entry} to a broker endpoint")
        listener = normalised_listener_name(match.group(1))
        protocol = protocols.get(listener)
        if protocol is None:
            raise _listener_error(
                name, entries, f"No security protocol defined for listener {listener}"
            )
        endpoints.append(Endpoint(listener, protocol, match.group(2) or None, int(match.group(3))))
    if len({endpoint.listener for endpoint in endpoints}) != len(endpoints):
        raise _listener_error(
            name,
            entries,
            f"Each listener must have a different name, listeners: {_java_list(entries)}",
        )
    if require_distinct_ports:
        _check_ports(name, entries, endpoints)
    return tuple(endpoints)


def _check_ports(name: str, entries: Sequence[str], endpoints: Sequence[Endpoint]) -> None:
    by_port: dict[int, list[Endpoint]] = {}
    for endpoint in endpoints:
        if endpoint.port != 0:  # port 0 asks the OS for any free port
            by_port.setdefault(endpoint.port, []).append(endpoint)
    listed = _java_list(entries)
    for port, sharing in by_port.items():
        if len(sharing) < 2:
            continue
        with_ip = [e for e in sharing if e.host is not None and _ip_version(e.host) is not None]
        without_ip = [e for e in sharing if e not in with_ip]
        if len(without_ip) > 1:
            raise _listener_error(
                name, entries, f"Each listener must have a different port, listeners: {listed}"
            )
        if not with_ip:
            continue
        if len(with_ip) == 2:
            versions = {_ip_version(e.host or "") for e in with_ip}
            if versions != {4, 6} or without_ip:
                raise _listener_error(
                    name,
                    entries,
                    "If you have two listeners on the same port then one needs to be IPv4 and "
                    f"the other IPv6, listeners: {listed}, port: {port}",
                )
            continue
        raise _listener_error(
            name,
            entries,
            "Each listener must have a different port unless exactly one listener has an IPv4 "
            f"address and the other IPv6 address, listeners: {listed}, port: {port}",
        )


def _ip_version(host: str) -> int | None:
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return None


def _java_list(entries: Sequence[str]) -> str:
    return "[" + ", ".join(entries) + "]"


def _listener_error(name: str, entries: Sequence[str], reason: str) -> ConfigError:
    return ConfigError(
        f"Error creating broker listeners from '{_java_list(entries)}' ({name}): {reason}", name
    )


def parse_voters(entries: Sequence[str], name: str = "controller.quorum.voters") -> list[Voter]:
    """``controller.quorum.voters`` entries (``id@host:port``), in order."""
    voters: list[Voter] = []
    for entry in entries:
        parts = entry.split("@")
        if len(parts) != 2:
            raise ConfigError(
                f"Invalid configuration value for {name}. "
                "Each entry should be in the form `{id}@{host}:{port}`.",
                name,
            )
        id_text, address = parts
        if not re.fullmatch(r"[+-]?[0-9]+", id_text) or not -(2**31) <= int(id_text) < 2**31:
            raise ConfigError(f"Failed to parse voter ID as an integer from {id_text}", name)
        host_port = split_host_port(address)
        if host_port is None or not valid_host_pattern(host_port[0]):
            raise ConfigError(
                f"Failed to parse host name from entry {entry} for the configuration {name}. "
                "Each entry should be in the form `{id}@{host}:{port}`.",
                name,
            )
        voters.append(Voter(int(id_text), host_port[0], host_port[1]))
    return voters


def parse_bootstrap_servers(
    entries: Sequence[str], name: str = "controller.quorum.bootstrap.servers"
) -> list[tuple[str, int]]:
    """``controller.quorum.bootstrap.servers`` entries (``host:port``), in order."""
    servers: list[tuple[str, int]] = []
    for entry in entries:
        host_port = split_host_port(entry)
        if host_port is None or not valid_host_pattern(host_port[0]):
            raise ConfigError(
                f"Failed to parse host name from {entry} for the configuration {name}. "
                'Each entry should be in the form "{host}:{port}"',
                name,
            )
        servers.append(host_port)
    return servers


def check_voters(name: str, value: object) -> None:
    """Validator of ``controller.quorum.voters`` (Kafka's ControllerQuorumVotersValidator)."""
    if value is None:
        raise ConfigError(f"Invalid value null for configuration {name}", name)
    assert isinstance(value, tuple)
    parse_voters(value, name)


def check_bootstrap_servers(name: str, value: object) -> None:
    """Validator of ``controller.quorum.bootstrap.servers``."""
    if value is None:
        raise ConfigError(f"Invalid value null for configuration {name}", name)
    assert isinstance(value, tuple)
    parse_bootstrap_servers(value, name)
