"""Online migration between the classic protocol and the consumer protocol (KIP-848).

A group moves from JoinGroup/SyncGroup to ConsumerGroupHeartbeat without stopping,
one member at a time, and back (Kafka's ``convertToConsumerGroup`` and
``convertToClassicGroup`` in ``GroupMetadataManager``, ``ConsumerGroup.fromClassicGroup``,
``ClassicGroup.fromConsumerGroup``). ``group.consumer.migration.policy`` says which
ways are allowed: ``bidirectional`` (the default), ``upgrade``, ``downgrade`` or
``disabled``.

**Upgrade.** The first ConsumerGroupHeartbeat for a classic group that has members
converts it, if the policy allows upgrades, the group speaks the consumer protocol
(protocol type ``consumer``) and it is no larger than ``group.consumer.max.size``;
otherwise the heartbeat is GROUP_ID_NOT_FOUND. Each classic member becomes a *classic
member* of the consumer group at the classic generation as its epoch, Stable, with
what the classic leader last assigned it as both its partitions and its target; the
group epoch and the target's epoch are the generation. Requests parked in the
classic group's rebalance are answered REBALANCE_IN_PROGRESS, so that those members
rejoin the consumer group. The new member's own heartbeat then bumps the group
epoch and the server assignor takes over.

**Downgrade.** When the last member speaking the consumer protocol leaves (or is
fenced), and only classic members remain, the group becomes a classic group again,
if the policy allows downgrades and the group fits in ``group.max.size``: Stable, at
the group epoch as its generation, each member keeping its target assignment
(serialized in the consumer protocol version the member subscribed with), and then
a rebalance starts, so the classic members agree on an assignment among themselves.
A static member speaking the consumer protocol replaced by a classic one with the
same instance id downgrades the group the same way, without the rebalance.

Records: an upgrade writes the classic group's tombstone and then the consumer
group's records (subscriptions, epoch, targets, target epoch, current assignments);
a downgrade the consumer group's tombstones and then the classic group's
``GroupMetadataValue``. Replaying them gives the same group after a reload.
"""

from __future__ import annotations

from dataclasses import dataclass

from odradek.coordinator.group.classic import rebalance
from odradek.coordinator.group.classic.group import CONSUMER_PROTOCOL_TYPE, ClassicGroup
from odradek.coordinator.group.classic.member import ClassicMember
from odradek.coordinator.group.classic.replies import join_error, sync_response
from odradek.coordinator.group.classic.state import STABLE
from odradek.coordinator.group.context import Context
from odradek.coordinator.group.offsets import OffsetStore
from odradek.coordinator.group.records import (
    CoordinatorRecord,
    group_metadata_record,
    group_tombstone,
)
from odradek.coordinator.group.replay import replay
from odradek.protocol.errors import ErrorCode, KafkaError

from .embedded import (
    MalformedProtocolError,
    by_topic_id,
    by_topic_name,
    read_assignment,
    read_subscription,
    read_version,
    write_assignment,
)
from .group import ConsumerGroup
from .member import ClassicMetadata, ConsumerGroupMember, MemberState
from .records import (
    current_assignment_record,
    epoch_record,
    group_tombstones,
    member_subscription_record,
    target_epoch_record,
    target_record,
)

# -- upgrade ---------------------------------------------------------------------------


@dataclass(slots=True)
class Upgrade:
    """A classic group about to become ``group``, by writing ``records``."""

    classic: ClassicGroup
    group: ConsumerGroup
    records: list[CoordinatorRecord]

    def apply(self, ctx: Context) -> None:
        """Answer the classic group's parked requests, stop its timers, write the records."""
        classic = self.classic
        group_id = classic.group_id
        for member in classic.members.values():
            caller = classic.take_awaiting_join(member)
            if caller is not None:
                ctx.reply(
                    caller, join_error(caller, ErrorCode.REBALANCE_IN_PROGRESS, member.member_id)
                )
            sync_caller = classic.take_awaiting_sync(member)
            if sync_caller is not None:
                ctx.reply(sync_caller, sync_response(error=ErrorCode.REBALANCE_IN_PROGRESS))
            ctx.cancel(rebalance.heartbeat_key(group_id, member.member_id))
        for member_id in classic.pending_join_members:
            ctx.cancel(rebalance.heartbeat_key(group_id, member_id))
        ctx.cancel(rebalance.join_key(group_id))
        ctx.cancel(rebalance.sync_key(group_id))
        for record in self.records:
            ctx.write(record)


def upgrade(ctx: Context, classic: ClassicGroup) -> Upgrade:
    """The conversion of a classic group with members; raises GROUP_ID_NOT_FOUND if refused."""
    group_id = classic.group_id
    if not ctx.config.consumer_migration_policy.allows_upgrade:
        raise _not_consumer_group(group_id)
    if not classic.uses_consumer_protocol:
        raise _not_consumer_group(group_id)
    if len(classic.members) > ctx.config.consumer_max_size:
        raise _not_consumer_group(group_id)
    try:
        members = [_converted(ctx, classic, m) for m in classic.members.values()]
    except MalformedProtocolError:
        raise KafkaError(
            ErrorCode.GROUP_ID_NOT_FOUND,
            f"Cannot upgrade the classic group {group_id} to consumer group because the "
            "embedded consumer protocol is malformed.",
        ) from None
    claimed: set[tuple[object, int]] = set()
    for member in members:
        for topic_id, ids in member.assigned_partitions.items():
            for p in ids:
                if (topic_id, p) in claimed:
                    # A classic leader gave one partition to two members; the consumer
                    # group cannot hold that state.
                    raise KafkaError(
                        ErrorCode.GROUP_ID_NOT_FOUND,
                        f"Cannot upgrade the classic group {group_id} to consumer group "
                        "because its assignment gives a partition to two members.",
                    )
                claimed.add((topic_id, p))

    epoch = classic.generation_id
    records = [group_tombstone(group_id)]
    records += [member_subscription_record(group_id, m) for m in members]
    records.append(epoch_record(group_id, epoch))
    records += [target_record(group_id, m.member_id, m.assigned_partitions) for m in members]
    records.append(target_epoch_record(group_id, epoch))
    records += [current_assignment_record(group_id, m) for m in members]

    # The group these records make, built the way loading builds it.
    scratch: dict[str, ClassicGroup | ConsumerGroup] = {}
    for record in records[1:]:
        replay(scratch, OffsetStore(), record)
    group = scratch[group_id]
    assert isinstance(group, ConsumerGroup)
    return Upgrade(classic, group, records)


