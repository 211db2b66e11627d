"""Heartbeat (key 12): a classic group member is alive, and learns whether to rejoin.

Behaviour (Kafka's ``KafkaApis.handleHeartbeatRequest``; the rules are
:mod:`odradek.coordinator.group.classic.heartbeat`): the member's session timer
restarts; REBALANCE_IN_PROGRESS tells it to rejoin; UNKNOWN_MEMBER_ID,
ILLEGAL_GENERATION and FENCED_INSTANCE_ID tell it it is no longer in the group. A
heartbeat to a shard that is still loading is answered without error, as Kafka
does: the member learns the truth at its next one.

Version notes: v3 ``group.instance.id``.

Spec: ``clients/HeartbeatRequest.json``, ``clients/HeartbeatResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.heartbeat_response import HeartbeatResponse

HEARTBEAT = 12


@handles(HEARTBEAT, 0, 4)
async def handle_heartbeat(ctx: RequestContext, request: HeartbeatRequest) -> HeartbeatResponse:
    response = await ctx.broker.groups.call(
        ctx, request.group_id, GroupCoordinatorShard.heartbeat, request
    )
    assert isinstance(response, HeartbeatResponse)
    return response
