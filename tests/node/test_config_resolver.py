"""DescribeConfigs values, sources and synonym chains, as Kafka's ConfigHelper reports them."""

from __future__ import annotations

import pytest

from odradek.node.config import ConfigError, ConfigLayers, ConfigSource, embedded_default_properties
from odradek.node.config.resolver import (
    SynonymValue,
    broker_synonyms,
    describe_broker_config,
    describe_topic,
    describe_topic_config,
)

STATIC = ConfigSource.STATIC_BROKER_CONFIG
DEFAULT = ConfigSource.DEFAULT_CONFIG
DYNAMIC_DEFAULT = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG
DYNAMIC_BROKER = ConfigSource.DYNAMIC_BROKER_CONFIG
TOPIC = ConfigSource.DYNAMIC_TOPIC_CONFIG


def _layers(
    static: dict[str, str] | None = None,
    dynamic_default: dict[str, str] | None = None,
    dynamic_broker: dict[str, str] | None = None,
) -> ConfigLayers:
    return ConfigLayers(
        {**embedded_default_properties(), **(static or {})},
        dynamic_default or {},
        dynamic_broker or {},
    )


def test_retention_from_the_hours_default_reports_no_synonyms() -> None:
    # Kafka lists a topic key's synonyms from its first broker synonym (log.retention.ms)
    # on, so a value that only log.retention.hours sets shows none.
    described = describe_topic_config("retention.ms", {}, _layers())
    assert described.value == "604800000"
    assert described.source is DEFAULT
    assert described.synonyms == ()
    assert described.read_only is False


def test_static_synonym() -> None:
    described = describe_topic_config("retention.ms", {}, _layers({"log.retention.ms": "1000"}))
    assert described.value == "1000"
    assert described.source is STATIC
    assert described.synonyms == (
        SynonymValue("log.retention.ms", "1000", STATIC),
        SynonymValue("log.retention.hours", "168", DEFAULT),
    )


def test_hours_and_minutes_convert() -> None:
    layers = _layers({"log.retention.minutes": "5"})
    assert describe_topic_config("retention.ms", {}, layers).value == "300000"
    assert describe_topic_config("segment.ms", {}, _layers({"log.roll.hours": "2"})).value == (
        "7200000"
    )


def test_topic_override_comes_first() -> None:
    layers = _layers({"log.retention.ms": "1000"})
    described = describe_topic_config("retention.ms", {"retention.ms": "5000"}, layers)
    assert described.value == "5000"
    assert described.source is TOPIC
    assert described.synonyms == (
        SynonymValue("retention.ms", "5000", TOPIC),
        SynonymValue("log.retention.ms", "1000", STATIC),
        SynonymValue("log.retention.hours", "168", DEFAULT),
    )


def test_layers_order_dynamic_broker_then_default_then_static_then_kafka_default() -> None:
    layers = _layers(
        {"log.cleanup.policy": "compact"},
        dynamic_default={"log.cleanup.policy": "delete"},
        dynamic_broker={"log.cleanup.policy": "compact,delete"},
    )
    described = describe_topic_config("cleanup.policy", {}, layers)
    assert described.value == "compact,delete"
    assert described.source is DYNAMIC_BROKER
    assert [(s.source, s.value) for s in described.synonyms] == [
        (DYNAMIC_BROKER, "compact,delete"),
        (DYNAMIC_DEFAULT, "delete"),
        (STATIC, "compact"),
        (DEFAULT, "delete"),
    ]


def test_default_only() -> None:
    described = describe_topic_config("cleanup.policy", {}, _layers())
    assert described.source is DEFAULT
    assert described.synonyms == (SynonymValue("log.cleanup.policy", "delete", DEFAULT),)


def test_synonyms_are_grouped_by_layer_before_rank() -> None:
    layers = _layers({"log.retention.ms": "1000"}, dynamic_default={"log.retention.hours": "1"})
    described = describe_topic_config("retention.ms", {}, layers)
    # log.retention.ms outranks log.retention.hours whatever layer each is in ...
    assert described.value == "1000"
    # ... while the chain is grouped by layer and starts at the first log.retention.ms, so
    # the dynamic default log.retention.hours before it is left out.
    assert [(s.name, s.source) for s in described.synonyms] == [
        ("log.retention.ms", STATIC),
        ("log.retention.hours", DEFAULT),
    ]
    layers = _layers({"log.retention.hours": "2"}, dynamic_default={"log.retention.ms": "60000"})
    described = describe_topic_config("retention.ms", {}, layers)
    assert described.value == "60000"
    assert [(s.name, s.source) for s in described.synonyms] == [
        ("log.retention.ms", DYNAMIC_DEFAULT),
        ("log.retention.hours", STATIC),
        ("log.retention.hours", DEFAULT),
    ]


def test_keys_without_a_broker_synonym() -> None:
    described = describe_topic_config("remote.storage.enable", {}, _layers())
    assert described.value == "false"
    assert described.source is DEFAULT
    assert described.synonyms == ()


def test_describe_topic_lists_every_public_key() -> None:
    names = [d.name for d in describe_topic({"retention.ms": "1"}, _layers())]
    assert "retention.ms" in names
    assert "internal.segment.bytes" not in names
    assert len(names) == 33


def test_invalid_topic_override() -> None:
    with pytest.raises(ConfigError, match=r"retention\.ms"):
        describe_topic_config("retention.ms", {"retention.ms": "-3"}, _layers())
    with pytest.raises(ConfigError, match="conflict topic config setting"):
        describe_topic_config(
            "retention.ms",
            {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"},
            _layers(),
        )


def test_broker_synonym_groups() -> None:
    assert broker_synonyms("log.roll.hours") == ("log.roll.ms", "log.roll.hours")
    assert broker_synonyms("log.retention.minutes") == (
        "log.retention.ms",
        "log.retention.minutes",
        "log.retention.hours",
    )
    assert broker_synonyms("log.flush.scheduler.interval.ms") == (
        "log.flush.scheduler.interval.ms",
    )
    assert broker_synonyms("num.partitions") == ("num.partitions",)


def test_describe_a_broker_key() -> None:
    layers = _layers({"log.retention.hours": "24"}, dynamic_default={"log.retention.ms": "5"})
    described = describe_broker_config("log.retention.hours", layers)
    assert described.value == "24"
    assert described.read_only is True
    # The chain starts at the first entry named like the key asked about.
    assert described.synonyms == (
        SynonymValue("log.retention.hours", "24", STATIC),
        SynonymValue("log.retention.hours", "168", DEFAULT),
    )
    assert described.source is STATIC
    dynamic = describe_broker_config("log.retention.ms", layers)
    assert dynamic.read_only is False
    assert dynamic.source is DYNAMIC_DEFAULT


def test_the_cluster_default_resource_shows_only_dynamic_defaults() -> None:
    layers = _layers({"num.io.threads": "4"}, dynamic_default={"num.io.threads": "16"})
    assert describe_broker_config("num.io.threads", layers).value == "16"
    described = describe_broker_config("num.io.threads", layers, per_broker=False)
    assert described.synonyms == (SynonymValue("num.io.threads", "16", DYNAMIC_DEFAULT),)


def test_passwords_are_never_described() -> None:
    layers = _layers({"delegation.token.secret.key": "shh"})
    described = describe_broker_config("delegation.token.secret.key", layers)
    assert described.value is None
    assert described.sensitive is True
    assert described.synonyms == (SynonymValue("delegation.token.secret.key", None, STATIC),)
