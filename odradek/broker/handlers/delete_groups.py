"""DeleteGroups (key 42): remove empty groups and every offset they committed.

Behaviour (Kafka's ``KafkaApis.handleDeleteGroupsRequest``; the rules are
:mod:`odradek.coordinator.group.delete_groups`): each group is deleted by the shard
that coordinates it, the answers put together shard by shard. An unknown group is
GROUP_ID_NOT_FOUND, one with members NON_EMPTY_GROUP; otherwise a tombstone for
each committed offset and for the group, and the answer once they are committed.
A group this broker does not coordinate carries NOT_COORDINATOR.
``kafka-consumer-groups --delete`` sends this.

Spec: ``clients/DeleteGroupsRequest.json``, ``clients/DeleteGroupsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.delete_groups_response import DeleteGroupsResponse

DELETE_GROUPS = 42


@handles(DELETE_GROUPS, 0, 2)
async def handle_delete_groups(
    ctx: RequestContext, request: DeleteGroupsRequest
) -> DeleteGroupsResponse:
    merged = DeleteGroupsResponse()
    for response in await ctx.broker.groups.scatter(
        ctx,
        request.groups_names,
        lambda group_ids: DeleteGroupsRequest(groups_names=group_ids),
        GroupCoordinatorShard.delete_groups,
    ):
        assert isinstance(response, DeleteGroupsResponse)
        merged.results.extend(response.results)
    return merged
