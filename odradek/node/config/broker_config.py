"""A node's configuration, loaded and checked: :class:`BrokerConfig`.

Loading follows Kafka's start-up: ``broker.id`` and ``node.id`` stand for each other
when only one is set (``AbstractKafkaConfig.populateSynonyms``); every key is parsed
and validated, defaults filling the rest; the names are checked against what Odradek
supports (:mod:`.support`); then the rules across keys run (:mod:`.validation`).
Problems with single keys are all reported together; a :class:`.ConfigError` always
names the key. The result is immutable: dynamic changes make a new one.

Spec: ``docs/ops.html`` ("Configuration") and Kafka's ``KafkaConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..properties import load_properties
from .broker_configs import BROKER_CONFIGS
from .config_def import ConfigError, ConfigProblem
from .embedded import embedded_default_properties
from .listeners import Endpoint, SecurityProtocol, Voter, split_host_port
from .support import key_problems
from .topic_configs import TOPIC_CONFIGS, TOPIC_SYNONYMS
from .validation import BROKER, CONTROLLER, check_node, effective_retention_ms


def with_id_synonyms(props: Mapping[str, str]) -> dict[str, str]:
    """``populateSynonyms``: copy ``node.id`` to ``broker.id`` or back when one is missing."""
    result = dict(props)
    if "broker.id" not in result and "node.id" in result:
        result["broker.id"] = result["node.id"]
    elif "broker.id" in result and "node.id" not in result:
        result["node.id"] = result["broker.id"]
    return result


def parse_broker_values(props: Mapping[str, str]) -> dict[str, Any]:
    """Parse and validate each key of ``props`` on its own, and check the names.

    Returns every broker key's value (defaults included). Raises one ConfigError that
    lists every problem: values that do not parse or validate, missing required keys,
    unknown or removed names, and features Odradek does not have yet.
    """
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key in BROKER_CONFIGS:
        try:
            if key.name in props:
                values[key.name] = key.parse(props[key.name])
            elif key.has_default:
                values[key.name] = key.default
            else:
                problems.append(
                    ConfigProblem(
                        key.name,
                        f'Missing required configuration "{key.name}" which has no default value.',
                    )
                )
        except ConfigError as error:
            problems.extend(error.problems)
    problems.extend(key_problems(props, values))
    if problems:
        raise ConfigError(problems)
    return values


def log_config_defaults_from(values: Mapping[str, Any]) -> dict[str, Any]:
    """Each topic key's value for a topic with no overrides, from broker values.

    ``KafkaConfig.extractLogConfigMap``: the first synonym that is set, in topic units
    (``log.roll.hours`` becomes milliseconds); a negative retention time means -1;
    keys without a synonym take the topic default.
    """
    result: dict[str, Any] = {}
    for key in TOPIC_CONFIGS:
        if key.internal:
            continue
        value = key.default
        for synonym in TOPIC_SYNONYMS.get(key.name, ()):
            broker_value = values[synonym.name]
            if broker_value is not None:
                if synonym.to_topic_unit != 1:
                    broker_value = broker_value * synonym.to_topic_unit
                value = broker_value
                break
        result[key.name] = value
    result["retention.ms"] = effective_retention_ms(values)
    return result


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """The checked configuration of one node (broker, controller, or both).

    The attributes are what the rest of Odradek asks for most; :meth:`get` reaches any
    other key by its Kafka name. ``originals`` are the properties as given.
    """

    node_id: int
    process_roles: frozenset[str]
    listeners: tuple[Endpoint, ...]
    advertised_listeners: tuple[Endpoint, ...]
    controller_listener_names: tuple[str, ...]
    advertised_controller_listeners: tuple[Endpoint, ...]
    security_protocol_map: Mapping[str, SecurityProtocol]
    inter_broker_listener_name: str
    early_start_listeners: frozenset[str]
    quorum_voters: tuple[Voter, ...]
    quorum_bootstrap_servers: tuple[tuple[str, int], ...]
    log_dirs: tuple[str, ...]
    metadata_log_dir: str
    broker_rack: str | None
    num_partitions: int
    default_replication_factor: int
    min_insync_replicas: int
    auto_create_topics_enable: bool
    delete_topic_enable: bool
    message_max_bytes: int
    socket_request_max_bytes: int
    offsets_topic_num_partitions: int
    offsets_topic_replication_factor: int
    transaction_state_log_num_partitions: int
    transaction_state_log_replication_factor: int
    transaction_state_log_min_isr: int
    group_initial_rebalance_delay_ms: int
    metrics_listener: tuple[str, int] | None
    values: Mapping[str, Any]
    originals: Mapping[str, str]

    @property
    def is_broker(self) -> bool:
        return BROKER in self.process_roles

    @property
    def is_controller(self) -> bool:
        return CONTROLLER in self.process_roles

    def get(self, name: str) -> Any:
        """The value of any broker key by its Kafka name; KeyError if there is none."""
        return self.values[name]

    def log_config_defaults(self) -> dict[str, Any]:
        """The effective value of every topic key for a topic without overrides."""
        return log_config_defaults_from(self.values)

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> BrokerConfig:
        """Check ``props`` (a ``server.properties`` as a dict) and build the config."""
        originals = with_id_synonyms(props)
        values = parse_broker_values(originals)
        layout = check_node(values, originals)
        metrics = values["odradek.metrics.listener"]
        return cls(
            node_id=values["node.id"],
            process_roles=layout.process_roles,
            listeners=layout.listeners,
            advertised_listeners=layout.advertised_broker_listeners,
            controller_listener_names=layout.controller_listener_names,
            advertised_controller_listeners=layout.advertised_controller_listeners,
            security_protocol_map=MappingProxyType(dict(layout.security_protocol_map)),
            inter_broker_listener_name=layout.inter_broker_listener_name,
            early_start_listeners=layout.early_start_listeners,
            quorum_voters=layout.voters,
            quorum_bootstrap_servers=layout.bootstrap_servers,
            log_dirs=layout.log_dirs,
            metadata_log_dir=values["metadata.log.dir"] or layout.log_dirs[0],
            broker_rack=values["broker.rack"],
            num_partitions=values["num.partitions"],
            default_replication_factor=values["default.replication.factor"],
            min_insync_replicas=values["min.insync.replicas"],
            auto_create_topics_enable=values["auto.create.topics.enable"],
            delete_topic_enable=values["delete.topic.enable"],
            message_max_bytes=values["message.max.bytes"],
            socket_request_max_bytes=values["socket.request.max.bytes"],
            offsets_topic_num_partitions=values["offsets.topic.num.partitions"],
            offsets_topic_replication_factor=values["offsets.topic.replication.factor"],
            transaction_state_log_num_partitions=values["transaction.state.log.num.partitions"],
            transaction_state_log_replication_factor=values[
                "transaction.state.log.replication.factor"
            ],
            transaction_state_log_min_isr=values["transaction.state.log.min.isr"],
            group_initial_rebalance_delay_ms=values["group.initial.rebalance.delay.ms"],
            metrics_listener=split_host_port(metrics) if metrics else None,
            values=MappingProxyType(values),
            originals=MappingProxyType(dict(originals)),
        )


def load_broker_config(
    path: str | Path | None = None, overrides: Mapping[str, str] | None = None
) -> BrokerConfig:
    """Read ``server.properties`` at ``path`` (or the embedded default), apply overrides.

    ``overrides`` are ``--override KEY=VALUE`` pairs; they replace the file's values.
    """
    props = load_properties(path) if path is not None else embedded_default_properties()
    props.update(overrides or {})
    return BrokerConfig.from_properties(props)
