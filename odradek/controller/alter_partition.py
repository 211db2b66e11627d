"""AlterPartition: a partition leader asks to change its ISR.

Only the leader tracks which followers keep up, so the leader proposes each ISR
shrink or expansion (``shared/kafka-spec/clients/AlterPartitionRequest.json``) and
the controller, which owns the partition state, accepts or refuses it. The request
quotes the leader epoch and partition epoch it is based on, which is how stale
proposals are caught:

* a leader epoch or partition epoch *ahead* of the controller's: NOT_CONTROLLER (this
  controller is behind; the leader should find the current one);
* a leader epoch behind: FENCED_LEADER_EPOCH (leadership moved on);
* a sender that is not the leader: INVALID_REQUEST;
* a partition epoch behind: INVALID_UPDATE_VERSION (the state changed meanwhile);
* an ISR with a non-replica or without the leader, or a RECOVERING leader with more
  than itself in the ISR, or RECOVERED going back to RECOVERING: INVALID_REQUEST;
* an ISR member that is not registered, fenced, shutting down, or (v3+) of another
  broker epoch: INELIGIBLE_REPLICA (OPERATION_NOT_ATTEMPTED before v2).

An accepted change is a ``PartitionChangeRecord``; the response carries the
partition's resulting state. A change that also completes a reassignment may move
the leadership; the old leader then gets NEW_LEADER_ELECTED (FENCED_LEADER_EPOCH
before v2) and must wait for the new metadata. Versions before 2 name topics rather
than ids; before 3 the ISR is plain broker ids.

Mirrors ``ReplicationControlManager.alterPartition`` and
``validateAlterPartitionData`` in Kafka.
"""

from __future__ import annotations

import uuid

from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import RECOVERED, RECOVERING, PartitionRegistration
from odradek.metadata.records import NO_LEADER_CHANGE, VersionedRecord
from odradek.metadata.topics import TopicImage
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.alter_partition_request import (
    AlterPartitionRequest,
    BrokerState,
    PartitionData,
)
from odradek.protocol.messages.clients.alter_partition_response import (
    AlterPartitionResponse,
)
from odradek.protocol.messages.clients.alter_partition_response import (
    PartitionData as PartitionResult,
)
from odradek.protocol.messages.clients.alter_partition_response import (
    TopicData as TopicResult,
)

from . import leadership
from .configs import unclean_leader_election_enabled
from .heartbeats import check_broker_epoch
from .partition_change import Election, partition_change
from .result import ControllerResult
from .settings import ControllerSettings


def _isr_with_epochs(data: PartitionData, version: int) -> list[BrokerState]:
    if version < 3:
        return [BrokerState(broker_id=b, broker_epoch=-1) for b in data.new_isr]
    return data.new_isr_with_epochs


def _ineligible(image: MetadataImage, isr: list[BrokerState]) -> bool:
    for member in isr:
        broker = image.cluster.broker(member.broker_id)
        if broker is None or broker.in_controlled_shutdown or broker.fenced:
            return True
        # -1 skips the check: the leader does not know the follower's epoch.
        if member.broker_epoch != -1 and member.broker_epoch != broker.epoch:
            return True
    return False


