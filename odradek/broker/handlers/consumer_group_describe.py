"""ConsumerGroupDescribe (key 69): a consumer group's epochs, assignor and members.

Behaviour (Kafka's ``KafkaApis.handleConsumerGroupDescribe``; the rules are
:mod:`odradek.coordinator.group.consumer.describe`):

* UNSUPPORTED_VERSION for every group unless ``group.coordinator.rebalance.
  protocols`` includes ``consumer``;
* each group is described by the shard that coordinates it, the answers put
  together shard by shard; a group this broker does not coordinate carries
  NOT_COORDINATOR;
* a classic group, or none, is GROUP_ID_NOT_FOUND: admin clients then ask
  DescribeGroups, which is how ``kafka-consumer-groups --describe`` sees both kinds;
* ``include_authorized_operations`` is answered with every group operation, as
  Kafka does without an authorizer.

Spec: ``clients/ConsumerGroupDescribeRequest.json``,
``clients/ConsumerGroupDescribeResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.handlers.describe_groups import GROUP_OPERATIONS
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_group_describe_request import (
    ConsumerGroupDescribeRequest,
)
from odradek.protocol.messages.clients.consumer_group_describe_response import (
    ConsumerGroupDescribeResponse,
    DescribedGroup,
)

CONSUMER_GROUP_DESCRIBE = 69
CONSUMER_PROTOCOL = "consumer"


@handles(CONSUMER_GROUP_DESCRIBE, 0, 0)
async def handle_consumer_group_describe(
    ctx: RequestContext, request: ConsumerGroupDescribeRequest
) -> ConsumerGroupDescribeResponse:
    groups = ctx.broker.groups
    if CONSUMER_PROTOCOL not in groups.rebalance_protocols:
        return ConsumerGroupDescribeResponse(
            groups=[
                DescribedGroup(group_id=g, error_code=ErrorCode.UNSUPPORTED_VERSION)
                for g in request.group_ids
            ]
        )

    def for_groups(group_ids: list[str]) -> ConsumerGroupDescribeRequest:
        return ConsumerGroupDescribeRequest(
            group_ids=group_ids,
            include_authorized_operations=request.include_authorized_operations,
        )

    merged = ConsumerGroupDescribeResponse()
    for response in await groups.scatter(
        ctx, request.group_ids, for_groups, GroupCoordinatorShard.consumer_group_describe
    ):
        assert isinstance(response, ConsumerGroupDescribeResponse)
        merged.groups.extend(response.groups)
    if request.include_authorized_operations:
        for group in merged.groups:
            if group.error_code == ErrorCode.NONE:
                group.authorized_operations = GROUP_OPERATIONS
    return merged
