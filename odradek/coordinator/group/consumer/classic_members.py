"""Classic members of a consumer group: JoinGroup, SyncGroup, Heartbeat and LeaveGroup.

During an online migration (:mod:`.migration`) a consumer group holds members that
still speak the classic protocol. They take part like any other member -- the server
assignor decides, reconciliation moves partitions safely -- but talk through the
classic APIs (Kafka's ``classicGroupJoinToConsumerGroup``,
``classicGroupSyncToConsumerGroup``, ``classicGroupHeartbeatToConsumerGroup`` and
``classicGroupLeaveToConsumerGroup``):

* **JoinGroup** is the member's heartbeat with a full subscription, read from the
  embedded consumer protocol (topics, rack, owned partitions). It takes the same
  step as a ConsumerGroupHeartbeat (:mod:`.advance`) and is answered at once, with
  the member's epoch as the generation, the member's own first protocol, and no
  leader: nobody in a consumer group assigns. A new dynamic member of v4+ first gets
  MEMBER_ID_REQUIRED; an unknown-member join of a static member takes over its
  instance. The member's protocols must include one every classic member supports
  (else INCONSISTENT_GROUP_PROTOCOL). SyncGroup must follow within the rebalance
  timeout.
* **SyncGroup** returns the member's assigned partitions, serialized in the version
  of the consumer protocol it subscribed with -- unless the group epoch moved past
  the member's since it joined, which is REBALANCE_IN_PROGRESS (rejoin first).
* **Heartbeat** keeps the session and answers REBALANCE_IN_PROGRESS when the member
  should rejoin: the group epoch moved past its epoch, it still has partitions to
  revoke, or partitions it waited for are now free. It must rejoin within its
  rebalance timeout.
* **LeaveGroup** removes the members named (by member id or instance id) and bumps
  the group epoch once.

A member that does not speak the classic protocol is UNKNOWN_MEMBER_ID to these
APIs; a generation other than the member's epoch is ILLEGAL_GENERATION.
"""

from __future__ import annotations

from dataclasses import replace

from odradek.coordinator.group.classic.member import Protocol
from odradek.coordinator.group.classic.replies import join_error, join_response, sync_response
from odradek.coordinator.group.context import Context
from odradek.coordinator.group.records import CoordinatorRecord
from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.join_group_request import JoinGroupRequest
from odradek.protocol.messages.clients.leave_group_request import MemberIdentity
from odradek.protocol.messages.clients.leave_group_response import (
    LeaveGroupResponse,
    MemberResponse,
)
from odradek.protocol.messages.clients.sync_group_request import SyncGroupRequest

from . import migration
from .advance import advance, replace_static_member
from .embedded import (
    MalformedProtocolError,
    by_topic_id,
    by_topic_name,
    read_subscription,
    read_version,
    write_assignment,
)
from .fencing import (
    cancel_member_timers,
    join_key,
    revocation_key,
    schedule_join_timeout_if_absent,
    schedule_revocation_timeout,
    schedule_session_timeout,
    schedule_sync_timeout,
    sync_key,
)
from .group import CONSUMER_PROTOCOL_TYPE, ConsumerGroup, subscription_metadata
from .member import ClassicMetadata, ConsumerGroupMember, MemberState
from .records import epoch_record, member_tombstones, subscription_metadata_record

MEMBER_ID_REQUIRED_VERSION = 4


# -- JoinGroup -------------------------------------------------------------------------


def join(ctx: Context, caller: Caller, request: JoinGroupRequest, group: ConsumerGroup) -> None:
    try:
        _join(ctx, caller, request, group)
    except KafkaError as e:
        ctx.reply(caller, join_error(caller, e.code, request.member_id))


