"""OffsetCommit (key 8): store where a group has got to, durably, before saying so.

Behaviour (Kafka's ``KafkaApis.handleOffsetCommitRequest``; the rules are
:mod:`odradek.coordinator.group.offset_commit`):

* each committed partition becomes an OffsetCommit record of ``__consumer_offsets``,
  all of one request in one batch, and the response goes out only once that batch
  is committed: an acknowledged commit survives a restart or a coordinator failover;
* a partition the cluster does not have is UNKNOWN_TOPIC_OR_PARTITION; metadata
  longer than ``offset.metadata.max.bytes`` OFFSET_METADATA_TOO_LARGE;
* a member of a classic group commits with its generation (ILLEGAL_GENERATION,
  UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS otherwise); anyone may commit with
  generation -1 to an Empty or unknown group (consumers that assign partitions
  themselves); a consumer group member commits with its member epoch
  (STALE_MEMBER_EPOCH);
* NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS and COORDINATOR_NOT_AVAILABLE send
  the client back to FindCoordinator or to a retry.

Version notes: v1 a commit timestamp; v2-v4 a retention time of the commit's own;
v6 the leader epoch of the committed offset; v7 ``group.instance.id``; v9 member
epochs of consumer groups (KIP-848). Kafka 4 removed v0 and v1.

Spec: ``clients/OffsetCommitRequest.json``, ``clients/OffsetCommitResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.coordinator.group import GroupCoordinatorShard
from odradek.protocol.messages.clients.offset_commit_request import OffsetCommitRequest
from odradek.protocol.messages.clients.offset_commit_response import OffsetCommitResponse

OFFSET_COMMIT = 8


@handles(OFFSET_COMMIT, 2, 9)
async def handle_offset_commit(
    ctx: RequestContext, request: OffsetCommitRequest
) -> OffsetCommitResponse:
    response = await ctx.broker.groups.call(
        ctx, request.group_id, GroupCoordinatorShard.offset_commit, request
    )
    assert isinstance(response, OffsetCommitResponse)
    return response
