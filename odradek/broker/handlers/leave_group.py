"""LeaveGroup (key 13): members leave a classic group now rather than time out.

Behaviour (Kafka's ``KafkaApis.handleLeaveGroupRequest``; the rules are
:mod:`odradek.coordinator.group.classic.leave`): each member leaves on its own
(UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID); a static member is removed by its
``group.instance.id`` with an empty member id, which is how
``kafka-consumer-groups --delete --members`` evicts one; if anyone left, the group
rebalances.

Version notes: v3+ batch members and answer each; before v3 one member id and a
top-level error; v5 a reason per member.

Spec: ``clients/LeaveGroupRequest.json``, ``clients/LeaveGroupResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.leave_group_request import LeaveGroupRequest
from odradek.protocol.messages.clients.leave_group_response import LeaveGroupResponse

LEAVE_GROUP = 13


@handles(LEAVE_GROUP, 0, 5)
async def handle_leave_group(ctx: RequestContext, request: LeaveGroupRequest) -> LeaveGroupResponse:
    response = await ctx.broker.groups.call(
        ctx, request.group_id, GroupCoordinatorShard.leave_group, request
    )
    assert isinstance(response, LeaveGroupResponse)
    return response