def _join(ctx: Context, caller: Caller, request: JoinGroupRequest, group: ConsumerGroup) -> None:
    group_id, instance_id = group.group_id, request.group_instance_id
    session_timeout_ms = request.session_timeout_ms
    # JoinGroup v0 has no rebalance timeout; Kafka uses the session timeout.
    rebalance_timeout_ms = (
        session_timeout_ms if caller.api_version == 0 else request.rebalance_timeout_ms
    )
    unknown = request.member_id == ""
    member_id = ctx.state.new_member_suffix() if unknown else request.member_id
    protocols: tuple[Protocol, ...] = tuple((p.name, p.metadata) for p in request.protocols)

    if len(group.members) >= ctx.config.consumer_max_size and member_id not in group.members:
        raise KafkaError(
            ErrorCode.GROUP_MAX_SIZE_REACHED,
            f"The consumer group has reached its maximum capacity of "
            f"{ctx.config.consumer_max_size} members.",
        )
    if not group.supports_classic_protocols(request.protocol_type, (n for n, _ in protocols)):
        raise KafkaError(
            ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
            f"Member {member_id}'s protocols are not supported.",
        )
    if unknown and instance_id is None and caller.api_version >= MEMBER_ID_REQUIRED_VERSION:
        ctx.reply(caller, join_error(caller, ErrorCode.MEMBER_ID_REQUIRED, member_id))
        return
    try:
        subscription = read_subscription(protocols[0][1])
    except MalformedProtocolError as e:
        raise KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, str(e)) from None

    records: list[CoordinatorRecord] = []
    replaced: ConsumerGroupMember | None = None
    if instance_id is None:
        member = group.members.get(member_id) or ConsumerGroupMember(member_id=member_id)
    else:
        existing = group.static_member(instance_id)
        if existing is None:
            if not unknown and member_id not in group.members:
                raise KafkaError(
                    ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {instance_id} is unknown."
                )
            member = group.members.get(member_id) or ConsumerGroupMember(member_id=member_id)
        elif unknown:
            replaced = existing
            member = replace_static_member(group, existing, member_id, records)
        else:
            _check_not_fenced(existing, member_id, instance_id)
            member = existing

    updated = replace(
        member,
        instance_id=instance_id if instance_id is not None else member.instance_id,
        rack_id=subscription.rack_id if subscription.rack_id is not None else member.rack_id,
        rebalance_timeout_ms=rebalance_timeout_ms,
        subscribed_topic_names=subscription.topics,
        client_id=caller.client_id,
        client_host=caller.client_host,
        classic=ClassicMetadata(session_timeout_ms, protocols),
    )
    owned = by_topic_id(subscription.owned, ctx.state.topics)
    reconciled, refreshed = advance(ctx, group, member, updated, owned, records)

    if replaced is not None and migration.can_downgrade_replacing(ctx, group, replaced.member_id):
        # The last member speaking the consumer protocol is replaced by a classic one.
        for old_id in group.members:
            cancel_member_timers(ctx, group_id, old_id)
        generation = migration.downgrade(ctx, group, replaced.member_id, reconciled).generation_id
    else:
        for record in records:
            ctx.write(record)
        stored = ctx.state.consumer_group(group_id)
        if stored is not None and refreshed:
            stored.metadata_refresh_needed = False
        ctx.cancel(join_key(group_id, reconciled.member_id))
        schedule_session_timeout(ctx, group_id, reconciled)
        schedule_sync_timeout(ctx, group_id, reconciled.member_id, rebalance_timeout_ms)
        if reconciled.state is MemberState.UNREVOKED_PARTITIONS:
            schedule_revocation_timeout(ctx, group_id, reconciled)
        else:
            ctx.cancel(revocation_key(group_id, reconciled.member_id))
        generation = reconciled.member_epoch
    ctx.reply(
        caller,
        join_response(
            caller,
            member_id=reconciled.member_id,
            generation_id=generation,
            protocol_type=CONSUMER_PROTOCOL_TYPE,
            protocol_name=protocols[0][0],
        ),
    )


# -- SyncGroup -------------------------------------------------------------------------


def sync(ctx: Context, caller: Caller, request: SyncGroupRequest, group: ConsumerGroup) -> None:
    try:
        member = _classic_member(group, request.member_id, request.group_instance_id)
        _check_generation(member, request.generation_id)
        _check_protocol(member, request.protocol_type, request.protocol_name)
        _check_no_rebalance(ctx, group, member)
    except KafkaError as e:
        ctx.reply(caller, sync_response(error=e.code))
        return
    assert member.classic is not None
    group_id = group.group_id
    ctx.cancel(sync_key(group_id, member.member_id))
    schedule_session_timeout(ctx, group_id, member)
    partitions = by_topic_name(member.assigned_partitions, ctx.state.topics)
    try:
        version = read_version(member.classic.protocols[0][1])
    except MalformedProtocolError:
        version = 0  # checked when it joined; kept only for a member loaded from the log
    ctx.reply(
        caller,
        sync_response(
            protocol_type=request.protocol_type,
            protocol_name=request.protocol_name,
            assignment=write_assignment(partitions, version),
        ),
    )


# -- Heartbeat -------------------------------------------------------------------------


def heartbeat(ctx: Context, request: HeartbeatRequest, group: ConsumerGroup) -> ErrorCode:
    member = _classic_member(group, request.member_id, request.group_instance_id)
    _check_generation(member, request.generation_id)
    schedule_session_timeout(ctx, group.group_id, member)
    rejoin = (
        member.member_epoch < group.group_epoch
        or member.state is MemberState.UNREVOKED_PARTITIONS
        or (
            member.state is MemberState.UNRELEASED_PARTITIONS
            and not group.waiting_on_unreleased_partition(member)
        )
    )
    if rejoin:
        schedule_join_timeout_if_absent(ctx, group.group_id, member)
        return ErrorCode.REBALANCE_IN_PROGRESS
    return ErrorCode.NONE