def _validation_error(
    image: MetadataImage,
    broker_id: int,
    partition: PartitionRegistration | None,
    data: PartitionData,
    isr: list[BrokerState],
    version: int,
) -> ErrorCode:
    if partition is None:
        return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if data.leader_epoch > partition.leader_epoch:
        return ErrorCode.NOT_CONTROLLER
    if data.partition_epoch > partition.partition_epoch:
        return ErrorCode.NOT_CONTROLLER
    if data.leader_epoch < partition.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    if broker_id != partition.leader:
        return ErrorCode.INVALID_REQUEST
    if data.partition_epoch < partition.partition_epoch:
        return ErrorCode.INVALID_UPDATE_VERSION
    new_isr = [m.broker_id for m in isr]
    if len(set(new_isr)) != len(new_isr) or not set(new_isr) <= set(partition.replicas):
        return ErrorCode.INVALID_REQUEST
    if partition.leader not in new_isr:
        return ErrorCode.INVALID_REQUEST
    if data.leader_recovery_state not in (RECOVERED, RECOVERING):
        return ErrorCode.INVALID_REQUEST
    if data.leader_recovery_state == RECOVERING and len(new_isr) > 1:
        return ErrorCode.INVALID_REQUEST
    if partition.leader_recovery_state == RECOVERED and data.leader_recovery_state == RECOVERING:
        return ErrorCode.INVALID_REQUEST
    if _ineligible(image, isr):
        return ErrorCode.INELIGIBLE_REPLICA if version > 1 else ErrorCode.OPERATION_NOT_ATTEMPTED
    return ErrorCode.NONE


def _find_topic(
    image: MetadataImage, name: str, topic_id: uuid.UUID, version: int
) -> TopicImage | None:
    if version > 1:
        return image.topics.get(topic_id)
    return image.topics.get_by_name(name)


def alter_partition(
    image: MetadataImage,
    request: AlterPartitionRequest,
    *,
    version: int,
    settings: ControllerSettings,
) -> ControllerResult[AlterPartitionResponse]:
    """AlterPartition: the ISR changes the controller accepts, and each partition's outcome."""
    try:
        check_broker_epoch(image, request.broker_id, request.broker_epoch)
    except KafkaError as exc:
        return ControllerResult([], AlterPartitionResponse(error_code=exc.code))
    metadata_version = image.features.metadata_version
    records: list[VersionedRecord] = []
    topics = []
    for topic_data in request.topics:
        out = TopicResult(topic_name=topic_data.topic_name, topic_id=topic_data.topic_id)
        topics.append(out)
        topic = _find_topic(image, topic_data.topic_name, topic_data.topic_id, version)
        if topic is None:
            error = (
                ErrorCode.UNKNOWN_TOPIC_ID if version > 1 else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            )
            out.partitions = [
                PartitionResult(partition_index=p.partition_index, error_code=error)
                for p in topic_data.partitions
            ]
            continue
        unclean = unclean_leader_election_enabled(image, settings, topic.name)
        for data in topic_data.partitions:
            partition = topic.partitions.get(data.partition_index)
            isr = _isr_with_epochs(data, version)
            error = _validation_error(image, request.broker_id, partition, data, isr, version)
            if error != ErrorCode.NONE or partition is None:
                out.partitions.append(
                    PartitionResult(partition_index=data.partition_index, error_code=error)
                )
                continue
            record = partition_change(
                partition,
                topic.topic_id,
                data.partition_index,
                metadata_version=metadata_version,
                is_acceptable_leader=leadership.leader_acceptor(image, partition),
                default_dir=leadership.default_dir(image),
                target_isr=[m.broker_id for m in isr],
                target_leader_recovery_state=data.leader_recovery_state,
                election=Election.UNCLEAN if unclean else Election.ONLINE,
            )
            if record is not None:
                records.append(record)
                partition = partition.merge(record.message)
                leader = record.message.leader
                if leader not in (NO_LEADER_CHANGE, request.broker_id):
                    moved = (
                        ErrorCode.NEW_LEADER_ELECTED
                        if version > 1
                        else ErrorCode.FENCED_LEADER_EPOCH
                    )
                    out.partitions.append(
                        PartitionResult(partition_index=data.partition_index, error_code=moved)
                    )
                    continue
            out.partitions.append(
                PartitionResult(
                    partition_index=data.partition_index,
                    leader_id=partition.leader,
                    isr=list(partition.isr),
                    leader_recovery_state=partition.leader_recovery_state,
                    leader_epoch=partition.leader_epoch,
                    partition_epoch=partition.partition_epoch,
                )
            )
    return ControllerResult(records, AlterPartitionResponse(topics=topics), atomic=False)
