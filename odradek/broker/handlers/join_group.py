"""JoinGroup (key 11): a member joins a classic group, or rejoins for its next generation.

Behaviour (Kafka's ``KafkaApis.handleJoinGroupRequest``): the broker checks nothing
itself; the request goes to the shard coordinating the group
(:mod:`odradek.broker.groups`), whose rules are Kafka's
(:mod:`odradek.coordinator.group.classic.join`):

* the v4+ handshake: a new member without an id gets MEMBER_ID_REQUIRED with an id
  made up for it, and joins again with that id;
* static members (``group.instance.id``, v5+) take over their instance's place;
  the member id they replace is fenced (FENCED_INSTANCE_ID);
* a join is parked until the rebalance completes -- all known members rejoined, or
  the rebalance timeout passed, and for a new group ``group.initial.rebalance.
  delay.ms`` -- and then answered with the generation, the chosen protocol (the one
  every member supports that most prefer) and, for the leader, every member's
  metadata; the broker never looks inside a protocol's bytes, so eager and
  cooperative assignors alike work through it;
* not this broker's group: NOT_COORDINATOR; its partition still loading:
  COORDINATOR_LOAD_IN_PROGRESS.

The response is sent once the group's records written before it are committed.

Version notes: v0 has no rebalance timeout; v4 MEMBER_ID_REQUIRED; v5
``group.instance.id``; v7+ the protocol type and name in the response; v8 a reason;
v9 ``skip_assignment``.

Spec: ``clients/JoinGroupRequest.json``, ``clients/JoinGroupResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.join_group_request import JoinGroupRequest
from odradek.protocol.messages.clients.join_group_response import JoinGroupResponse

JOIN_GROUP = 11


@handles(JOIN_GROUP, 0, 9)
async def handle_join_group(ctx: RequestContext, request: JoinGroupRequest) -> JoinGroupResponse:
    response = await ctx.broker.groups.call(
        ctx, request.group_id, GroupCoordinatorShard.join_group, request
    )
    assert isinstance(response, JoinGroupResponse)
    return response
