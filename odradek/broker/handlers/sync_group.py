"""SyncGroup (key 14): the leader hands in the assignment; every member collects its own.

Behaviour (Kafka's ``KafkaApis.handleSyncGroupRequest``): the request goes to the
shard coordinating the group (:mod:`odradek.coordinator.group.classic.sync`):

* members of the current generation are parked until the leader's SyncGroup brings
  the assignment; it is stored as the group's GroupMetadata record, and each member
  gets its part once that record is committed -- a member never works from an
  assignment a coordinator failover could forget;
* PreparingRebalance: REBALANCE_IN_PROGRESS; another generation: ILLEGAL_GENERATION;
  an unknown member: UNKNOWN_MEMBER_ID; a protocol type or name other than the
  group's: INCONSISTENT_GROUP_PROTOCOL;
* the assignment bytes are the client protocol's own: the broker passes them on.

Version notes: v3 ``group.instance.id``; v5 the protocol type and name, required.

Spec: ``clients/SyncGroupRequest.json``, ``clients/SyncGroupResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.sync_group_request import SyncGroupRequest
from odradek.protocol.messages.clients.sync_group_response import SyncGroupResponse

SYNC_GROUP = 14


@handles(SYNC_GROUP, 0, 5)
async def handle_sync_group(ctx: RequestContext, request: SyncGroupRequest) -> SyncGroupResponse:
    response = await ctx.broker.groups.call(
        ctx, request.group_id, GroupCoordinatorShard.sync_group, request
    )
    assert isinstance(response, SyncGroupResponse)
    return response
