"""ConsumerGroupHeartbeat (key 68): the consumer group protocol of KIP-848.

Behaviour (Kafka's ``KafkaApis.handleConsumerGroupHeartbeat``; the rules are
:mod:`odradek.coordinator.group.consumer.heartbeat`):

* only when ``group.coordinator.rebalance.protocols`` includes ``consumer`` (it
  does by default); otherwise UNSUPPORTED_VERSION, and the client falls back to
  the classic protocol or fails, as it chooses;
* one request does it all: join (epoch 0), heartbeat, report the partitions the
  member owns, leave (epoch -1, or -2 for a static member that will return);
  the coordinator runs the assignor (``uniform`` or ``range``, or the one the
  member names) on the broker and moves each member towards its target one step
  per heartbeat, revoking before it assigns, so no partition is ever owned twice;
* subscriptions by topic names or by a regular expression (v1+), resolved against
  the cluster's topics as they change;
* the answer carries the member's epoch, its assignment when it changed, and the
  heartbeat interval (``group.consumer.heartbeat.interval.ms``).

Version notes: v1 adds ``subscribed_topic_regex``.

Spec: ``clients/ConsumerGroupHeartbeatRequest.json``,
``clients/ConsumerGroupHeartbeatResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_group_heartbeat_request import (
    ConsumerGroupHeartbeatRequest,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_response import (
    ConsumerGroupHeartbeatResponse,
)

CONSUMER_GROUP_HEARTBEAT = 68
CONSUMER_PROTOCOL = "consumer"


@handles(CONSUMER_GROUP_HEARTBEAT, 0, 1)
async def handle_consumer_group_heartbeat(
    ctx: RequestContext, request: ConsumerGroupHeartbeatRequest
) -> ConsumerGroupHeartbeatResponse:
    groups = ctx.broker.groups
    if CONSUMER_PROTOCOL not in groups.rebalance_protocols:
        return ConsumerGroupHeartbeatResponse(
            error_code=ErrorCode.UNSUPPORTED_VERSION,
            error_message="The new consumer group protocol is not enabled.",
        )
    response = await groups.call(
        ctx, request.group_id, GroupCoordinatorShard.consumer_group_heartbeat, request
    )
    assert isinstance(response, ConsumerGroupHeartbeatResponse)
    return response
