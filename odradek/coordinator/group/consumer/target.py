"""A new target assignment for a new group epoch (Kafka's ``TargetAssignmentBuilder``).

When a heartbeat finds the group epoch ahead of the target's, the server assignor
runs over the members -- with the heartbeating member as it is after this request,
and without the static member it replaces -- and the subscription metadata. Only the
targets that changed are written, then the target's new epoch.

The assignor is the one most members ask for (``server_assignor``), else the first
of ``group.consumer.assignors``.
"""

from __future__ import annotations

from odradek.coordinator.group.records import CoordinatorRecord

from .assignors import ASSIGNORS, MemberSpec
from .group import ConsumerGroup, TopicMetadata, member_topics
from .member import ConsumerGroupMember, Partitions
from .records import target_epoch_record, target_record


def new_target_assignment(
    group: ConsumerGroup,
    epoch: int,
    old: ConsumerGroupMember,
    new: ConsumerGroupMember,
    metadata: dict[str, TopicMetadata],
    default_assignor: str,
) -> tuple[Partitions, list[CoordinatorRecord]]:
    """``new``'s target in the assignment for ``epoch``, and the records that store it."""
    members = dict(group.members)
    members[new.member_id] = new
    replaced = None if new.instance_id is None else group.static_members.get(new.instance_id)
    if replaced is not None and replaced != new.member_id:
        del members[replaced]

    specs = {}
    for member_id, member in members.items():
        current = group.target_assignment.get(member_id, {})
        if member_id == new.member_id and replaced is not None and replaced != member_id:
            current = group.target_assignment.get(replaced, {})
        specs[member_id] = MemberSpec(member.instance_id, member_topics(member, metadata), current)

    assignor = ASSIGNORS[group.preferred_assignor(old, new) or default_assignor]
    topics = {t.topic_id: t.num_partitions for t in metadata.values()}
    targets = assignor(specs, topics)

    records = [
        target_record(group.group_id, member_id, targets.get(member_id, {}))
        for member_id in specs
        if targets.get(member_id, {}) != group.target_assignment.get(member_id)
    ]
    records.append(target_epoch_record(group.group_id, epoch))
    return targets.get(new.member_id, {}), records
