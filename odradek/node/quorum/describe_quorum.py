"""DescribeQuorum (key 55) on a broker listener: forwarded to the active controller.

Behaviour (Kafka's ``KafkaApis.handleDescribeQuorumRequest``, which forwards it): only
the leader of the metadata log knows the quorum -- every voter's and observer's log end
and last fetch -- so a broker sends the request on, at the client's version, to the
active controller (which is that leader) and relays its answer. This is what
``kafka-metadata-quorum --bootstrap-server`` relies on; with ``--bootstrap-controller``
the tool asks the controllers itself (:mod:`odradek.node.quorum.raft_apis`).

* if no controller answers in time, the answer is the forwarding error (usually
  REQUEST_TIMED_OUT) at the top level;
* from version 2 the answer lists the voters' controller endpoints; when the answer
  came from this node's own controller, without passing a controller listener, they
  are filled in from ``controller.quorum.voters``.

Version notes: 0-2, all flexible.

Spec: ``clients/DescribeQuorumRequest.json``, ``clients/DescribeQuorumResponse.json``.
"""

from __future__ import annotations

import msgspec

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import forward
from odradek.controller.result import ApiError
from odradek.node.quorum.raft_apis import controller_nodes
from odradek.protocol.errors import ErrorCode
from odradek.raft import messages as m

DESCRIBE_QUORUM = 55


@handles(DESCRIBE_QUORUM, 0, 2)
async def handle_describe_quorum(
    ctx: RequestContext, request: m.DescribeQuorumRequest
) -> m.DescribeQuorumResponse:
    def failed(error: ApiError) -> m.DescribeQuorumResponse:
        return m.describe_quorum_response(ErrorCode.NONE, top_level_error=error.code)

    response: m.DescribeQuorumResponse = await forward(ctx, request, failed)
    config = ctx.broker.config
    if ctx.api_version >= 2 and not response.nodes and not response.error_code:
        voters = {v.node_id: (v.host, v.port) for v in config.quorum_voters}
        nodes = controller_nodes(voters, config.controller_listener_names[0])
        response = msgspec.structs.replace(response, nodes=nodes)
    return response
