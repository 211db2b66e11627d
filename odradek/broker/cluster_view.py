"""The cluster as a client sees it from one listener: live brokers, leaders, offline replicas.

A client connected on listener ``X`` may only learn addresses it can reach, so every
answer that names brokers (Metadata, DescribeCluster, DescribeTopicPartitions) lists
the unfenced brokers that registered an endpoint for ``X`` -- Kafka's
``KRaftMetadataCache.getAliveBrokerNodes``. In KRaft mode clients never talk to
controllers: where a response has a ``controller_id``, Kafka puts a live broker
chosen at random, and so does Odradek.

A replica is *offline* for a client when its broker is not registered, is fenced,
has no endpoint on the client's listener, or holds the replica in a log directory
it no longer reports online (``KRaftMetadataCache.getOfflineReplicas``).

Without an authorizer Kafka reports every operation a resource type supports as
authorized (``AuthHelper.authorizedOperations`` with no authorizer configured); the
bit fields below are those sets, the bits being ``AclOperation`` codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from odradek.metadata.cluster import BrokerRegistration
from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import PartitionRegistration
from odradek.protocol.errors import ErrorCode

#: Kafka's value for "authorized operations were not asked for" (``Integer.MIN_VALUE``).
AUTHORIZED_OPERATIONS_OMITTED = -(2**31)

# AclOperation codes (``org.apache.kafka.common.acl.AclOperation``).
_READ, _WRITE, _CREATE, _DELETE, _ALTER, _DESCRIBE = 3, 4, 5, 6, 7, 8
_CLUSTER_ACTION, _DESCRIBE_CONFIGS, _ALTER_CONFIGS, _IDEMPOTENT_WRITE = 9, 10, 11, 12


def _bits(*operations: int) -> int:
    return sum(1 << op for op in operations)


#: Every operation ``AclEntry.supportedOperations(TOPIC)`` lists.
TOPIC_OPERATIONS = _bits(
    _READ, _WRITE, _CREATE, _DESCRIBE, _DELETE, _ALTER, _DESCRIBE_CONFIGS, _ALTER_CONFIGS
)
#: Every operation ``AclEntry.supportedOperations(CLUSTER)`` lists.
CLUSTER_OPERATIONS = _bits(
    _CREATE,
    _CLUSTER_ACTION,
    _DESCRIBE_CONFIGS,
    _ALTER_CONFIGS,
    _IDEMPOTENT_WRITE,
    _ALTER,
    _DESCRIBE,
)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """A live broker as a client on one listener reaches it."""

    broker_id: int
    host: str
    port: int
    rack: str | None


def live_brokers(image: MetadataImage, listener: str) -> list[BrokerAddress]:
    """The unfenced brokers with an endpoint on ``listener``, by broker id."""
    found = []
    for broker_id in sorted(image.cluster.brokers):
        broker = image.cluster.brokers[broker_id]
        endpoint = broker.listeners.get(listener)
        if not broker.fenced and endpoint is not None:
            found.append(BrokerAddress(broker_id, endpoint.host, endpoint.port, broker.rack))
    return found


def random_live_broker(brokers: list[BrokerAddress]) -> int:
    """What Kafka answers as ``controller_id`` to clients: any live broker they can reach, or -1."""
    return random.choice(brokers).broker_id if brokers else -1


def leader_on_listener(
    image: MetadataImage, partition: PartitionRegistration, listener: str
) -> int:
    """The partition's leader if its broker has an endpoint on ``listener``, else -1."""
    broker = image.cluster.broker(partition.leader)
    if broker is None or listener not in broker.listeners:
        return -1
    return partition.leader


def offline_replicas(
    image: MetadataImage, partition: PartitionRegistration, listener: str
) -> list[int]:
    """The replicas a client on ``listener`` cannot use (see the module documentation)."""
    return [
        replica
        for replica in partition.replicas
        if _is_offline(image.cluster.broker(replica), partition, listener)
    ]


def _is_offline(
    broker: BrokerRegistration | None, partition: PartitionRegistration, listener: str
) -> bool:
    if broker is None or broker.fenced or listener not in broker.listeners:
        return True
    return not broker.has_online_dir(partition.directory(broker.broker_id))


def missing_partition_error(image: MetadataImage, topic: str, partition: int) -> ErrorCode:
    """The error for a partition this broker does not host (``getPartitionOrError``).

    If the metadata knows the partition, the client's metadata is stale and it should
    look for the partition elsewhere (NOT_LEADER_OR_FOLLOWER); otherwise it does not
    exist at all (UNKNOWN_TOPIC_OR_PARTITION).
    """
    found = image.topics.get_by_name(topic)
    if found is not None and partition in found.partitions:
        return ErrorCode.NOT_LEADER_OR_FOLLOWER
    return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def partition_exists(image: MetadataImage, topic: str, partition: int) -> bool:
    found = image.topics.get_by_name(topic)
    return found is not None and partition in found.partitions
