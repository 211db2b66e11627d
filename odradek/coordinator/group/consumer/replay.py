"""Replay of the consumer group records (types 3-8) into :class:`.ConsumerGroup`\\s.

Kafka's ``GroupMetadataManager.replay`` overloads for the consumer group records. A
tombstone of a member's current assignment releases its partitions (the member stays,
at epoch -1, until its subscription's tombstone removes it); a tombstone of the group
epoch removes the group, which by then must be empty.

A consumer group record for a group id held by a *simple* classic group (created only
to hold committed offsets, with no record of its own) replaces it, as in Kafka.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from typing import TypeVar

from odradek.coordinator.group.classic.group import ClassicGroup
from odradek.protocol.messages.group_coordinator.consumer_group_current_member_assignment_key import (  # noqa: E501
    ConsumerGroupCurrentMemberAssignmentKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_current_member_assignment_value import (  # noqa: E501
    ConsumerGroupCurrentMemberAssignmentValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_member_metadata_key import (
    ConsumerGroupMemberMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_member_metadata_value import (
    ConsumerGroupMemberMetadataValue,
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
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_member_key import (  # noqa: E501
    ConsumerGroupTargetAssignmentMemberKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_member_value import (  # noqa: E501
    ConsumerGroupTargetAssignmentMemberValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_metadata_key import (  # noqa: E501
    ConsumerGroupTargetAssignmentMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_metadata_value import (  # noqa: E501
    ConsumerGroupTargetAssignmentMetadataValue,
)

from .group import ConsumerGroup, TopicMetadata
from .member import LEAVE_GROUP_MEMBER_EPOCH, ConsumerGroupMember, partitions_from

Groups = MutableMapping[str, ClassicGroup | ConsumerGroup]
T = TypeVar("T")

ConsumerKey = (
    ConsumerGroupMetadataKey
    | ConsumerGroupPartitionMetadataKey
    | ConsumerGroupMemberMetadataKey
    | ConsumerGroupTargetAssignmentMetadataKey
    | ConsumerGroupTargetAssignmentMemberKey
    | ConsumerGroupCurrentMemberAssignmentKey
)


def _group(groups: Groups, group_id: str, create: bool) -> ConsumerGroup | None:
    group = groups.get(group_id)
    if isinstance(group, ConsumerGroup):
        return group
    if group is not None and not _is_simple(group):
        raise AssertionError(f"a consumer group record for classic group {group_id}")
    if not create:
        return None
    consumer_group = ConsumerGroup(group_id)
    groups[group_id] = consumer_group
    return consumer_group


def _is_simple(group: ClassicGroup) -> bool:
    return group.protocol_type is None and group.is_empty and not group.pending_join_members


def replay_consumer_record(groups: Groups, key: ConsumerKey, value: object) -> None:
    group_id = key.group_id
    if isinstance(key, ConsumerGroupMetadataKey):
        _replay_epoch(groups, group_id, _typed(value, ConsumerGroupMetadataValue))
    elif isinstance(key, ConsumerGroupPartitionMetadataKey):
        metadata = _typed(value, ConsumerGroupPartitionMetadataValue)
        group = _group(groups, group_id, create=metadata is not None)
        if group is not None:
            group.subscription_metadata = (
                {}
                if metadata is None
                else {
                    t.topic_name: TopicMetadata(t.topic_id, t.topic_name, t.num_partitions)
                    for t in metadata.topics
                }
            )
    elif isinstance(key, ConsumerGroupMemberMetadataKey):
        _replay_member(
            groups, group_id, key.member_id, _typed(value, ConsumerGroupMemberMetadataValue)
        )
    elif isinstance(key, ConsumerGroupTargetAssignmentMetadataKey):
        target_epoch = _typed(value, ConsumerGroupTargetAssignmentMetadataValue)
        group = _group(groups, group_id, create=target_epoch is not None)
        if group is not None:
            group.set_assignment_epoch(
                -1 if target_epoch is None else target_epoch.assignment_epoch
            )
    elif isinstance(key, ConsumerGroupTargetAssignmentMemberKey):
        target = _typed(value, ConsumerGroupTargetAssignmentMemberValue)
        group = _group(groups, group_id, create=target is not None)
        if group is not None:
            group.set_target(
                key.member_id, None if target is None else partitions_from(target.topic_partitions)
            )
    else:
        _replay_assignment(
            groups,
            group_id,
            key.member_id,
            _typed(value, ConsumerGroupCurrentMemberAssignmentValue),
        )


def _typed(value: object, cls: type[T]) -> T | None:
    if value is None or isinstance(value, cls):
        return value
    raise TypeError(f"expected a {cls.__name__}, not a {type(value).__name__}")


def _replay_epoch(groups: Groups, group_id: str, value: ConsumerGroupMetadataValue | None) -> None:
    group = _group(groups, group_id, create=value is not None)
    if group is None:
        return
    if value is not None:
        group.set_group_epoch(value.epoch)
        return
    if group.members or group.target_assignment:
        raise AssertionError(f"consumer group {group_id} deleted while it has members")
    del groups[group_id]


def _replay_member(
    groups: Groups, group_id: str, member_id: str, value: ConsumerGroupMemberMetadataValue | None
) -> None:
    group = _group(groups, group_id, create=value is not None)
    if group is None:
        return
    if value is not None:
        member = group.members.get(member_id) or ConsumerGroupMember(member_id=member_id)
        group.update_member(member.with_subscription_record(value))
    elif member_id in group.members:
        if group.members[member_id].member_epoch != LEAVE_GROUP_MEMBER_EPOCH:
            raise AssertionError(f"member {member_id} removed before its assignment was released")
        group.remove_member(member_id)


def _replay_assignment(
    groups: Groups,
    group_id: str,
    member_id: str,
    value: ConsumerGroupCurrentMemberAssignmentValue | None,
) -> None:
    group = _group(groups, group_id, create=value is not None)
    if group is None:
        return
    member = group.members.get(member_id) or ConsumerGroupMember(member_id=member_id)
    if value is not None:
        group.update_member(member.with_assignment_record(value))
    elif member_id in group.members:
        group.update_member(
            replace(
                member,
                member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                previous_member_epoch=LEAVE_GROUP_MEMBER_EPOCH,
                assigned_partitions={},
                partitions_pending_revocation={},
            )
        )
