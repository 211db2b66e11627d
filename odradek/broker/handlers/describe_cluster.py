"""DescribeCluster (key 60): the cluster id, its brokers and a "controller", for admin clients.

Behaviour (Kafka's ``KafkaApis.handleDescribeCluster`` and
``AuthHelper.computeDescribeClusterResponse``):

* the brokers are the unfenced ones with an endpoint on the listener the request
  came in on (:mod:`odradek.broker.cluster_view`);
* ``controller_id`` is one of those brokers chosen at random: clients of a KRaft
  cluster never talk to the controllers, and Kafka answers this way; -1 when the
  client can reach no broker;
* a broker answers only for ``endpoint_type`` 1 (brokers): 2 (controllers) is
  MISMATCHED_ENDPOINT_TYPE, since a controller answers that itself, and any other
  value UNSUPPORTED_ENDPOINT_TYPE (v0 cannot carry the field: it always asks for
  brokers);
* ``cluster_authorized_operations``, if asked for, is every cluster operation:
  Odradek has no authorizer yet, and Kafka without one answers the same.

Version notes: v0-v1 are current; v1 added ``endpoint_type``.

Spec: ``clients/DescribeClusterRequest.json``, ``clients/DescribeClusterResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.cluster_view import (
    AUTHORIZED_OPERATIONS_OMITTED,
    CLUSTER_OPERATIONS,
    live_brokers,
    random_live_broker,
)
from odradek.broker.context import RequestContext
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.describe_cluster_response import (
    DescribeClusterBroker,
    DescribeClusterResponse,
)

DESCRIBE_CLUSTER = 60
BROKERS = 1
CONTROLLERS = 2


@handles(DESCRIBE_CLUSTER, 0, 1)
async def handle_describe_cluster(
    ctx: RequestContext, request: DescribeClusterRequest
) -> DescribeClusterResponse:
    wanted = request.endpoint_type
    if wanted != BROKERS:
        if wanted == CONTROLLERS:
            code = ErrorCode.MISMATCHED_ENDPOINT_TYPE
            message = (
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint "
                "of type CONTROLLER"
            )
        else:
            code = ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
            message = f"Unsupported endpoint type {wanted}"
        return DescribeClusterResponse(error_code=code, error_message=message)
    brokers = live_brokers(ctx.broker.image, ctx.client.listener)
    return DescribeClusterResponse(
        endpoint_type=BROKERS,
        cluster_id=ctx.broker.cluster_id,
        controller_id=random_live_broker(brokers),
        brokers=[
            DescribeClusterBroker(broker_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
            for b in brokers
        ],
        cluster_authorized_operations=(
            CLUSTER_OPERATIONS
            if request.include_cluster_authorized_operations
            else AUTHORIZED_OPERATIONS_OMITTED
        ),
    )
