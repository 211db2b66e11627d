"""OffsetDelete (key 47): forget a group's committed offsets for some partitions.

Behaviour (Kafka's ``KafkaApis.handleOffsetDeleteRequest``; the rules are
:mod:`odradek.coordinator.group.offset_delete`): an unknown group is
GROUP_ID_NOT_FOUND; a partition the cluster does not have is
UNKNOWN_TOPIC_OR_PARTITION; a topic the group's members still subscribe to is
GROUP_SUBSCRIBED_TO_TOPIC; a non-empty classic group whose protocol the coordinator
cannot read is NON_EMPTY_GROUP. Every other partition's offset gets a tombstone.
``kafka-consumer-groups --delete-offsets`` sends this.

Spec: ``clients/OffsetDeleteRequest.json``, ``clients/OffsetDeleteResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.offset_delete_request import OffsetDeleteRequest
from odradek.protocol.messages.clients.offset_delete_response import OffsetDeleteResponse

OFFSET_DELETE = 47


@handles(OFFSET_DELETE, 0, 0)
async def handle_offset_delete(
    ctx: RequestContext, request: OffsetDeleteRequest
) -> OffsetDeleteResponse:
    response = await ctx.broker.groups.call(
        ctx, request.group_id, GroupCoordinatorShard.offset_delete, request
    )
    assert isinstance(response, OffsetDeleteResponse)
    return response
