"""The Raft APIs on the controller listener: Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch,
FetchSnapshot and DescribeQuorum.

Kafka's ``ControllerApis`` hands these to ``KafkaRaftManager.handleRequest``; here each
becomes an input of the node's :class:`~odradek.node.quorum.driver.RaftDriver`, and the
handler answers with whatever the core answers (a Fetch waits in the core's purgatory
until there is something to return or its ``max_wait_ms`` runs out).

Behaviour:

* a VoteRequest carrying the pre-vote mark is a pre-vote (:mod:`odradek.node.quorum.wire`);
* Fetch is served from version 12, the first that carries what Raft needs; on a broker
  listener Fetch means partition data, on this one it means the metadata log;
* DescribeQuorum is answered by the leader alone (others say NOT_LEADER_OR_FOLLOWER
  and name the leader); from version 2 the answer lists every voter's endpoint on the
  controller listener, which ``kafka-metadata-quorum describe`` prints.

Version notes: the ranges are those of the codec's specs (``shared/kafka-spec/
clients/*Request.json``), Fetch from 12; see :data:`odradek.node.quorum.wire.LOWEST_VERSIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec
import trio

from odradek.node.controller_apis.registry import ControllerApi
from odradek.node.quorum import wire
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients import describe_quorum_response as dq_resp
from odradek.raft import messages as m

if TYPE_CHECKING:
    from odradek.node.controller_apis.registry import ControllerRequestContext
    from odradek.node.quorum.driver import RaftDriver

#: API key -> name, the Raft APIs a controller listener serves.
RAFT_APIS = {
    52: "Vote",
    53: "BeginQuorumEpoch",
    54: "EndQuorumEpoch",
    1: "Fetch",
    59: "FetchSnapshot",
    55: "DescribeQuorum",
}


def controller_nodes(
    endpoints: Mapping[int, tuple[str, int]], listener_name: str
) -> list[dq_resp.Node]:
    """DescribeQuorum's ``nodes``: each voter's controller listener."""
    return [
        dq_resp.Node(
            node_id=node_id,
            listeners=[dq_resp.Listener(name=listener_name, host=host, port=port)],
        )
        for node_id, (host, port) in sorted(endpoints.items())
    ]


def raft_api_handlers(
    driver: RaftDriver, nodes: list[dq_resp.Node] | None = None
) -> dict[int, ControllerApi]:
    """The handlers of the Raft APIs, bound to ``driver``, for a controller listener."""

    async def handle(ctx: ControllerRequestContext, request: Any) -> Any:
        pre_vote = isinstance(request, m.VoteRequest) and wire.is_pre_vote(request)
        try:
            response = await driver.handle_request(
                request, pre_vote=pre_vote, source=wire.source_of(request)
            )
        except trio.TooSlowError:
            # The replica answers every request it is given; one it has not answered in
            # time is one that waited while this process was stopped (SIGSTOP), and its
            # asker has given up on it already.
            return timed_out(request)
        if isinstance(response, m.DescribeQuorumResponse) and nodes and ctx.api_version >= 2:
            response = msgspec.structs.replace(response, nodes=list(nodes))
        return response

    return {
        key: ControllerApi(key, wire.LOWEST_VERSIONS[key], wire.HIGHEST_VERSIONS[key], handle)
        for key in RAFT_APIS
    }


def timed_out(request: m.RequestBody) -> m.ResponseBody:
    """REQUEST_TIMED_OUT for the whole of ``request``."""
    error = ErrorCode.REQUEST_TIMED_OUT
    if isinstance(request, m.VoteRequest):
        return m.vote_response(ErrorCode.NONE, top_level_error=error)
    if isinstance(request, m.BeginQuorumEpochRequest):
        return m.begin_quorum_epoch_response(ErrorCode.NONE, top_level_error=error)
    if isinstance(request, m.EndQuorumEpochRequest):
        return m.end_quorum_epoch_response(ErrorCode.NONE, top_level_error=error)
    if isinstance(request, m.FetchRequest):
        return m.fetch_response(
            ErrorCode.NONE,
            leader_id=None,
            epoch=-1,
            high_watermark=None,
            log_start_offset=-1,
            top_level_error=error,
        )
    if isinstance(request, m.FetchSnapshotRequest):
        return m.fetch_snapshot_response(
            ErrorCode.NONE, leader_id=None, epoch=-1, top_level_error=error
        )
    return m.describe_quorum_response(ErrorCode.NONE, top_level_error=error)
