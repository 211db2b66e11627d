"""Effective values, their sources and synonym chains, as DescribeConfigs reports them.

A broker's value of a key comes from one of four layers, most specific first: a
dynamic setting for this broker (IncrementalAlterConfigs on resource ``"<id>"``), a
dynamic cluster-wide default (resource ``""``), the static ``server.properties``, and
Kafka's default. The layers are merged in that order and then parsed, so a synonym of
higher rank wins whatever layer it is in: a static ``log.retention.ms`` beats a
dynamic ``log.retention.hours``. A topic's value is its own override if it has one,
else what the broker values give through :data:`.TOPIC_SYNONYMS`.

The synonym list follows Kafka's ``ConfigHelper.configSynonyms``: all synonyms found in
the dynamic broker layer (in synonym order), then those in the dynamic default layer,
then static, then defaults; the list starts at the first entry named like the key
asked about (Kafka drops what comes before it). For a topic key the name asked about
is its first broker synonym, and the topic's own override, if any, goes in front. The
reported source is that of the list's first entry, or DEFAULT_CONFIG when it is empty:
so a topic's ``retention.ms`` backed only by ``log.retention.hours`` reports no
synonyms, as Kafka does.

Spec: ``clients/DescribeConfigsResponse.json`` (``ConfigSource``, ``Synonyms``) and
Kafka's ``ConfigHelper`` and ``DynamicBrokerConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from .broker_config import log_config_defaults_from, with_id_synonyms
from .broker_configs import BROKER_CONFIGS
from .config_def import ConfigType, UpdateMode, to_kafka_string
from .topic_configs import TOPIC_CONFIGS, TOPIC_SYNONYMS, check_topic_values


class ConfigSource(IntEnum):
    """DescribeConfigs' ``ConfigSource`` ids."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


@dataclass(frozen=True, slots=True)
class SynonymValue:
    """One entry of a synonym chain: a key, its value as set, and where it was set."""

    name: str
    value: str | None
    source: ConfigSource


@dataclass(frozen=True, slots=True)
class ResolvedConfig:
    """A key's effective value as DescribeConfigs reports it (None when sensitive)."""

    name: str
    value: str | None
    source: ConfigSource
    synonyms: tuple[SynonymValue, ...]
    read_only: bool
    sensitive: bool
    type: ConfigType
    doc: str


# DynamicBrokerConfig.brokerConfigSynonyms: keys that stand for one another.
_BROKER_SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
)


def broker_synonyms(name: str) -> tuple[str, ...]:
    """The keys that give ``name`` its value, highest rank first (``name`` among them)."""
    for group in _BROKER_SYNONYM_GROUPS:
        if name in group:
            # log.flush.scheduler.interval.ms is a fallback of flush.interval, not the reverse.
            return group if name != "log.flush.scheduler.interval.ms" else (name,)
    return (name,)


