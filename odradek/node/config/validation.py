"""The rules that span several keys, checked at start-up as Kafka's ``KafkaConfig`` does.

Each key's own validator has already run (:meth:`.ConfigDef.parse`). What remains is
what Kafka checks while it builds ``KafkaConfig`` and in ``validateValues``, in that
order, for a KRaft node:

* the coordinators' interval rules (``GroupCoordinatorConfig``, ``ShareGroupConfig``);
* the listeners parse, with a security protocol for each name; early-start listeners
  are among them; the classic group protocol cannot be switched off;
* ``node.id`` equals ``broker.id`` when both are set; roll, jitter and retention
  times are positive; the cleaner has 1 MiB of dedupe buffer per thread; follower
  fetches wait less than their socket timeout and the ISR lag time;
* the voters or the bootstrap servers name the controllers; then per role:
  a broker alone must not be a voter, needs ``controller.listener.names`` and must
  not bind them; a controller alone binds only controller listeners and is a voter;
  a combined node is a voter and binds its controller listeners;
* a broker advertises at least one broker listener, including the inter-broker one,
  all of them among ``listeners``; nobody advertises ``0.0.0.0``;
* ``queued.max.request.bytes``, ``max.connections.per.ip`` and its overrides, and the
  failed-authentication delay fit together; the cleaner's compaction lags are ordered.

Odradek adds one rule: a listener's security protocol must be PLAINTEXT until TLS and
SASL land. The first broken rule raises :class:`.ConfigError`, naming its key.
Spec: ``docs/ops.html`` ("KRaft") and Kafka's ``KafkaConfig.validateValues``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config_def import ConfigError
from .listeners import (
    Endpoint,
    SecurityProtocol,
    Voter,
    listener_name_of,
    normalised_listener_name,
    parse_bootstrap_servers,
    parse_csv_map,
    parse_endpoints,
    parse_security_protocol_map,
    parse_voters,
    valid_host_pattern,
)

BROKER = "broker"
CONTROLLER = "controller"
_MIB = 1024 * 1024
_SSL_OR_SASL = {"SSL", "SASL_SSL", "SASL_PLAINTEXT"}


@dataclass(frozen=True, slots=True)
class NodeLayout:
    """What the listener and quorum keys amount to, once checked."""

    process_roles: frozenset[str]
    security_protocol_map: Mapping[str, SecurityProtocol]
    listeners: tuple[Endpoint, ...]
    controller_listener_names: tuple[str, ...]
    advertised_broker_listeners: tuple[Endpoint, ...]
    advertised_controller_listeners: tuple[Endpoint, ...]
    inter_broker_listener_name: str
    inter_broker_security_protocol: SecurityProtocol
    early_start_listeners: frozenset[str]
    voters: tuple[Voter, ...]
    bootstrap_servers: tuple[tuple[str, int], ...]
    log_dirs: tuple[str, ...]


def _require(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"requirement failed: {message}", key)


def effective_retention_ms(values: Mapping[str, Any]) -> int:
    """``KafkaConfig.logRetentionTimeMillis``: ms, else minutes, else hours; negative is -1."""
    if values["log.retention.ms"] is not None:
        millis = int(values["log.retention.ms"])
    elif values["log.retention.minutes"] is not None:
        millis = 60_000 * int(values["log.retention.minutes"])
    else:
        millis = 3_600_000 * int(values["log.retention.hours"])
    return -1 if millis < 0 else millis


def effective_roll_ms(values: Mapping[str, Any], key: str = "log.roll") -> int:
    """``log.roll.ms`` (or ``log.roll.jitter.ms``), else the hours key in milliseconds."""
    millis = values[f"{key}.ms"]
    return int(millis) if millis is not None else 3_600_000 * int(values[f"{key}.hours"])


def check_node(values: Mapping[str, Any], originals: Mapping[str, str]) -> NodeLayout:
    """Check the cross-key rules and return the node's listener and quorum layout.

    ``values`` holds every broker key's parsed value; ``originals`` the properties as
    given (some rules depend on whether a key was set at all).
    """
    _check_coordinators(values)
    roles = frozenset(values["process.roles"])
    protocols = _effective_protocol_map(values, originals)
    listeners = parse_endpoints("listeners", values["listeners"], protocols)
    controller_names: tuple[str, ...] = tuple(values["controller.listener.names"])
    controller_listeners = [e for e in listeners if e.listener in controller_names]
    voters = tuple(parse_voters(values["controller.quorum.voters"]))
    early_start = _early_start_listeners(values, listeners, controller_listeners)
    _require_classic_protocol(values)

    if values["node.id"] != values["broker.id"]:
        raise ConfigError("You must set `node.id` to the same value as `broker.id`.", "node.id")
    _check_log_values(values)

    advertised_entries = values["advertised.listeners"]
    advertised = (
        parse_endpoints(
            "advertised.listeners", advertised_entries, protocols, require_distinct_ports=False
        )
        if advertised_entries is not None
        else listeners
    )
    advertised_brokers = tuple(e for e in advertised if e.listener not in controller_names)
    advertised_controllers = _advertised_controller_listeners(
        values, advertised, controller_listeners, controller_names, voters
    )
    inter_broker_name, inter_broker_protocol = _inter_broker_listener(values, originals, protocols)
    bootstrap = tuple(parse_bootstrap_servers(values["controller.quorum.bootstrap.servers"]))
    voter_ids = {voter.node_id for voter in voters}
    node_id = values["node.id"]

    if roles and not voters and not bootstrap:
        raise ConfigError(
            "If using process.roles, either controller.quorum.bootstrap.servers must contain "
            "the set of bootstrap controllers or controller.quorum.voters must contain a "
            "parseable set of controllers.",
            "controller.quorum.voters",
        )
    if roles == {BROKER}:
        _check_broker_only(
            values, node_id, voter_ids, controller_names, controller_listeners, protocols
        )
    elif CONTROLLER in roles:
        if roles == {CONTROLLER}:
            _require(
                len(advertised_controllers) == len(listeners),
                "listeners",
                "The listeners config must only contain KRaft controller listeners from "
                "controller.listener.names when process.roles=controller",
            )
            if values["inter.broker.listener.name"] is not None:
                _require(
                    inter_broker_name not in controller_names,
                    "controller.listener.names",
                    "controller.listener.names must not contain an explicitly set "
                    "inter.broker.listener.name configuration value when process.roles=controller'",
                )
        _require(
            not voter_ids or node_id in voter_ids,
            "controller.quorum.voters",
            f"If process.roles contains the 'controller' role, the node id {node_id} must be "
            f"included in the set of voters controller.quorum.voters={_java_set(voter_ids)}",
        )
        _require(
            bool(advertised_controllers),
            "controller.listener.names",
            "controller.listener.names must contain at least one value appearing in the "
            "'listeners' configuration when running the KRaft controller role",
        )
        bound = {e.listener for e in listeners}
        _require(
            all(name in bound for name in controller_names),
            "controller.listener.names",
            "controller.listener.names must only contain values appearing in the 'listeners' "
            "configuration when running the KRaft controller role",
        )

    if BROKER in roles:
        _check_broker_listeners(values, listeners, advertised_brokers, inter_broker_name)
    for endpoint in (*advertised_brokers, *advertised_controllers):
        _require(
            endpoint.host != "0.0.0.0",
            "advertised.listeners",
            "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. "
            "Use a routable IP address.",
        )
    _check_connections(values)
    _check_plaintext_only(listeners, inter_broker_protocol, inter_broker_name)
    return NodeLayout(
        process_roles=roles,
        security_protocol_map=protocols,
        listeners=listeners,
        controller_listener_names=controller_names,
        advertised_broker_listeners=advertised_brokers,
        advertised_controller_listeners=advertised_controllers,
        inter_broker_listener_name=inter_broker_name,
        inter_broker_security_protocol=inter_broker_protocol,
        early_start_listeners=early_start,
        voters=voters,
        bootstrap_servers=bootstrap,
        log_dirs=log_dirs(values),
    )


def log_dirs(values: Mapping[str, Any]) -> tuple[str, ...]:
    """``log.dirs``, or ``log.dir`` when it is unset."""
    dirs = values["log.dirs"] if values["log.dirs"] is not None else values["log.dir"]
    return tuple(dirs)


def _java_set(ids: set[int]) -> str:
    return "Set(" + ", ".join(str(i) for i in sorted(ids)) + ")"


def _effective_protocol_map(
    values: Mapping[str, Any], originals: Mapping[str, str]
) -> dict[str, SecurityProtocol]:
    """The protocol map, plus PLAINTEXT for controller listeners when it was not set.

    Left at its default, the map gains a PLAINTEXT entry for each controller listener
    name, unless some listener or controller listener name is SSL or SASL_*.
    """
    protocols = parse_security_protocol_map(
        "listener.security.protocol.map", values["listener.security.protocol.map"]
    )
    if "listener.security.protocol.map" in originals:
        return protocols
    controller_names = values["controller.listener.names"]
    listener_names = [listener_name_of(entry) for entry in values["listeners"]]
    if any(name in _SSL_OR_SASL for name in (*controller_names, *listener_names)):
        return protocols
    for name in controller_names:
        if name != "PLAINTEXT":
            protocols[name] = SecurityProtocol.PLAINTEXT
    return protocols


def _early_start_listeners(
    values: Mapping[str, Any],
    listeners: tuple[Endpoint, ...],
    controller_listeners: list[Endpoint],
) -> frozenset[str]:
    controller_set = {e.listener for e in controller_listeners}
    configured = values["early.start.listeners"]
    if configured is None:
        return frozenset(controller_set)
    bound = {e.listener for e in listeners}
    names = set()
    for name in configured:
        if name not in bound and name not in controller_set:
            raise ConfigError(
                f"early.start.listeners contains listener {name}, but this is not contained "
                "in listeners or controller.listener.names",
                "early.start.listeners",
            )
        names.add(name)
    return frozenset(names)


def _require_classic_protocol(values: Mapping[str, Any]) -> None:
    protocols = {p.upper() for p in values["group.coordinator.rebalance.protocols"]}
    if "CLASSIC" not in protocols:
        raise ConfigError(
            "Disabling the 'CLASSIC' protocol is not supported.",
            "group.coordinator.rebalance.protocols",
        )


def _check_log_values(values: Mapping[str, Any]) -> None:
    _require(
        effective_roll_ms(values) >= 1,
        "log.roll.ms",
        "log.roll.ms must be greater than or equal to 1",
    )
    _require(
        effective_roll_ms(values, "log.roll.jitter") >= 0,
        "log.roll.jitter.ms",
        "log.roll.jitter.ms must be greater than or equal to 0",
    )
    retention = effective_retention_ms(values)
    _require(
        retention >= 1 or retention == -1,
        "log.retention.ms",
        "log.retention.ms must be unlimited (-1) or, greater than or equal to 1",
    )
    _require(
        bool(log_dirs(values)),
        "log.dirs",
        "At least one log directory must be defined via log.dirs or log.dir.",
    )
    threads = values["log.cleaner.threads"]
    # Kafka divides by the thread count here; with none it cannot start either.
    _require(
        threads > 0 and values["log.cleaner.dedupe.buffer.size"] // threads > _MIB,
        "log.cleaner.dedupe.buffer.size",
        "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.",
    )
    wait = values["replica.fetch.wait.max.ms"]
    _require(
        wait <= values["replica.socket.timeout.ms"],
        "replica.socket.timeout.ms",
        "replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to "
        "prevent unnecessary socket timeouts",
    )
    _require(
        wait <= values["replica.lag.time.max.ms"],
        "replica.fetch.wait.max.ms",
        "replica.fetch.wait.max.ms should always be less than or equal to "
        "replica.lag.time.max.ms to prevent frequent changes in ISR",
    )
    low = values["log.cleaner.min.compaction.lag.ms"]
    high = values["log.cleaner.max.compaction.lag.ms"]
    _require(
        low <= high,
        "log.cleaner.min.compaction.lag.ms",
        f"conflict topic config setting min.compaction.lag.ms ({low}) > "
        f"max.compaction.lag.ms ({high})",
    )


def _advertised_controller_listeners(
    values: Mapping[str, Any],
    advertised: tuple[Endpoint, ...],
    controller_listeners: list[Endpoint],
    controller_names: tuple[str, ...],
    voters: tuple[Voter, ...],
) -> tuple[Endpoint, ...]:
    """``KafkaConfig.effectiveAdvertisedControllerListeners``.

    Each controller listener name maps to its advertised endpoint, else its bound one.
    A wildcard bound address of the first controller listener is replaced by this
    node's entry in ``controller.quorum.voters``, or otherwise left for the host to be
    looked up (``0.0.0.0`` becomes "no host").
    """
    advertised_controllers = (
        [e for e in advertised if e.listener in controller_names]
        if values["advertised.listeners"] is not None
        else []
    )
    own_voter = next((v for v in voters if v.node_id == values["node.id"]), None)
    result: list[Endpoint] = []
    for index, name in enumerate(controller_names):
        wanted = normalised_listener_name(name)
        chosen = next((e for e in advertised_controllers if e.listener == wanted), None)
        if chosen is None:
            bound = next((e for e in controller_listeners if e.listener == wanted), None)
            if bound is None:
                continue
            chosen = bound
            if index == 0 and bound.host in (None, "0.0.0.0") and own_voter is not None:
                chosen = Endpoint(
                    bound.listener, bound.security_protocol, own_voter.host, own_voter.port
                )
            elif bound.host == "0.0.0.0":
                chosen = Endpoint(bound.listener, bound.security_protocol, None, bound.port)
        result.append(chosen)
    return tuple(result)


def _inter_broker_listener(
    values: Mapping[str, Any],
    originals: Mapping[str, str],
    protocols: Mapping[str, SecurityProtocol],
) -> tuple[str, SecurityProtocol]:
    name = values["inter.broker.listener.name"]
    if name is None:
        protocol = SecurityProtocol.for_name(values["security.inter.broker.protocol"])
        return protocol.name, protocol
    if "security.inter.broker.protocol" in originals:
        raise ConfigError(
            "Only one of inter.broker.listener.name and security.inter.broker.protocol "
            "should be set.",
            "inter.broker.listener.name",
        )
    listener = normalised_listener_name(name)
    if listener not in protocols:
        raise ConfigError(
            f"Listener with name {listener} defined in inter.broker.listener.name not found in "
            "listener.security.protocol.map.",
            "inter.broker.listener.name",
        )
    return listener, protocols[listener]


def _check_broker_only(
    values: Mapping[str, Any],
    node_id: int,
    voter_ids: set[int],
    controller_names: tuple[str, ...],
    controller_listeners: list[Endpoint],
    protocols: Mapping[str, SecurityProtocol],
) -> None:
    _require(
        node_id not in voter_ids,
        "controller.quorum.voters",
        f"If process.roles contains just the 'broker' role, the node id {node_id} must not be "
        f"included in the set of voters controller.quorum.voters={_java_set(voter_ids)}",
    )
    _require(
        bool(controller_names),
        "controller.listener.names",
        "controller.listener.names must contain at least one value when running KRaft with "
        "just the broker role",
    )
    _require(
        not controller_listeners,
        "controller.listener.names",
        "controller.listener.names must not contain a value appearing in the 'listeners' "
        "configuration when running KRaft with just the broker role",
    )
    for name in controller_names:
        listener = normalised_listener_name(name)
        if listener not in protocols:
            raise ConfigError(
                f"Controller listener with name {listener} defined in controller.listener.names "
                "not found in listener.security.protocol.map  (an explicit security mapping for "
                "each controller listener is required if listener.security.protocol.map is "
                "non-empty, or if there are security protocols other than PLAINTEXT in use)",
                "controller.listener.names",
            )
    _require(
        not values["controller.quorum.auto.join.enable"],
        "controller.quorum.auto.join.enable",
        "controller.quorum.auto.join.enable is only supported when process.roles contains "
        "the 'controller' role.",
    )


def _check_broker_listeners(
    values: Mapping[str, Any],
    listeners: tuple[Endpoint, ...],
    advertised_brokers: tuple[Endpoint, ...],
    inter_broker_name: str,
) -> None:
    names = [e.listener for e in advertised_brokers]
    _require(
        bool(advertised_brokers),
        "advertised.listeners",
        "There must be at least one broker advertised listener. Perhaps all listeners appear "
        "in controller.listener.names?",
    )
    _require(
        inter_broker_name in names,
        "inter.broker.listener.name",
        "inter.broker.listener.name must be a listener name defined in advertised.listeners. "
        f"The valid options based on currently configured listeners are {','.join(names)}",
    )
    bound = [e.listener for e in listeners]
    _require(
        set(names) <= set(bound),
        "advertised.listeners",
        "advertised.listeners listener names must be equal to or a subset of the ones defined "
        f"in listeners. Found {','.join(names)}. The valid options based on the current "
        f"configuration are {','.join(bound)}",
    )
    cordoned = values["cordoned.log.dirs"] or ()
    if "*" in cordoned:
        _require(
            len(cordoned) == 1,
            "cordoned.log.dirs",
            "When cordoned.log.dirs is set to *, it must not contain other values",
        )
    else:
        missing = [d for d in cordoned if d not in log_dirs(values)]
        _require(
            not missing,
            "cordoned.log.dirs",
            "All entries in cordoned.log.dirs must be present in log.dirs or log.dir. "
            f"Missing entries : {', '.join(missing)}",
        )


def _check_connections(values: Mapping[str, Any]) -> None:
    queued = values["queued.max.request.bytes"]
    _require(
        queued <= 0 or queued >= values["socket.request.max.bytes"],
        "queued.max.request.bytes",
        "queued.max.request.bytes must be larger or equal to socket.request.max.bytes",
    )
    overrides = parse_csv_map(
        "max.connections.per.ip.overrides", values["max.connections.per.ip.overrides"]
    )
    if values["max.connections.per.ip"] == 0:
        _require(
            bool(overrides),
            "max.connections.per.ip",
            "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides "
            "property is set.",
        )
    invalid = [host for host in overrides if not valid_host_pattern(host)]
    if invalid:
        raise ConfigError(
            f"max.connections.per.ip.overrides contains invalid addresses : {','.join(invalid)}",
            "max.connections.per.ip.overrides",
        )
    for host, count in overrides.items():
        if not count.lstrip("+-").isdigit():
            raise ConfigError(
                f"Error parsing configuration property 'max.connections.per.ip.overrides': "
                f'For input string: "{count}" (host {host})',
                "max.connections.per.ip.overrides",
            )
    idle = values["connections.max.idle.ms"]
    delay = values["connection.failed.authentication.delay.ms"]
    if idle >= 0:
        _require(
            delay < idle,
            "connection.failed.authentication.delay.ms",
            f"connection.failed.authentication.delay.ms={delay} should always be less than "
            f"connections.max.idle.ms={idle} to prevent failed authentication responses from "
            "timing out",
        )


def _check_coordinators(values: Mapping[str, Any]) -> None:
    """``GroupCoordinatorConfig`` and ``ShareGroupConfig``: each interval within its bounds."""
    for group in ("consumer", "share", "streams"):
        prefix = f"group.{group}."
        _check_between(values, prefix, "heartbeat.interval.ms")
        _check_between(values, prefix, "session.timeout.ms")
        heartbeat, session = f"{prefix}heartbeat.interval.ms", f"{prefix}session.timeout.ms"
        _require(
            values[heartbeat] < values[session],
            heartbeat,
            f"{heartbeat} must be less than {session}",
        )
        _check_between(values, prefix, "assignment.interval.ms")
    _require(
        len(values["group.share.assignors"]) == 1,
        "group.share.assignors",
        "group.share.assignors must contain exactly one assignor, but found "
        f"{len(values['group.share.assignors'])}",
    )
    _require(
        values["group.streams.num.standby.replicas"]
        <= values["group.streams.max.standby.replicas"],
        "group.streams.num.standby.replicas",
        "group.streams.num.standby.replicas must be less than or equal to "
        "group.streams.max.standby.replicas",
    )
    for name in ("record.lock.duration.ms", "delivery.count.limit", "partition.max.record.locks"):
        _check_between(values, "group.share.", name)
    _require(
        values["group.share.max.share.sessions"] >= values["group.share.max.size"],
        "group.share.max.share.sessions",
        "group.share.max.share.sessions must be greater than or equal to group.share.max.size",
    )


def _check_between(values: Mapping[str, Any], prefix: str, name: str) -> None:
    """``<prefix>min.<name>`` <= ``<prefix><name>`` <= ``<prefix>max.<name>``."""
    low, value, high = f"{prefix}min.{name}", f"{prefix}{name}", f"{prefix}max.{name}"
    _require(values[high] >= values[low], high, f"{high} must be greater than or equal to {low}")
    _require(values[value] >= values[low], value, f"{value} must be greater than or equal to {low}")
    _require(values[value] <= values[high], value, f"{value} must be less than or equal to {high}")


def _check_plaintext_only(
    listeners: tuple[Endpoint, ...], inter_broker: SecurityProtocol, inter_broker_name: str
) -> None:
    for endpoint in listeners:
        if endpoint.security_protocol is not SecurityProtocol.PLAINTEXT:
            raise ConfigError(
                f"not supported by Odradek yet: listener {endpoint} uses "
                f"{endpoint.security_protocol.name} (TLS and SASL)",
                "listeners",
            )
    if inter_broker is not SecurityProtocol.PLAINTEXT:
        raise ConfigError(
            f"not supported by Odradek yet: inter-broker listener {inter_broker_name} uses "
            f"{inter_broker.name} (TLS and SASL)",
            "security.inter.broker.protocol",
        )