# -- LeaveGroup ------------------------------------------------------------------------


def leave(
    ctx: Context, group: ConsumerGroup, identities: list[MemberIdentity]
) -> LeaveGroupResponse:
    group_id = group.group_id
    answers: list[MemberResponse] = []
    leaving: list[ConsumerGroupMember] = []
    for identity in identities:
        member_id, instance_id = identity.member_id, identity.group_instance_id
        try:
            # An administrator removes a static member by instance id alone.
            by_instance_only = instance_id is not None and member_id == ""
            member = _classic_member(group, member_id, instance_id, by_instance_only)
        except KafkaError as e:
            answers.append(
                MemberResponse(
                    member_id=member_id, group_instance_id=instance_id, error_code=e.code
                )
            )
            continue
        if member not in leaving:
            leaving.append(member)
        answers.append(MemberResponse(member_id=member.member_id, group_instance_id=instance_id))
    if leaving:
        for member in leaving:
            for record in member_tombstones(group_id, member.member_id):
                ctx.write(record)
            cancel_member_timers(ctx, group_id, member.member_id)
        metadata = subscription_metadata(
            group.subscribed_topic_names, group.subscribed_regexes, ctx.state.topics
        )
        if metadata != group.subscription_metadata:
            ctx.write(subscription_metadata_record(group_id, metadata))
        ctx.write(epoch_record(group_id, group.group_epoch + 1))
    return LeaveGroupResponse(members=answers)


# -- checks ----------------------------------------------------------------------------


def _classic_member(
    group: ConsumerGroup, member_id: str, instance_id: str | None, by_instance_only: bool = False
) -> ConsumerGroupMember:
    if instance_id is None:
        member = group.member(member_id)
    else:
        found = group.static_member(instance_id)
        if found is None:
            raise KafkaError(
                ErrorCode.UNKNOWN_MEMBER_ID,
                f"Member with instance id {instance_id} is not a member of group {group.group_id}.",
            )
        if not by_instance_only:
            _check_not_fenced(found, member_id, instance_id)
        member = found
    _check_classic(member)
    return member


def _check_classic(member: ConsumerGroupMember) -> None:
    if member.classic is None:
        raise KafkaError(
            ErrorCode.UNKNOWN_MEMBER_ID,
            f"Member {member.member_id} does not use the classic protocol.",
        )


def _check_not_fenced(member: ConsumerGroupMember, member_id: str, instance_id: str) -> None:
    if member.member_id != member_id:
        raise KafkaError(
            ErrorCode.FENCED_INSTANCE_ID,
            f"Static member {member_id} with instance id {instance_id} was fenced by member "
            f"{member.member_id}.",
        )


def _check_generation(member: ConsumerGroupMember, generation_id: int) -> None:
    if generation_id != member.member_epoch:
        raise KafkaError(
            ErrorCode.ILLEGAL_GENERATION,
            f"The request generation id {generation_id} is not equal to the member epoch "
            f"{member.member_epoch} of member {member.member_id}.",
        )


def _check_protocol(
    member: ConsumerGroupMember, protocol_type: str | None, protocol_name: str | None
) -> None:
    assert member.classic is not None
    if protocol_type is not None and protocol_type != CONSUMER_PROTOCOL_TYPE:
        raise KafkaError(
            ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
            f"The protocol type {protocol_type} from member {member.member_id} request is not "
            f"equal to the group protocol type {CONSUMER_PROTOCOL_TYPE}.",
        )
    expected = member.classic.protocols[0][0]
    if protocol_name is not None and protocol_name != expected:
        raise KafkaError(
            ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
            f"The protocol name {protocol_name} from member {member.member_id} request is not "
            f"equal to the protocol name {expected} returned in the join response.",
        )


def _check_no_rebalance(ctx: Context, group: ConsumerGroup, member: ConsumerGroupMember) -> None:
    # A member revoking partitions has rejoined already; it finishes reconciling first.
    if group.group_epoch > member.member_epoch and (
        member.state is not MemberState.UNREVOKED_PARTITIONS
    ):
        schedule_join_timeout_if_absent(ctx, group.group_id, member)
        raise KafkaError(
            ErrorCode.REBALANCE_IN_PROGRESS,
            f"A new rebalance is triggered in group {group.group_id} and member "
            f"{member.member_id} should rejoin to catch up.",
        )
