"""Builders of the consumer group records (types 3-8), Kafka's ``GroupCoordinatorRecordHelpers``.

A member joining writes its subscription (5), possibly the new subscription metadata
(4) and group epoch (3), the changed targets (7) and the target's epoch (6), and its
current assignment (8). A member leaving writes tombstones for 8, 7 and 5, in that
order, then the bumped epoch. A deleted group ends with tombstones for 6, 4 and 3.
"""

from __future__ import annotations

from odradek.coordinator.group.records import CoordinatorRecord
from odradek.protocol.messages.group_coordinator.consumer_group_current_member_assignment_key import (  # noqa: E501
    ConsumerGroupCurrentMemberAssignmentKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_member_metadata_key import (
    ConsumerGroupMemberMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_metadata_key import (
    ConsumerGroupMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_metadata_value import (
    ConsumerGroupMetadataValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_partition_metadata_key import (
    ConsumerGroupPartitionMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_partition_metadata_value import (
    ConsumerGroupPartitionMetadataValue,
    TopicMetadata,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_member_key import (  # noqa: E501
    ConsumerGroupTargetAssignmentMemberKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_member_value import (  # noqa: E501
    ConsumerGroupTargetAssignmentMemberValue,
    TopicPartition,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_metadata_key import (  # noqa: E501
    ConsumerGroupTargetAssignmentMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_metadata_value import (  # noqa: E501
    ConsumerGroupTargetAssignmentMetadataValue,
)

from . import group as consumer_group
from .member import ConsumerGroupMember, Partitions, sorted_partitions

GROUP_METADATA = 3
PARTITION_METADATA = 4
MEMBER_METADATA = 5
TARGET_ASSIGNMENT_METADATA = 6
TARGET_ASSIGNMENT_MEMBER = 7
CURRENT_MEMBER_ASSIGNMENT = 8


def epoch_record(group_id: str, epoch: int) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupMetadataKey(group_id=group_id),
        GROUP_METADATA,
        ConsumerGroupMetadataValue(epoch=epoch),
    )


def epoch_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(ConsumerGroupMetadataKey(group_id=group_id), GROUP_METADATA, None)


def subscription_metadata_record(
    group_id: str, metadata: dict[str, consumer_group.TopicMetadata]
) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupPartitionMetadataKey(group_id=group_id),
        PARTITION_METADATA,
        ConsumerGroupPartitionMetadataValue(
            topics=[
                TopicMetadata(
                    topic_id=t.topic_id, topic_name=t.name, num_partitions=t.num_partitions
                )
                for _, t in sorted(metadata.items())
            ]
        ),
    )


def subscription_metadata_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupPartitionMetadataKey(group_id=group_id), PARTITION_METADATA, None
    )


def member_subscription_record(group_id: str, member: ConsumerGroupMember) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupMemberMetadataKey(group_id=group_id, member_id=member.member_id),
        MEMBER_METADATA,
        member.subscription_record_value(),
    )


def member_subscription_tombstone(group_id: str, member_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupMemberMetadataKey(group_id=group_id, member_id=member_id),
        MEMBER_METADATA,
        None,
    )


def target_epoch_record(group_id: str, epoch: int) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupTargetAssignmentMetadataKey(group_id=group_id),
        TARGET_ASSIGNMENT_METADATA,
        ConsumerGroupTargetAssignmentMetadataValue(assignment_epoch=epoch),
    )


def target_epoch_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupTargetAssignmentMetadataKey(group_id=group_id),
        TARGET_ASSIGNMENT_METADATA,
        None,
    )


def target_record(group_id: str, member_id: str, partitions: Partitions) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupTargetAssignmentMemberKey(group_id=group_id, member_id=member_id),
        TARGET_ASSIGNMENT_MEMBER,
        ConsumerGroupTargetAssignmentMemberValue(
            topic_partitions=[
                TopicPartition(topic_id=t, partitions=ps) for t, ps in sorted_partitions(partitions)
            ]
        ),
    )


def target_tombstone(group_id: str, member_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupTargetAssignmentMemberKey(group_id=group_id, member_id=member_id),
        TARGET_ASSIGNMENT_MEMBER,
        None,
    )


def current_assignment_record(group_id: str, member: ConsumerGroupMember) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupCurrentMemberAssignmentKey(group_id=group_id, member_id=member.member_id),
        CURRENT_MEMBER_ASSIGNMENT,
        member.assignment_record_value(),
    )


def current_assignment_tombstone(group_id: str, member_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(
        ConsumerGroupCurrentMemberAssignmentKey(group_id=group_id, member_id=member_id),
        CURRENT_MEMBER_ASSIGNMENT,
        None,
    )


def member_tombstones(group_id: str, member_id: str) -> list[CoordinatorRecord]:
    """A member leaves: its current assignment, target and subscription go, in that order."""
    return [
        current_assignment_tombstone(group_id, member_id),
        target_tombstone(group_id, member_id),
        member_subscription_tombstone(group_id, member_id),
    ]


def group_tombstones(group: consumer_group.ConsumerGroup) -> list[CoordinatorRecord]:
    """Everything of a consumer group, in the order Kafka deletes it."""
    group_id = group.group_id
    records = [current_assignment_tombstone(group_id, m) for m in group.members]
    records += [target_tombstone(group_id, m) for m in group.members]
    records.append(target_epoch_tombstone(group_id))
    records += [member_subscription_tombstone(group_id, m) for m in group.members]
    records.append(subscription_metadata_tombstone(group_id))
    records.append(epoch_tombstone(group_id))
    return records
