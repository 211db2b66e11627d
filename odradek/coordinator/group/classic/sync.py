"""SyncGroup (key 14): the leader hands in the assignment; every member picks up its own.

Behaviour (Kafka's ``GroupMetadataManager.classicGroupSync`` and ``validateSyncGroup``):

* An empty group id is INVALID_GROUP_ID; an unknown or Empty group is
  UNKNOWN_MEMBER_ID; then the member ids are checked (UNKNOWN_MEMBER_ID,
  FENCED_INSTANCE_ID), the generation (ILLEGAL_GENERATION), and the protocol type
  and name when the request names them (INCONSISTENT_GROUP_PROTOCOL; from v5 they
  are mandatory).
* PreparingRebalance: REBALANCE_IN_PROGRESS, the member must rejoin.
* CompletingRebalance: the request is parked. When the leader's arrives, its
  assignment (members it left out get an empty one) is written as the group's
  GroupMetadata record; replaying it makes the group Stable, and every parked
  SyncGroup is answered with its member's assignment once the record is committed.
* Stable: the member's current assignment, at once.

Spec: ``clients/SyncGroupRequest.json``, ``clients/SyncGroupResponse.json``.
"""

from __future__ import annotations

from odradek.coordinator.group.consumer import classic_members
from odradek.coordinator.group.context import Context
from odradek.coordinator.group.records import group_metadata_record
from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.sync_group_request import SyncGroupRequest

from . import rebalance
from .group import ClassicGroup
from .replies import sync_response
from .state import COMPLETING_REBALANCE, DEAD, PREPARING_REBALANCE, STABLE

MANDATORY_PROTOCOL_VERSION = 5


def sync_group(ctx: Context, caller: Caller, request: SyncGroupRequest) -> None:
    if not request.group_id:
        ctx.reply(caller, sync_response(error=ErrorCode.INVALID_GROUP_ID))
        return
    if caller.api_version >= MANDATORY_PROTOCOL_VERSION and (
        request.protocol_type is None or request.protocol_name is None
    ):
        ctx.reply(caller, sync_response(error=ErrorCode.INCONSISTENT_GROUP_PROTOCOL))
        return
    consumer_group = ctx.state.consumer_group(request.group_id)
    if consumer_group is not None and not consumer_group.is_empty:
        classic_members.sync(ctx, caller, request, consumer_group)
        return
    group = ctx.state.classic_group(request.group_id)
    if group is None or group.is_empty:
        ctx.reply(caller, sync_response(error=ErrorCode.UNKNOWN_MEMBER_ID))
        return
    try:
        _validate(group, request)
    except KafkaError as e:
        ctx.reply(caller, sync_response(error=e.code))
        return
    member_id = request.member_id
    if group.is_in(PREPARING_REBALANCE):
        ctx.reply(caller, sync_response(error=ErrorCode.REBALANCE_IN_PROGRESS))
    elif group.is_in(COMPLETING_REBALANCE):
        member = group.member(member_id)
        superseded = member.awaiting_sync
        member.awaiting_sync = caller
        if superseded is not None:
            # The client abandoned its earlier SyncGroup; answer it so it does not hang.
            ctx.reply(superseded, sync_response(error=ErrorCode.REBALANCE_IN_PROGRESS))
        rebalance.remove_pending_sync_member(ctx, group, member_id)
        if group.is_leader(member_id):
            _store_assignment(ctx, group, request)
    elif group.is_in(STABLE):
        rebalance.remove_pending_sync_member(ctx, group, member_id)
        ctx.reply(
            caller,
            sync_response(
                protocol_type=group.protocol_type,
                protocol_name=group.protocol_name,
                assignment=group.member(member_id).assignment,
            ),
        )
    else:
        raise AssertionError(f"SyncGroup reached a group that is {group.state}")


def _validate(group: ClassicGroup, request: SyncGroupRequest) -> None:
    if group.is_in(DEAD):
        raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    group.validate_member(request.member_id, request.group_instance_id)
    if request.generation_id != group.generation_id:
        raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
    if _inconsistent(request.protocol_type, group.protocol_type) or _inconsistent(
        request.protocol_name, group.protocol_name
    ):
        raise KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)


def _inconsistent(requested: str | None, actual: str | None) -> bool:
    return requested is not None and actual is not None and requested != actual


def _store_assignment(ctx: Context, group: ClassicGroup, request: SyncGroupRequest) -> None:
    given = {a.member_id: a.assignment for a in request.assignments}
    assignments = {member_id: given.get(member_id, b"") for member_id in group.members}
    ctx.write(group_metadata_record(group.group_id, group.to_record_value(assignments)))
    rebalance.propagate_assignment(ctx, group, ErrorCode.NONE)
