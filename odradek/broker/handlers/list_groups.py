"""ListGroups (key 16): every group this broker coordinates.

Behaviour (Kafka's ``KafkaApis.handleListGroupsRequest`` and
``GroupCoordinatorService.listGroups``): every shard of this broker lists its groups
(:mod:`odradek.coordinator.group.describe_groups`), filtered by state (v4+, case
insensitive) and type (v5+, "classic" or "consumer"), and the lists are
concatenated. A shard that moved away meanwhile contributes nothing; one that is
still loading makes the whole answer COORDINATOR_LOAD_IN_PROGRESS without groups,
since a partial list would look complete. Admin clients send ListGroups to every
broker and merge the answers (``kafka-consumer-groups --list``).

Version notes: v3 flexible; v4 the state filter; v5 the type filter and each
group's type.

Spec: ``clients/ListGroupsRequest.json``, ``clients/ListGroupsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest
from odradek.protocol.messages.clients.list_groups_response import ListGroupsResponse

LIST_GROUPS = 16


@handles(LIST_GROUPS, 0, 5)
async def handle_list_groups(ctx: RequestContext, request: ListGroupsRequest) -> ListGroupsResponse:
    merged = ListGroupsResponse()
    for response in await ctx.broker.groups.broadcast(
        ctx, GroupCoordinatorShard.list_groups, request
    ):
        assert isinstance(response, ListGroupsResponse)
        if response.error_code == ErrorCode.NOT_COORDINATOR:
            continue
        if response.error_code != ErrorCode.NONE:
            return ListGroupsResponse(error_code=response.error_code)
        merged.groups.extend(response.groups)
    return merged
