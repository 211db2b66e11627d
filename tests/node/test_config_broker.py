"""Loading a node's configuration: the embedded default, names, and the cross-key rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from odradek.node.config import (
    BrokerConfig,
    ConfigError,
    Endpoint,
    SecurityProtocol,
    Voter,
    embedded_default_properties,
    load_broker_config,
)


def _combined(**changes: str | None) -> dict[str, str]:
    """The embedded default with some keys changed (None removes a key)."""
    props = embedded_default_properties()
    for name, value in changes.items():
        key = name.replace("_", ".")
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return props


def _load(props: dict[str, str]) -> BrokerConfig:
    return BrokerConfig.from_properties(props)


def _error(props: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        _load(props)
    return caught.value


BROKER_ONLY = {
    "process.roles": "broker",
    "node.id": "4",
    "controller.quorum.bootstrap.servers": "c1:9093,c2:9093,c3:9093",
    "controller.listener.names": "CONTROLLER",
    "listeners": "PLAINTEXT://0.0.0.0:9092",
    "advertised.listeners": "PLAINTEXT://b4.example.com:9092",
    "log.dirs": "/var/lib/odradek/data",
    "broker.rack": "eu-west-1a",
}

CONTROLLER_ONLY = {
    "process.roles": "controller",
    "node.id": "1",
    "controller.quorum.voters": "1@c1:9093,2@c2:9093,3@c3:9093",
    "controller.listener.names": "CONTROLLER",
    "listeners": "CONTROLLER://:9093",
    "log.dirs": "/var/lib/odradek/metadata",
}


def test_the_embedded_default_is_valid() -> None:
    config = load_broker_config()
    assert config.node_id == 1
    assert config.is_broker
    assert config.is_controller
    assert config.listeners == (
        Endpoint("PLAINTEXT", SecurityProtocol.PLAINTEXT, "127.0.0.1", 9092),
        Endpoint("CONTROLLER", SecurityProtocol.PLAINTEXT, "127.0.0.1", 9093),
    )
    assert [str(e) for e in config.advertised_listeners] == ["PLAINTEXT://127.0.0.1:9092"]
    assert [str(e) for e in config.advertised_controller_listeners] == [
        "CONTROLLER://127.0.0.1:9093"
    ]
    assert config.quorum_voters == (Voter(1, "127.0.0.1", 9093),)
    assert config.inter_broker_listener_name == "PLAINTEXT"
    assert config.log_dirs == ("./odradek-data",)
    assert config.metadata_log_dir == "./odradek-data"
    assert config.offsets_topic_replication_factor == 1
    assert config.transaction_state_log_min_isr == 1
    assert config.group_initial_rebalance_delay_ms == 0
    assert config.metrics_listener == ("127.0.0.1", 9404)
    assert config.early_start_listeners == frozenset({"CONTROLLER"})


def test_the_embedded_default_is_a_fresh_dict() -> None:
    embedded_default_properties()["node.id"] = "9"
    assert embedded_default_properties()["node.id"] == "1"


def test_kafka_defaults_fill_the_rest() -> None:
    config = load_broker_config()
    assert config.get("num.io.threads") == 8
    assert config.get("log.segment.bytes") == 1024**3
    assert config.get("log.cleanup.policy") == ("delete",)
    assert config.get("log.cleaner.io.max.bytes.per.second") == 1.7976931348623157e308
    assert config.default_replication_factor == 1
    assert config.min_insync_replicas == 1
    assert config.message_max_bytes == 1048588
    assert config.socket_request_max_bytes == 100 * 1024 * 1024
    assert config.auto_create_topics_enable
    assert config.delete_topic_enable
    assert config.broker_rack is None


def test_the_config_is_immutable() -> None:
    config = load_broker_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.node_id = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.values["num.partitions"] = 3  # type: ignore[index]


def test_file_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    text = "\n".join(f"{k}={v}" for k, v in embedded_default_properties().items())
    path.write_text(text + "\nnum.partitions=3\n", encoding="latin-1")
    config = load_broker_config(path, {"num.partitions": "6", "broker.rack": "r1"})
    assert config.num_partitions == 6
    assert config.broker_rack == "r1"
    assert config.originals["num.partitions"] == "6"


def test_broker_only_layout() -> None:
    config = _load(BROKER_ONLY)
    assert config.process_roles == frozenset({"broker"})
    assert config.quorum_bootstrap_servers == (("c1", 9093), ("c2", 9093), ("c3", 9093))
    assert [str(e) for e in config.advertised_listeners] == ["PLAINTEXT://b4.example.com:9092"]
    assert config.security_protocol_map["CONTROLLER"] is SecurityProtocol.PLAINTEXT
    assert config.broker_rack == "eu-west-1a"


def test_controller_only_layout() -> None:
    config = _load(CONTROLLER_ONLY)
    assert not config.is_broker
    # A wildcard controller listener is advertised as this node's voter address.
    assert [str(e) for e in config.advertised_controller_listeners] == ["CONTROLLER://c1:9093"]


def test_broker_id_stands_for_node_id() -> None:
    props = _combined(node_id=None, broker_id="1")
    assert _load(props).node_id == 1


# --- names: unknown, not yet supported, removed --------------------------------------


def test_unknown_key() -> None:
    error = _error(_combined(**{"log_retention_hourz": "5"}))
    assert str(error) == "unknown configuration key: log.retention.hourz"
    assert error.keys == ("log.retention.hourz",)


def test_unsupported_feature_at_a_non_default_value() -> None:
    error = _error(_combined(ssl_keystore_location="/etc/kafka/ks.jks"))
    assert str(error) == "not supported by Odradek yet: ssl.keystore.location (TLS)"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ssl.client.auth", "none"),
        ("sasl.enabled.mechanisms", "GSSAPI"),
        ("remote.log.storage.system.enable", "false"),
        ("authorizer.class.name", ""),
        ("metric.reporters", ""),
        ("metric.reporters", "org.apache.kafka.common.metrics.JmxReporter"),
        ("group.consumer.assignors", "range"),
        ("group.coordinator.rebalance.protocols", "classic,consumer"),
    ],
)
def test_unsupported_feature_keys_at_harmless_values_are_accepted(key: str, value: str) -> None:
    props = _combined()
    props[key] = value
    _load(props)


@pytest.mark.parametrize(
    ("key", "value", "feature"),
    [
        (
            "authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "authorization",
        ),
        ("super.users", "User:admin", "authorization"),
        ("remote.log.storage.system.enable", "true", "tiered storage"),
        ("quota.window.num", "20", "quotas"),
        ("metric.reporters", "com.example.Reporter", "metrics reporter plug-ins"),
        ("group.coordinator.rebalance.protocols", "classic,share", "share groups"),
        ("group.consumer.assignors", "com.example.Assignor", "custom consumer group assignors"),
        ("delegation.token.secret.key", "k", "delegation tokens"),
    ],
)
def test_unsupported_features(key: str, value: str, feature: str) -> None:
    props = _combined()
    props[key] = value
    assert str(_error(props)) == f"not supported by Odradek yet: {key} ({feature})"


def test_removed_key() -> None:
    error = _error(_combined(zookeeper_connect="zk:2181"))
    assert str(error).startswith("configuration key removed in Kafka 4.0: zookeeper.connect (")


def test_per_listener_keys_are_not_supported_yet() -> None:
    props = _combined()
    props["listener.name.plaintext.max.connections"] = "10"
    assert "per-listener configuration" in str(_error(props))


def test_every_problem_with_single_keys_is_reported_at_once() -> None:
    props = _combined(num_partitions="zero", bogus_key="1", ssl_protocol="TLSv1.2")
    props.pop("node.id")
    error = _error(props)
    assert set(error.keys) == {"num.partitions", "node.id", "bogus.key", "ssl.protocol"}


def test_an_ssl_listener_is_not_supported_yet() -> None:
    props = _combined(listeners="SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093")
    props["inter.broker.listener.name"] = "SSL"
    assert "not supported by Odradek yet: listener SSL://127.0.0.1:9092 uses SSL" in str(
        _error(props)
    )


# --- cross-key rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        (
            {"process.roles": None},
            "process.roles",
            'Missing required configuration "process.roles"',
        ),
        ({"process.roles": ""}, "process.roles", "must not be empty"),
        ({"process.roles": "broker,observer"}, "process.roles", "String must be one of"),
        ({"node.id": None}, "node.id", 'Missing required configuration "node.id"'),
        ({"node.id": "-1"}, "node.id", "Value must be at least 0"),
        ({"broker.id": "2"}, "node.id", "You must set `node.id` to the same value as `broker.id`"),
        (
            {"controller.quorum.voters": ""},
            "controller.quorum.voters",
            "either controller.quorum.bootstrap.servers",
        ),
        (
            {"controller.quorum.voters": "2@127.0.0.1:9093"},
            "controller.quorum.voters",
            "must be included in the set of voters",
        ),
        (
            {"controller.quorum.voters": "1-127.0.0.1:9093"},
            "controller.quorum.voters",
            "{id}@{host}:{port}",
        ),
        (
            {"controller.listener.names": "CTRL"},
            "controller.listener.names",
            "must contain at least one value appearing in the 'listeners'",
        ),
        (
            {"controller.listener.names": "CONTROLLER,OTHER"},
            "controller.listener.names",
            "must only contain values appearing in the 'listeners'",
        ),
        (
            {"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9094,CONTROLLER://:9093"},
            "listeners",
            "Each listener must have a different name",
        ),
        (
            {"listeners": "PLAINTEXT://:9092,CONTROLLER://:9092"},
            "listeners",
            "Each listener must have a different port",
        ),
        (
            {"listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.2:9092"},
            "listeners",
            "one needs to be IPv4 and the other IPv6",
        ),
        (
            {"listeners": "PLAINTEXT:/127.0.0.1:9092,CONTROLLER://:9093"},
            "listeners",
            "Unable to parse PLAINTEXT:/127.0.0.1:9092",
        ),
        (
            {"listeners": "CLIENT://:9092,CONTROLLER://:9093"},
            "listeners",
            "No security protocol defined for listener CLIENT",
        ),
        (
            {"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"},
            "advertised.listeners",
            "nonroutable meta-address 0.0.0.0",
        ),
        (
            {
                "advertised.listeners": "OTHER://h:9092",
                "listener.security.protocol.map": (
                    "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT"
                ),
            },
            "inter.broker.listener.name",
            "must be a listener name defined in advertised.listeners",
        ),
        (
            {
                "inter.broker.listener.name": "PLAINTEXT",
                "security.inter.broker.protocol": "PLAINTEXT",
            },
            "inter.broker.listener.name",
            "Only one of",
        ),
        (
            {"inter.broker.listener.name": "INTERNAL"},
            "inter.broker.listener.name",
            "not found in listener.security.protocol.map",
        ),
        ({"log.roll.ms": "0"}, "log.roll.ms", "log.roll.ms must be greater than or equal to 1"),
        (
            {"log.retention.ms": "0"},
            "log.retention.ms",
            "unlimited (-1) or, greater than or equal to 1",
        ),
        (
            {"log.cleaner.dedupe.buffer.size": "2097152", "log.cleaner.threads": "2"},
            "log.cleaner.dedupe.buffer.size",
            "at least 1MB per cleaner thread",
        ),
        (
            {"replica.fetch.wait.max.ms": "40000"},
            "replica.socket.timeout.ms",
            "at least replica.fetch.wait.max.ms",
        ),
        (
            {"replica.fetch.wait.max.ms": "20000", "replica.lag.time.max.ms": "10000"},
            "replica.fetch.wait.max.ms",
            "less than or equal to replica.lag.time.max.ms",
        ),
        (
            {"queued.max.request.bytes": "1000"},
            "queued.max.request.bytes",
            "larger or equal to socket.request.max.bytes",
        ),
        ({"max.connections.per.ip": "0"}, "max.connections.per.ip", "can be set to zero only if"),
        (
            {"max.connections.per.ip.overrides": "bad host!:5"},
            "max.connections.per.ip.overrides",
            "invalid addresses",
        ),
        (
            {"connection.failed.authentication.delay.ms": "700000"},
            "connection.failed.authentication.delay.ms",
            "should always be less than",
        ),
        (
            {
                "group.consumer.heartbeat.interval.ms": "45000",
                "group.consumer.max.heartbeat.interval.ms": "60000",
            },
            "group.consumer.heartbeat.interval.ms",
            "must be less than group.consumer.session.timeout.ms",
        ),
        (
            {"group.consumer.session.timeout.ms": "30000"},
            "group.consumer.session.timeout.ms",
            "greater than or equal to group.consumer.min.session.timeout.ms",
        ),
        (
            {"early.start.listeners": "OTHER"},
            "early.start.listeners",
            "early.start.listeners contains listener OTHER",
        ),
        (
            {"group.coordinator.rebalance.protocols": "consumer"},
            "group.coordinator.rebalance.protocols",
            "Disabling the 'CLASSIC' protocol",
        ),
        (
            {"log.cleaner.min.compaction.lag.ms": "10", "log.cleaner.max.compaction.lag.ms": "5"},
            "log.cleaner.min.compaction.lag.ms",
            "min.compaction.lag.ms (10) > max.compaction.lag.ms (5)",
        ),
        (
            {"odradek.metrics.listener": "nonsense"},
            "odradek.metrics.listener",
            "Expected host:port",
        ),
    ],
)
def test_rules(changes: dict[str, str | None], key: str, message: str) -> None:
    props = embedded_default_properties()
    for name, value in changes.items():
        if value is None:
            props.pop(name, None)
        else:
            props[name] = value
    error = _error(props)
    assert key in error.keys
    assert message in str(error)


def test_same_port_on_ipv4_and_ipv6_is_allowed() -> None:
    props = _combined(
        listeners="PLAINTEXT://127.0.0.1:9092,IPV6://[::1]:9092,CONTROLLER://127.0.0.1:9093"
    )
    props["listener.security.protocol.map"] = (
        "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,IPV6:PLAINTEXT"
    )
    props["inter.broker.listener.name"] = "PLAINTEXT"
    config = _load(props)
    assert config.listeners[1] == Endpoint("IPV6", SecurityProtocol.PLAINTEXT, "::1", 9092)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"controller.quorum.bootstrap.servers": "", "controller.quorum.voters": "4@c1:9093"},
            "must not be included in the set of voters",
        ),
        (
            {"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"},
            "must not contain a value appearing in the 'listeners'",
        ),
        (
            {
                "controller.listener.names": "CTRL",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT",
            },
            "Controller listener with name CTRL defined in controller.listener.names not found",
        ),
        (
            {"controller.listener.names": None},
            'Missing required configuration "controller.listener.names"',
        ),
    ],
)
def test_broker_only_rules(changes: dict[str, str | None], message: str) -> None:
    props = dict(BROKER_ONLY)
    for name, value in changes.items():
        if value is None:
            props.pop(name)
        else:
            props[name] = value
    assert message in str(_error(props))


def test_controller_only_binds_only_controller_listeners() -> None:
    props = dict(CONTROLLER_ONLY, listeners="CONTROLLER://:9093,PLAINTEXT://:9092")
    assert "must only contain KRaft controller listeners" in str(_error(props))


def test_controller_only_must_be_a_voter() -> None:
    props = dict(CONTROLLER_ONLY, **{"node.id": "7"})
    assert "must be included in the set of voters" in str(_error(props))


# --- the topic defaults a broker gives ------------------------------------------------


def test_log_config_defaults_use_kafka_defaults() -> None:
    defaults = load_broker_config().log_config_defaults()
    assert defaults["retention.ms"] == 7 * 24 * 3600 * 1000
    assert defaults["segment.ms"] == 7 * 24 * 3600 * 1000
    assert defaults["segment.bytes"] == 1024**3
    assert defaults["cleanup.policy"] == ("delete",)
    assert defaults["max.message.bytes"] == 1048588
    assert defaults["flush.ms"] == 2**63 - 1
    assert defaults["remote.storage.enable"] is False
    assert "internal.segment.bytes" not in defaults


@pytest.mark.parametrize(
    ("changes", "topic_key", "value"),
    [
        ({"log.retention.hours": "1"}, "retention.ms", 3_600_000),
        ({"log.retention.hours": "1", "log.retention.minutes": "5"}, "retention.ms", 300_000),
        ({"log.retention.minutes": "5", "log.retention.ms": "1234"}, "retention.ms", 1234),
        ({"log.retention.ms": "-5"}, "retention.ms", -1),
        ({"log.roll.hours": "2"}, "segment.ms", 7_200_000),
        ({"log.roll.jitter.hours": "1"}, "segment.jitter.ms", 3_600_000),
        ({"log.flush.scheduler.interval.ms": "10"}, "flush.ms", 10),
        ({"log.cleanup.policy": "compact,delete"}, "cleanup.policy", ("compact", "delete")),
        ({"message.max.bytes": "2000000"}, "max.message.bytes", 2_000_000),
        ({"compression.type": "zstd"}, "compression.type", "zstd"),
    ],
)
def test_log_config_defaults_follow_synonyms(
    changes: dict[str, str], topic_key: str, value: object
) -> None:
    props = embedded_default_properties()
    props.update(changes)
    assert _load(props).log_config_defaults()[topic_key] == value
