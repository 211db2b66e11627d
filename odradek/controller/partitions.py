"""New partitions: their replicas, first ISR and leader, and the CreatePartitions request.

A new partition's replicas come from a manual assignment or from
:mod:`.placement`; its ISR is the replicas that are active (unfenced, not shutting
down) and its leader the first of them, at leader and partition epoch 0. Each
replica is placed in its broker's default log directory (the only one, or
UNASSIGNED until the broker picks). A partition no active broker can lead is not
created (INVALID_REPLICATION_FACTOR, or INVALID_REPLICA_ASSIGNMENT for a manual
assignment).

CreatePartitions (``shared/kafka-spec/clients/CreatePartitionsRequest.json``) grows
a topic to ``count`` partitions; the count must grow (INVALID_PARTITIONS) and new
partitions get the replication factor of the topic's first partition.

Mirrors the partition parts of Kafka's ``ReplicationControlManager``
(``createPartitions``, ``validateManualPartitionAssignment``,
``buildPartitionRegistration``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import RECOVERED, PartitionRegistration
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.create_partitions_request import (
    CreatePartitionsRequest,
    CreatePartitionsTopic,
)
from odradek.protocol.messages.clients.create_partitions_response import (
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
)

from . import leadership
from .placement import place_replicas, usable_brokers
from .result import (
    MAX_RECORDS_PER_USER_OP,
    NONE,
    TOO_LARGE,
    ApiError,
    ControllerResult,
    TooManyRecordsError,
)
from .settings import RandomSource


def check_manual_assignment(
    image: MetadataImage, replicas: Sequence[int], replication_factor: int | None
) -> None:
    """INVALID_REPLICA_ASSIGNMENT unless ``replicas`` are distinct registered brokers."""
    if not replicas:
        raise KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes an empty replica list.",
        )
    previous = None
    for broker_id in sorted(replicas):
        if image.cluster.broker(broker_id) is None:
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes broker {broker_id}, but no such "
                "broker is registered.",
            )
        if broker_id == previous:
            raise KafkaError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"The manual partition assignment includes the broker {broker_id} more than once.",
            )
        previous = broker_id
    if replication_factor is not None and len(replicas) != replication_factor:
        raise KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"The manual partition assignment includes a partition with {len(replicas)} "
            "replica(s), but this is not consistent with previous partitions, which have "
            f"{replication_factor} replica(s).",
        )


def active_replicas(image: MetadataImage, replicas: Sequence[int]) -> list[int]:
    return [r for r in replicas if image.cluster.is_active(r)]


def new_partition(
    image: MetadataImage, replicas: Sequence[int], isr: Sequence[int]
) -> PartitionRegistration:
    """A partition's first registration: ``isr[0]`` leads, epochs start at 0."""
    pick = leadership.default_dir(image)
    return PartitionRegistration(
        replicas=tuple(replicas),
        directories=tuple(pick(r) for r in replicas),
        isr=tuple(isr),
        leader=isr[0],
        leader_recovery_state=RECOVERED,
        leader_epoch=0,
        partition_epoch=0,
    )


def placed_partitions(
    image: MetadataImage,
    *,
    num_partitions: int,
    replication_factor: int,
    rng: RandomSource,
) -> list[PartitionRegistration]:
    """Partitions placed automatically; INVALID_REPLICATION_FACTOR if they cannot be."""
    try:
        assignments = place_replicas(
            usable_brokers(image.cluster),
            num_partitions=num_partitions,
            replication_factor=replication_factor,
            rng=rng,
        )
    except KafkaError as exc:
        raise KafkaError(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            f"Unable to replicate the partition {replication_factor} time(s): {exc.message}",
        ) from None
    partitions = []
    for replicas in assignments:
        isr = active_replicas(image, replicas)
        if not isr:
            raise KafkaError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication_factor} time(s): All brokers "
                "are currently fenced or in controlled shutdown.",
            )
        partitions.append(new_partition(image, replicas, isr))
    return partitions


def partition_records(
    image: MetadataImage,
    topic_id: uuid.UUID,
    first_partition_id: int,
    partitions: Sequence[PartitionRegistration],
) -> list[VersionedRecord]:
    metadata_version = image.features.metadata_version
    return [
        partition.to_record(topic_id, first_partition_id + i, metadata_version)
        for i, partition in enumerate(partitions)
    ]


def _grow_topic(
    image: MetadataImage, topic: CreatePartitionsTopic, rng: RandomSource
) -> list[VersionedRecord]:
    existing = image.topics.get_by_name(topic.name)
    if existing is None:
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    current = len(existing.partitions)
    if topic.count == current:
        raise KafkaError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {current} partition(s).")
    if topic.count < current:
        raise KafkaError(
            ErrorCode.INVALID_PARTITIONS,
            f"The topic {topic.name} currently has {current} partition(s); {topic.count} "
            "would not be an increase.",
        )
    additional = topic.count - current
    if additional > MAX_RECORDS_PER_USER_OP:
        raise TooManyRecordsError
    if topic.assignments is not None and len(topic.assignments) != additional:
        raise KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            f"Attempted to add {additional} additional partition(s), but only "
            f"{len(topic.assignments)} assignment(s) were specified.",
        )
    if not existing.partitions:
        raise KafkaError(
            ErrorCode.UNKNOWN_SERVER_ERROR,
            f"Invalid state: topic {topic.name} appears to have no partitions.",
        )
    replication_factor = len(existing.partitions[min(existing.partitions)].replicas)
    if topic.assignments is not None:
        partitions = []
        for i, assignment in enumerate(topic.assignments):
            check_manual_assignment(image, assignment.broker_ids, replication_factor)
            isr = active_replicas(image, assignment.broker_ids)
            if not isr:
                raise KafkaError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    "All brokers specified in the manual partition assignment for partition "
                    f"{current + i} are fenced or in controlled shutdown.",
                )
            partitions.append(new_partition(image, assignment.broker_ids, isr))
    else:
        partitions = placed_partitions(
            image, num_partitions=additional, replication_factor=replication_factor, rng=rng
        )
    return partition_records(image, existing.topic_id, current, partitions)


def create_partitions(
    image: MetadataImage, request: CreatePartitionsRequest, *, rng: RandomSource
) -> ControllerResult[CreatePartitionsResponse]:
    """CreatePartitions: each named topic grows, or gets an error saying why not."""
    names = [topic.name for topic in request.topics]
    duplicates = {name for name in names if names.count(name) > 1}
    results = [
        CreatePartitionsTopicResult(
            name=name, error_code=ErrorCode.INVALID_REQUEST, error_message="Duplicate topic name."
        )
        for name in sorted(duplicates)
    ]
    records: list[VersionedRecord] = []
    try:
        for topic in request.topics:
            if topic.name in duplicates:
                continue
            try:
                records += _grow_topic(image, topic, rng)
                error = NONE
            except KafkaError as exc:
                error = ApiError.of(exc)
            results.append(
                CreatePartitionsTopicResult(
                    name=topic.name, error_code=error.code, error_message=error.message
                )
            )
            if len(records) > MAX_RECORDS_PER_USER_OP:
                raise TooManyRecordsError
    except TooManyRecordsError:
        results = [
            CreatePartitionsTopicResult(
                name=t.name, error_code=TOO_LARGE.code, error_message=TOO_LARGE.message
            )
            for t in request.topics
        ]
        return ControllerResult([], CreatePartitionsResponse(results=results))
    result = ControllerResult(records, CreatePartitionsResponse(results=results))
    return result.without_records() if request.validate_only else result
