"""DescribeGroups (key 15): a classic group's state, protocol and members.

Behaviour (Kafka's ``KafkaApis.handleDescribeGroupsRequest``; the rules are
:mod:`odradek.coordinator.group.describe_groups`):

* each group is described by the shard that coordinates it; the answers are put
  together shard by shard; a group this broker does not coordinate carries
  NOT_COORDINATOR;
* a group that does not exist is described as "Dead" without error, as is a
  consumer group (KIP-848), whose members ConsumerGroupDescribe shows;
* a Stable group reports its protocol and each member's metadata and assignment,
  the bytes ``kafka-consumer-groups --describe --members`` decodes;
* ``include_authorized_operations`` (v3+) is answered with every group operation:
  without an authorizer Kafka reports everything a group supports (READ, DELETE,
  DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS) as allowed.

Version notes: v3 authorized operations; v4 ``group.instance.id`` of members.

Spec: ``clients/DescribeGroupsRequest.json``, ``clients/DescribeGroupsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_groups_request import DescribeGroupsRequest
from odradek.protocol.messages.clients.describe_groups_response import DescribeGroupsResponse

DESCRIBE_GROUPS = 15

# AclOperation codes (``org.apache.kafka.common.acl.AclOperation``).
_READ, _DELETE, _DESCRIBE, _DESCRIBE_CONFIGS, _ALTER_CONFIGS = 3, 6, 8, 10, 11
#: Every operation ``AclEntry.supportedOperations(GROUP)`` lists, as a bit field.
GROUP_OPERATIONS = sum(
    1 << op for op in (_READ, _DELETE, _DESCRIBE, _DESCRIBE_CONFIGS, _ALTER_CONFIGS)
)


@handles(DESCRIBE_GROUPS, 0, 5)
async def handle_describe_groups(
    ctx: RequestContext, request: DescribeGroupsRequest
) -> DescribeGroupsResponse:
    def for_groups(group_ids: list[str]) -> DescribeGroupsRequest:
        return DescribeGroupsRequest(
            groups=group_ids, include_authorized_operations=request.include_authorized_operations
        )

    merged = DescribeGroupsResponse()
    for response in await ctx.broker.groups.scatter(
        ctx, request.groups, for_groups, GroupCoordinatorShard.describe_groups
    ):
        assert isinstance(response, DescribeGroupsResponse)
        merged.groups.extend(response.groups)
    if request.include_authorized_operations:
        for group in merged.groups:
            if group.error_code == ErrorCode.NONE:
                group.authorized_operations = GROUP_OPERATIONS
    return merged