def _converted(ctx: Context, classic: ClassicGroup, member: ClassicMember) -> ConsumerGroupMember:
    protocol = classic.protocol_name
    if protocol is None:
        # The group's first rebalance has not chosen a protocol yet: the member's
        # favourite carries the same subscription, and there is no assignment.
        metadata, assignment = member.protocols[0][1], b""
    else:
        metadata, assignment = member.metadata(protocol), member.assignment
    subscription = read_subscription(metadata)
    assigned = by_topic_id(read_assignment(assignment), ctx.state.topics)
    return ConsumerGroupMember(
        member_id=member.member_id,
        member_epoch=classic.generation_id,
        previous_member_epoch=classic.generation_id,
        state=MemberState.STABLE,
        instance_id=member.group_instance_id,
        rack_id=subscription.rack_id,
        rebalance_timeout_ms=member.rebalance_timeout_ms,
        client_id=member.client_id,
        client_host=member.client_host,
        subscribed_topic_names=subscription.topics,
        assigned_partitions=assigned,
        classic=ClassicMetadata(member.session_timeout_ms, member.protocols),
    )


def _not_consumer_group(group_id: str) -> KafkaError:
    return KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Group {group_id} is not a consumer group.")


# -- downgrade -------------------------------------------------------------------------


def can_downgrade_without(ctx: Context, group: ConsumerGroup, leaving_id: str) -> bool:
    """Whether ``leaving_id`` leaving turns the group back into a classic group."""
    if not group.all_members_use_classic_protocol_except(leaving_id):
        return False
    if len(group.members) <= 1:
        return False  # the group just becomes empty
    if not ctx.config.consumer_migration_policy.allows_downgrade:
        return False
    return len(group.members) - 1 <= ctx.config.max_size


def can_downgrade_replacing(ctx: Context, group: ConsumerGroup, replaced_id: str) -> bool:
    """Whether a classic static member taking ``replaced_id``'s place downgrades the group."""
    if not group.all_members_use_classic_protocol_except(replaced_id):
        return False
    if not ctx.config.consumer_migration_policy.allows_downgrade:
        return False
    return len(group.members) <= ctx.config.max_size


def downgrade(
    ctx: Context,
    group: ConsumerGroup,
    leaving_id: str,
    joining: ConsumerGroupMember | None = None,
) -> ClassicGroup:
    """Turn ``group`` into a classic group without ``leaving_id`` (and with ``joining``,
    a classic static member taking over the leaving member's instance id).

    The caller has stopped the consumer group's member timers; the classic members'
    session timers start here.
    """
    group_id = group.group_id
    classic = ClassicGroup(
        group_id,
        state=STABLE,
        generation_id=group.group_epoch,
        protocol_type=CONSUMER_PROTOCOL_TYPE,
        state_timestamp_ms=ctx.now_ms,
    )
    # Whose target each classic member takes.
    target_of: dict[str, str] = {}
    for member_id, member in group.members.items():
        if member_id != leaving_id:
            classic.add(_classic_member(member))
            target_of[member_id] = member_id
    if joining is not None:
        classic.add(_classic_member(joining))
        target_of[joining.member_id] = leaving_id
    classic.protocol_name = classic.select_protocol()
    classic.subscribed_topics = classic.compute_subscribed_topics()

    assignments: dict[str, bytes] = {}
    for member_id, classic_member in classic.members.items():
        target = by_topic_name(
            group.target_assignment.get(target_of[member_id], {}), ctx.state.topics
        )
        try:
            version = read_version(classic_member.metadata(classic.protocol_name))
        except MalformedProtocolError:
            version = 0
        classic_member.assignment = write_assignment(target, version)
        assignments[member_id] = classic_member.assignment

    records = group_tombstones(group)
    records.append(group_metadata_record(group_id, classic.to_record_value(assignments)))
    for record in records:
        ctx.write(record)
    # The classic group as built here, not as replayed: its members keep every
    # protocol they offered, not just the selected one the record holds.
    ctx.state.groups[group_id] = classic
    for classic_member in classic.members.values():
        rebalance.reschedule_session(ctx, classic, classic_member)
    if joining is None:
        rebalance.prepare_rebalance(ctx, classic)
    return classic


def _classic_member(member: ConsumerGroupMember) -> ClassicMember:
    if member.classic is None:
        raise AssertionError(f"member {member.member_id} does not speak the classic protocol")
    return ClassicMember(
        member_id=member.member_id,
        group_instance_id=member.instance_id,
        client_id=member.client_id,
        client_host=member.client_host,
        rebalance_timeout_ms=member.rebalance_timeout_ms,
        session_timeout_ms=member.classic.session_timeout_ms,
        protocol_type=CONSUMER_PROTOCOL_TYPE,
        protocols=member.classic.protocols,
    )
