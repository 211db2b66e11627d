"""DescribeCluster (key 60) on a controller listener: the controllers (KIP-919).

KIP-919 lets admin tools talk to the controllers directly. Behaviour (Kafka's
``ControllerApis.handleDescribeCluster`` and ``AuthHelper.computeDescribeClusterResponse``):

* a controller answers only for ``endpoint_type`` 2 (controllers): 1 (brokers) is
  MISMATCHED_ENDPOINT_TYPE, anything else UNSUPPORTED_ENDPOINT_TYPE; v0 cannot name
  controllers, so a v0 request always mismatches, and v0 gets INVALID_REQUEST in place
  of either code, which it does not know;
* the nodes are the controllers with an endpoint on the listener the request came in on:
  those registered in the metadata (``RegisterControllerRecord``: every controller
  registers once it has caught up with the log, :mod:`odradek.node.controller_registration`)
  and, for a voter of ``controller.quorum.voters`` that has not registered yet, the
  address that setting gives it on the first controller listener (Kafka lists only the
  registered ones); no rack, since controllers have none;
* ``controller_id`` is the active controller, or -1 if it is not among the nodes or
  not known;
* any controller answers, active or not: the answer comes from its committed metadata.

Spec: ``clients/DescribeClusterRequest.json``, ``clients/DescribeClusterResponse.json``.
"""

from __future__ import annotations

from odradek.broker.cluster_view import AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS
from odradek.metadata.image import MetadataImage
from odradek.node.config import BrokerConfig
from odradek.node.controller_apis.registry import ControllerRequestContext, handles
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.describe_cluster_response import (
    DescribeClusterBroker,
    DescribeClusterResponse,
)

DESCRIBE_CLUSTER = 60
BROKERS = 1
CONTROLLERS = 2
_ENDPOINT_NAMES = {BROKERS: "BROKER", CONTROLLERS: "CONTROLLER"}


def controller_nodes(
    image: MetadataImage, config: BrokerConfig, listener: str
) -> list[DescribeClusterBroker]:
    """The controllers a client on ``listener`` can reach, by id."""
    nodes: dict[int, DescribeClusterBroker] = {}
    for controller in image.cluster.controllers.values():
        endpoint = controller.listeners.get(listener)
        if endpoint is not None:
            nodes[controller.controller_id] = DescribeClusterBroker(
                broker_id=controller.controller_id, host=endpoint.host, port=endpoint.port
            )
    # The voters' addresses are those of the first controller listener (KIP-595).
    names = config.controller_listener_names
    if names and names[0] == listener:
        for voter in config.quorum_voters:
            if voter.node_id not in nodes:
                nodes[voter.node_id] = DescribeClusterBroker(
                    broker_id=voter.node_id, host=voter.host, port=voter.port
                )
    return [nodes[node_id] for node_id in sorted(nodes)]


@handles(DESCRIBE_CLUSTER, 0, 1)
async def describe_cluster(
    ctx: ControllerRequestContext, request: DescribeClusterRequest
) -> DescribeClusterResponse:
    wanted = request.endpoint_type
    if wanted != CONTROLLERS:
        if wanted in _ENDPOINT_NAMES:
            code = ErrorCode.MISMATCHED_ENDPOINT_TYPE
            message = (
                "The request was sent to an endpoint of type CONTROLLER, but we wanted an "
                f"endpoint of type {_ENDPOINT_NAMES[wanted]}"
            )
        else:
            code = ErrorCode.UNSUPPORTED_ENDPOINT_TYPE
            message = f"Unsupported endpoint type {wanted}"
        if ctx.api_version == 0:
            code = ErrorCode.INVALID_REQUEST
        return DescribeClusterResponse(error_code=code, error_message=message)
    image = ctx.controller.controller.committed_image
    nodes = controller_nodes(image, ctx.config, ctx.client.listener)
    active = ctx.apis.active_controller_id()
    return DescribeClusterResponse(
        endpoint_type=CONTROLLERS,
        cluster_id=ctx.cluster_id,
        controller_id=active if any(n.broker_id == active for n in nodes) else -1,
        brokers=nodes,
        cluster_authorized_operations=(
            CLUSTER_OPERATIONS
            if request.include_cluster_authorized_operations
            else AUTHORIZED_OPERATIONS_OMITTED
        ),
    )
