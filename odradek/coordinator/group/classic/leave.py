"""LeaveGroup (key 13): members leave at once instead of waiting to time out.

Behaviour (Kafka's ``classicGroupLeaveToClassicGroup``):

* Each member is answered on its own (v3+ batches members; before v3 the request
  names one member id and the response carries its error at the top level).
* An empty member id with a known ``group.instance.id`` removes that static member:
  how an administrator evicts a static member (``kafka-consumer-groups
  --delete --members``, ``Admin.removeMembersFromConsumerGroup``). An empty member id
  otherwise is UNKNOWN_MEMBER_ID.
* A pending member (handed a member id by MEMBER_ID_REQUIRED, never rejoined) is
  forgotten. Any other member is checked (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) and
  removed; a JoinGroup it had parked is answered UNKNOWN_MEMBER_ID.
* If anyone left, a Stable or CompletingRebalance group rebalances, and a
  PreparingRebalance group completes its join phase if everyone left has joined.
* An empty group id is INVALID_GROUP_ID; an unknown group answers every member
  UNKNOWN_MEMBER_ID.

Spec: ``clients/LeaveGroupRequest.json``, ``clients/LeaveGroupResponse.json``.
"""

from __future__ import annotations

from odradek.coordinator.group.consumer import classic_members
from odradek.coordinator.group.context import Context
from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.leave_group_request import (
    LeaveGroupRequest,
    MemberIdentity,
)
from odradek.protocol.messages.clients.leave_group_response import (
    LeaveGroupResponse,
    MemberResponse,
)

from . import rebalance
from .group import ClassicGroup
from .state import COMPLETING_REBALANCE, DEAD, PREPARING_REBALANCE, STABLE

BATCHED_VERSION = 3


def leave_group(ctx: Context, caller: Caller, request: LeaveGroupRequest) -> None:
    identities = (
        request.members
        if caller.api_version >= BATCHED_VERSION
        else [MemberIdentity(member_id=request.member_id)]
    )
    response = _leave(ctx, request.group_id, identities)
    if caller.api_version < BATCHED_VERSION and response.error_code == ErrorCode.NONE:
        response = LeaveGroupResponse(error_code=response.members[0].error_code)
    ctx.reply(caller, response)


def _leave(ctx: Context, group_id: str, identities: list[MemberIdentity]) -> LeaveGroupResponse:
    if not group_id:
        return LeaveGroupResponse(error_code=ErrorCode.INVALID_GROUP_ID)
    consumer_group = ctx.state.consumer_group(group_id)
    if consumer_group is not None:
        return classic_members.leave(ctx, consumer_group, identities)
    group = ctx.state.classic_group(group_id)
    if group is None:
        return LeaveGroupResponse(
            members=[_answer(identity, ErrorCode.UNKNOWN_MEMBER_ID) for identity in identities]
        )
    if group.is_in(DEAD):
        return LeaveGroupResponse(error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE)
    answers = [_leave_one(ctx, group, identity) for identity in identities]
    if any(a.error_code == ErrorCode.NONE for a in answers):
        if group.is_in(STABLE) or group.is_in(COMPLETING_REBALANCE):
            rebalance.maybe_prepare_rebalance_or_complete_join(ctx, group)
        elif group.is_in(PREPARING_REBALANCE):
            rebalance.maybe_complete_join_phase(ctx, group)
    return LeaveGroupResponse(members=answers)


def _leave_one(ctx: Context, group: ClassicGroup, identity: MemberIdentity) -> MemberResponse:
    member_id, instance_id = identity.member_id, identity.group_instance_id
    if member_id == "":
        static_id = None if instance_id is None else group.static_member_id(instance_id)
        if static_id is None:
            return _answer(identity, ErrorCode.UNKNOWN_MEMBER_ID)
        rebalance.drop_member(ctx, group, group.member(static_id))
        return _answer(identity, ErrorCode.NONE)
    if group.is_pending_member(member_id):
        group.pending_join_members.discard(member_id)
        ctx.cancel(rebalance.heartbeat_key(group.group_id, member_id))
        return _answer(identity, ErrorCode.NONE)
    try:
        group.validate_member(member_id, instance_id)
    except KafkaError as e:
        return _answer(identity, e.code)
    rebalance.drop_member(ctx, group, group.member(member_id))
    return _answer(identity, ErrorCode.NONE)


def _answer(identity: MemberIdentity, error: ErrorCode) -> MemberResponse:
    return MemberResponse(
        member_id=identity.member_id,
        group_instance_id=identity.group_instance_id,
        error_code=error,
    )
