"""Shared pieces of the controller tests: a small config table, clusters, replay."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from odradek.controller.features import bootstrap_records
from odradek.controller.result import ControllerResult
from odradek.controller.settings import ControllerSettings
from odradek.controller.topics import create_topics
from odradek.metadata.configs import ConfigResource, ConfigResourceType
from odradek.metadata.delta import replay_records
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from odradek.metadata.records import VersionedRecord
from odradek.metadata.serde import decode_record, encode_record
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    RegisterBrokerRecord,
)

CLUSTER_ID = "test-cluster-id"
SETTINGS = ControllerSettings(node_id=0, cluster_id=CLUSTER_ID)


class TopicConfigTable:
    """A few topic keys with Kafka's types: enough to exercise validation paths."""

    LISTS = frozenset({"cleanup.policy", "leader.replication.throttled.replicas"})
    DEFAULTS: Mapping[str, str] = {"cleanup.policy": "delete"}
    INTS = frozenset({"retention.ms", "min.insync.replicas", "segment.bytes"})
    BOOLS = frozenset({"unclean.leader.election.enable"})

    def validate(
        self, resource: ConfigResource, configs: Mapping[str, str], existing: Mapping[str, str]
    ) -> None:
        if resource.type != ConfigResourceType.TOPIC:
            return
        for name, value in configs.items():
            if name not in self.LISTS | self.INTS | self.BOOLS:
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
            if name in self.INTS and not value.lstrip("-").isdigit():
                raise KafkaError(
                    ErrorCode.INVALID_CONFIG,
                    f"Invalid value {value} for configuration {name}: Not a number of type INT",
                )

    def is_list(self, resource_type: int, name: str) -> bool:
        return name in self.LISTS

    def default_value(self, resource_type: int, name: str) -> str | None:
        return self.DEFAULTS.get(name)


SCHEMA = TopicConfigTable()


class Ids:
    """Topic ids 1, 2, 3, ... as UUIDs: predictable in expected records."""

    def __init__(self) -> None:
        self.next = 1

    def __call__(self) -> uuid.UUID:
        value = uuid.UUID(int=self.next)
        self.next += 1
        return value


def rng(seed: int = 0) -> random.Random:
    return random.Random(seed)


def dir_of(broker_id: int) -> uuid.UUID:
    return uuid.UUID(int=(1 << 64) + broker_id)


def incarnation(broker_id: int, generation: int = 0) -> uuid.UUID:
    return uuid.UUID(int=(2 << 64) + (generation << 32) + broker_id)


def replay(image: MetadataImage, records: Iterable[VersionedRecord]) -> MetadataImage:
    """Replay records as a follower would: encoded and decoded, one offset each."""
    decoded = [decode_record(encode_record(r)) for r in records]
    if not decoded:
        return image
    last = image.provenance.last_offset + len(decoded)
    return replay_records(
        image, decoded, MetadataProvenance(last_offset=last, last_epoch=1, last_log_time_ms=0)
    )


def applied(image: MetadataImage, result: ControllerResult[Any]) -> MetadataImage:
    return replay(image, result.records)


def cluster(
    brokers: Mapping[int, str | None] | Sequence[int],
    *,
    fenced: Iterable[int] = (),
    level: int = 21,
) -> MetadataImage:
    """An image with ``brokers`` (id -> rack) registered and, unless listed, unfenced."""
    racks = brokers if isinstance(brokers, Mapping) else dict.fromkeys(brokers)
    image = replay(EMPTY_IMAGE, bootstrap_records(level))
    fenced = set(fenced)
    records: list[VersionedRecord] = []
    for broker_id, rack in racks.items():
        epoch = image.provenance.next_offset + len(records)
        records.append(
            VersionedRecord(
                RegisterBrokerRecord(
                    broker_id=broker_id,
                    incarnation_id=incarnation(broker_id),
                    broker_epoch=epoch,
                    end_points=[BrokerEndpoint(name="PLAINTEXT", host="localhost", port=9092)],
                    rack=rack,
                    log_dirs=[dir_of(broker_id)] if level >= 17 else [],
                ),
                3 if level >= 17 else 0,
            )
        )
        if broker_id not in fenced:
            records.append(
                VersionedRecord(
                    BrokerRegistrationChangeRecord(
                        broker_id=broker_id, broker_epoch=epoch, fenced=-1
                    ),
                    0,
                )
            )
    return replay(image, records)


def messages(result: ControllerResult[Any]) -> list[Any]:
    return [r.message for r in result.records]


def create(
    image: MetadataImage,
    name: str,
    *,
    partitions: int = 1,
    replication_factor: int = 1,
    seed: int = 0,
    configs: Mapping[str, str] | None = None,
) -> MetadataImage:
    """``image`` with one more topic, created through CreateTopics."""
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                configs=[CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
            )
        ]
    )
    result = create_topics(
        image, request, settings=SETTINGS, schema=SCHEMA, id_source=Ids(), rng=rng(seed)
    )
    (topic,) = result.response.topics
    assert topic.error_code == 0, topic
    return applied(image, result)
