"""The consumer protocol embedded in JoinGroup and SyncGroup, read and written by the server.

A classic consumer puts its subscription in each JoinGroup protocol's metadata and
receives its assignment as SyncGroup's opaque bytes, both as an int16 version
followed by ``ConsumerProtocolSubscription`` / ``ConsumerProtocolAssignment``
(``clients/ConsumerProtocol*.json``). A classic group never looks inside them. A
consumer group with classic members does (Kafka's ``ConsumerProtocol`` helpers as
used by ``GroupMetadataManager``): the subscription gives the member's topics, rack
and owned partitions, and the server computes the assignment, so it writes the bytes
itself, at the version the member's subscription was written in.

Newer versions only add fields, so a version above the highest known one is read as
the highest, ignoring what follows -- Kafka's rule for these two messages.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from odradek.coordinator.group.topics import TopicsView
from odradek.protocol.codec import decode, encode
from odradek.protocol.messages.clients.consumer_protocol_assignment import (
    ConsumerProtocolAssignment,
)
from odradek.protocol.messages.clients.consumer_protocol_assignment import (
    TopicPartition as AssignedTopic,
)
from odradek.protocol.messages.clients.consumer_protocol_subscription import (
    ConsumerProtocolSubscription,
)
from odradek.protocol.primitives import DecodeError

from .member import Partitions

_VERSION = struct.Struct(">h")
_HIGHEST_ASSIGNMENT = ConsumerProtocolAssignment.CODEC.highest


class MalformedProtocolError(ValueError):
    """Bytes that claim to be the consumer protocol and are not."""


@dataclass(frozen=True, slots=True)
class Subscription:
    version: int
    topics: frozenset[str]
    #: topic name -> partitions, as the member reported owning them (v1+).
    owned: Mapping[str, frozenset[int]]
    #: The generation the owned partitions are from (v2+), or -1.
    generation_id: int
    rack_id: str | None


M = TypeVar("M", ConsumerProtocolSubscription, ConsumerProtocolAssignment)


def _read(cls: type[M], data: bytes) -> tuple[int, M]:
    """The version and body of versioned consumer protocol bytes."""
    version = read_version(data)
    try:
        body = decode(
            cls, memoryview(data)[2:], min(version, cls.CODEC.highest), allow_trailing=True
        )
    except DecodeError as e:
        raise MalformedProtocolError(f"malformed {cls.CODEC.name}: {e}") from None
    return version, body


def read_subscription(metadata: bytes) -> Subscription:
    """The subscription in one JoinGroup protocol's metadata."""
    version, body = _read(ConsumerProtocolSubscription, metadata)
    owned: dict[str, frozenset[int]] = {}
    for entry in body.owned_partitions:
        owned[entry.topic] = owned.get(entry.topic, frozenset()) | frozenset(entry.partitions)
    return Subscription(
        version=version,
        topics=frozenset(body.topics),
        owned=owned,
        generation_id=body.generation_id,
        rack_id=body.rack_id,
    )


def read_version(metadata: bytes) -> int:
    if len(metadata) < 2:
        raise MalformedProtocolError("consumer protocol bytes shorter than their version")
    version: int = _VERSION.unpack_from(metadata, 0)[0]
    if version < 0:
        raise MalformedProtocolError(f"consumer protocol version {version} is negative")
    return version


def read_assignment(data: bytes) -> dict[str, frozenset[int]]:
    """topic name -> partitions of an assignment; empty bytes are no assignment."""
    if not data:
        return {}
    _, body = _read(ConsumerProtocolAssignment, data)
    result: dict[str, frozenset[int]] = {}
    for entry in body.assigned_partitions:
        result[entry.topic] = result.get(entry.topic, frozenset()) | frozenset(entry.partitions)
    return result


def write_assignment(partitions: Mapping[str, Iterable[int]], version: int) -> bytes:
    """An assignment in the bytes a consumer that subscribed at ``version`` reads."""
    version = min(version, _HIGHEST_ASSIGNMENT)
    body = ConsumerProtocolAssignment(
        assigned_partitions=[
            AssignedTopic(topic=topic, partitions=sorted(ids))
            for topic, ids in sorted(partitions.items())
            if ids
        ]
    )
    return _VERSION.pack(version) + encode(body, version)


def by_topic_id(
    partitions: Mapping[str, frozenset[int]], topics: TopicsView
) -> dict[uuid.UUID, frozenset[int]]:
    """Partitions by topic name to partitions by topic id; unknown topics are dropped."""
    result: dict[uuid.UUID, frozenset[int]] = {}
    for name, ids in partitions.items():
        topic = topics.get_by_name(name)
        if topic is not None and ids:
            result[topic.topic_id] = ids
    return result


def by_topic_name(partitions: Partitions, topics: TopicsView) -> dict[str, frozenset[int]]:
    """Partitions by topic id to partitions by name; topics gone from the cluster are dropped."""
    if not partitions:
        return {}
    names = {topic.topic_id: name for name, topic in topics.by_name.items()}
    return {names[t]: ids for t, ids in partitions.items() if t in names and ids}
