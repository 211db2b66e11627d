"""DescribeCluster (key 60) on a controller listener: the controllers (KIP-919).

KIP-919 lets admin tools talk to the controllers directly. Behaviour (Kafka's
``ControllerApis.handleDescribeCluster`` and ``AuthHelper.computeDescribeClusterResponse``):

* a controller answers only for ``endpoint_type`` 2 (controllers): 1 (brokers) is
  MISMATCHED_ENDPOINT_TYPE, anything else UNSUPPORTED_ENDPOINT_TYPE; v0 cannot name
  controllers, so a v0 request always mismatches, and v0 gets INVALID_REQUEST in place
  of either code, which it does not know;
* the nodes are the controllers registered in the metadata
  (``RegisterControllerRecord``: every controller registers once it has caught up with
  the log, :mod:`odradek.node.controller_registration`) with an endpoint on the listener
  the request came in on; a voter that has not registered yet is not among them, even
  though ``controller.quorum.voters`` gives an address for it; no rack, since
  controllers have none;
* ``controller_id`` is the leader of the metadata log, or -1 if it is not among the
  nodes or not known;
* any controller answers, active or not: the answer comes from its committed metadata;
* before all of that, the committed ``metadata.version`` must know controller
  registrations (3.7-IV0 or later): below it every request, of any version and
  endpoint type, is answered UNSUPPORTED_VERSION.

Spec: ``clients/DescribeClusterRequest.json``, ``clients/DescribeClusterResponse.json``.
"""

from __future__ import annotations

from odradek.broker.cluster_view import AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS
from odradek.metadata.image import MetadataImage
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


def controller_nodes(image: MetadataImage, listener: str) -> list[DescribeClusterBroker]:
    """The registered controllers a client on ``listener`` can reach, by id."""
    return [
        DescribeClusterBroker(broker_id=controller_id, host=endpoint.host, port=endpoint.port)
        for controller_id, controller in sorted(image.cluster.controllers.items())
        if (endpoint := controller.listeners.get(listener)) is not None
    ]


@handles(DESCRIBE_CLUSTER, 0, 1)
async def describe_cluster(
    ctx: ControllerRequestContext, request: DescribeClusterRequest
) -> DescribeClusterResponse:
    # The metadata.version is looked at first, whatever the request asks for.
    image = ctx.controller.controller.committed_image
    if not image.features.metadata_version.supports_controller_registration:
        return DescribeClusterResponse(
            error_code=ErrorCode.UNSUPPORTED_VERSION,
            error_message=(
                "Direct-to-controller communication is not supported with the current "
                "MetadataVersion."
            ),
        )
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
    nodes = controller_nodes(image, ctx.client.listener)
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
