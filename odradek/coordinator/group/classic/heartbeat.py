"""Heartbeat (key 12): a member says it is alive, and learns whether to rejoin.

Behaviour (Kafka's ``classicGroupHeartbeatToClassicGroup``): an empty group id is
INVALID_GROUP_ID; an unknown group, an unknown member or a member of an Empty group
is UNKNOWN_MEMBER_ID; a stale static member is FENCED_INSTANCE_ID; another
generation is ILLEGAL_GENERATION. Otherwise the member's session timer restarts and
the answer is REBALANCE_IN_PROGRESS during PreparingRebalance (rejoin now), or no
error in CompletingRebalance and Stable: members may heartbeat while the leader is
still computing the assignment.

Spec: ``clients/HeartbeatRequest.json``, ``clients/HeartbeatResponse.json``.
"""

from __future__ import annotations

from odradek.coordinator.group.consumer import classic_members
from odradek.coordinator.group.context import Context
from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.heartbeat_response import HeartbeatResponse

from . import rebalance
from .group import ClassicGroup
from .state import DEAD, EMPTY, PREPARING_REBALANCE


def heartbeat(ctx: Context, caller: Caller, request: HeartbeatRequest) -> None:
    try:
        error = _heartbeat(ctx, request)
    except KafkaError as e:
        error = e.code
    ctx.reply(caller, HeartbeatResponse(error_code=error))


def _heartbeat(ctx: Context, request: HeartbeatRequest) -> ErrorCode:
    if not request.group_id:
        return ErrorCode.INVALID_GROUP_ID
    consumer_group = ctx.state.consumer_group(request.group_id)
    if consumer_group is not None:
        return classic_members.heartbeat(ctx, request, consumer_group)
    group = ctx.state.classic_group(request.group_id)
    if group is None:
        return ErrorCode.UNKNOWN_MEMBER_ID
    _validate(group, request)
    if group.is_in(EMPTY):
        return ErrorCode.UNKNOWN_MEMBER_ID
    rebalance.reschedule_session(ctx, group, group.member(request.member_id))
    if group.is_in(PREPARING_REBALANCE):
        return ErrorCode.REBALANCE_IN_PROGRESS
    return ErrorCode.NONE


def _validate(group: ClassicGroup, request: HeartbeatRequest) -> None:
    if group.is_in(DEAD):
        raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    group.validate_member(request.member_id, request.group_instance_id)
    if request.generation_id != group.generation_id:
        raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