@dataclass(frozen=True)
class ConfigLayers:
    """A broker's configuration layers, as raw strings keyed by Kafka name."""

    static: Mapping[str, str]
    dynamic_default: Mapping[str, str] = field(default_factory=dict)
    dynamic_broker: Mapping[str, str] = field(default_factory=dict)

    def broker_values(self) -> dict[str, Any]:
        """Every broker key's current value: the layers merged, then parsed."""
        merged = {**with_id_synonyms(self.static), **self.dynamic_default, **self.dynamic_broker}
        return BROKER_CONFIGS.parse(merged)

    def _sources(self) -> tuple[tuple[Mapping[str, str | None], ConfigSource], ...]:
        return (
            (self.dynamic_broker, ConfigSource.DYNAMIC_BROKER_CONFIG),
            (self.dynamic_default, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
            (self.static, ConfigSource.STATIC_BROKER_CONFIG),
            (_DEFAULT_STRINGS, ConfigSource.DEFAULT_CONFIG),
        )

    def synonym_chain(self, name: str, synonyms: tuple[str, ...]) -> list[SynonymValue]:
        """Kafka's ``configSynonyms(name, synonyms)``: grouped by layer, from ``name`` on."""
        chain: list[SynonymValue] = []
        for layer, source in self._sources():
            for synonym in synonyms:
                if synonym in layer:
                    sensitive = _is_sensitive(synonym)
                    chain.append(
                        SynonymValue(synonym, None if sensitive else layer[synonym], source)
                    )
        for start, entry in enumerate(chain):
            if entry.name == name:
                return chain[start:]
        return []


def _is_sensitive(name: str) -> bool:
    key = BROKER_CONFIGS.get(name)
    # Kafka treats a key whose type it cannot tell as sensitive, to be safe.
    return key is None or key.sensitive


# DynamicBrokerConfig.staticDefaultConfigs: every default that is not null.
_DEFAULT_STRINGS: dict[str, str | None] = {
    key.name: key.default_string for key in BROKER_CONFIGS if key.default_string is not None
}


def describe_broker_config(
    name: str, layers: ConfigLayers, *, per_broker: bool = True
) -> ResolvedConfig:
    """A broker key as DescribeConfigs describes it.

    ``per_broker`` is True for the resource naming this broker; for the cluster-wide
    default resource (name ``""``) only dynamic defaults appear as synonyms.
    """
    key = BROKER_CONFIGS[name]
    chain = layers.synonym_chain(name, broker_synonyms(name))
    if not per_broker:
        chain = [s for s in chain if s.source is ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]
    value = None if key.sensitive else to_kafka_string(layers.broker_values()[name], key.type)
    return ResolvedConfig(
        name=name,
        value=value,
        source=chain[0].source if chain else ConfigSource.DEFAULT_CONFIG,
        synonyms=tuple(chain),
        read_only=key.mode is UpdateMode.READ_ONLY,
        sensitive=key.sensitive,
        type=key.type,
        doc=key.doc,
    )


def topic_values(overrides: Mapping[str, str], layers: ConfigLayers) -> dict[str, Any]:
    """A topic's effective values: its overrides over the broker's current values."""
    values = log_config_defaults_from(layers.broker_values())
    for name, raw in overrides.items():
        values[name] = TOPIC_CONFIGS[name].parse(raw)
    check_topic_values(values)
    return values


def describe_topic_config(
    name: str, overrides: Mapping[str, str], layers: ConfigLayers
) -> ResolvedConfig:
    """A topic key as DescribeConfigs describes it, with its synonyms and source."""
    return _describe_topic_key(name, overrides, layers, topic_values(overrides, layers))


def _describe_topic_key(
    name: str, overrides: Mapping[str, str], layers: ConfigLayers, values: Mapping[str, Any]
) -> ResolvedConfig:
    key = TOPIC_CONFIGS[name]
    value = None if key.sensitive else to_kafka_string(values[name], key.type)
    synonyms = TOPIC_SYNONYMS.get(name, ())
    chain = (
        layers.synonym_chain(synonyms[0].name, tuple(s.name for s in synonyms)) if synonyms else []
    )
    if name in overrides:
        chain.insert(0, SynonymValue(name, value, ConfigSource.DYNAMIC_TOPIC_CONFIG))
    return ResolvedConfig(
        name=name,
        value=value,
        source=chain[0].source if chain else ConfigSource.DEFAULT_CONFIG,
        synonyms=tuple(chain),
        read_only=False,
        sensitive=key.sensitive,
        type=key.type,
        doc=key.doc,
    )


def describe_topic(overrides: Mapping[str, str], layers: ConfigLayers) -> list[ResolvedConfig]:
    """Every public topic key of one topic, as DescribeConfigs lists them."""
    values = topic_values(overrides, layers)
    return [
        _describe_topic_key(key.name, overrides, layers, values)
        for key in TOPIC_CONFIGS
        if not key.internal
    ]
