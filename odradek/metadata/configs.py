"""Dynamic configuration: the key/value overrides stored in the metadata log.

Each ``ConfigRecord`` (``shared/kafka-spec/metadata/ConfigRecord.json``) sets one key
of one resource, or deletes it when its value is null. A resource is a type and a
name: a topic by name, a broker by id, or the cluster-wide broker defaults (a
BROKER resource with the empty name). Static configuration (``server.properties``)
never enters the log; the effective value of a key is resolved elsewhere from both.
Deleting a topic deletes its configs too, without ConfigRecords.

Mirrors Kafka's ``ConfigurationsImage`` and ``ConfigurationsDelta``; the resource
type ids are Kafka's ``ConfigResource.Type``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import msgspec

from odradek.protocol.messages.metadata.config_record import ConfigRecord

from .merge import nested_differences
from .records import VersionedRecord


class ConfigResourceType(enum.IntEnum):
    """``ConfigResource.Type`` ids, as DescribeConfigs and AlterConfigs carry them."""

    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class ConfigResource(NamedTuple):
    """A configurable thing: its type id and its name ("" for cluster-wide broker defaults)."""

    type: int
    name: str

    @classmethod
    def topic(cls, name: str) -> ConfigResource:
        return cls(int(ConfigResourceType.TOPIC), name)

    @classmethod
    def broker(cls, broker_id: int | None = None) -> ConfigResource:
        """A broker's own configs, or the cluster-wide defaults when ``broker_id`` is None."""
        return cls(int(ConfigResourceType.BROKER), "" if broker_id is None else str(broker_id))


class ConfigurationsImage(msgspec.Struct, frozen=True, kw_only=True):
    """The dynamic configs of every resource that has any."""

    resources: Mapping[ConfigResource, Mapping[str, str]] = msgspec.field(default_factory=dict)

    def configs(self, resource: ConfigResource) -> Mapping[str, str]:
        """The configs set on ``resource`` (empty if none)."""
        return self.resources.get(resource, {})

    def topic(self, name: str) -> Mapping[str, str]:
        """The configs set on topic ``name``."""
        return self.configs(ConfigResource.topic(name))

    def to_records(self) -> Iterator[VersionedRecord]:
        for resource in sorted(self.resources):
            for name, value in sorted(self.resources[resource].items()):
                yield VersionedRecord(
                    ConfigRecord(
                        resource_type=resource.type,
                        resource_name=resource.name,
                        name=name,
                        value=value,
                    ),
                    0,
                )


EMPTY_CONFIGS = ConfigurationsImage()


class ConfigurationsDelta:
    """Config changes on top of a :class:`ConfigurationsImage`.

    ``changes`` maps each touched resource to its changed keys, None meaning deleted.
    """

    def __init__(self, image: ConfigurationsImage) -> None:
        self.image = image
        self.changes: dict[ConfigResource, dict[str, str | None]] = {}

    @classmethod
    def from_snapshot(
        cls, image: ConfigurationsImage, snapshot: ConfigurationsImage
    ) -> ConfigurationsDelta:
        """From ``image`` to ``snapshot``: every key the snapshot lacks is deleted.

        Kafka's ``ConfigurationsDelta.finishSnapshot``; resources whose configs are the
        same in both are left out, so :meth:`changed_topics` names only real changes.
        """
        delta = cls(image)
        delta.changes = nested_differences(image.resources, snapshot.resources)
        return delta

    def replay_config(self, record: ConfigRecord) -> None:
        resource = ConfigResource(record.resource_type, record.resource_name)
        self.changes.setdefault(resource, {})[record.name] = record.value

    def delete_all(self, resource: ConfigResource) -> None:
        """Forget every config of ``resource`` (its topic was deleted)."""
        keys = self.image.configs(resource)
        if keys or resource in self.changes:
            self.changes[resource] = dict.fromkeys(keys)

    def changed_topics(self) -> set[str]:
        """Names of the topics whose configs this delta changes (deleted topics included)."""
        return {r.name for r in self.changes if r.type == ConfigResourceType.TOPIC}

    def configs(self, resource: ConfigResource) -> Mapping[str, str]:
        """The configs of ``resource`` as of this delta."""
        changes = self.changes.get(resource)
        if changes is None:
            return self.image.configs(resource)
        result = dict(self.image.configs(resource))
        for name, value in changes.items():
            if value is None:
                result.pop(name, None)
            else:
                result[name] = value
        return result

    def apply(self) -> ConfigurationsImage:
        if not self.changes:
            return self.image
        resources = dict(self.image.resources)
        for resource in self.changes:
            configs = self.configs(resource)
            if configs:
                resources[resource] = configs
            else:
                resources.pop(resource, None)
        return ConfigurationsImage(resources=resources)
