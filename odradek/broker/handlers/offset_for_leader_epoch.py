"""OffsetForLeaderEpoch (key 23): where a leader epoch ended in the leader's log (KIP-101, KIP-320).

A consumer that sees a new leader epoch asks the leader where the epoch of its
last fetched record ended; if that is before its position, the log was truncated
under it (an unclean election) and it resets (KIP-320). Followers ask the same to
find where to truncate before fetching from a new leader.

Behaviour (Kafka's ``KafkaApis.handleOffsetForLeaderEpochRequest``,
``ReplicaManager.lastOffsetForLeaderEpoch`` and ``Partition.lastOffsetForLeaderEpoch``),
per partition:

* a partition this broker does not host is NOT_LEADER_OR_FOLLOWER if the metadata
  has it, UNKNOWN_TOPIC_OR_PARTITION otherwise;
* ``current_leader_epoch`` (-1: not given) older than the partition's is
  FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH; a replica that is not the leader
  is NOT_LEADER_OR_FOLLOWER, for consumers and followers alike;
* the answer comes from the leader-epoch cache (``leader-epoch-checkpoint``): for
  the latest epoch, the log end offset; for an older epoch, the start offset of the
  next larger epoch, with the largest known epoch not above the one asked for; for
  an epoch below every known one, the first known start offset; for an epoch above
  them all, or none known, epoch -1 and offset -1 (no error).

Version notes: v0-v1 were removed in Kafka 4; v2 added ``current_leader_epoch``;
v3 ``replica_id`` (-1 for consumers, which need no special treatment here); v4 is
flexible.

Spec: ``clients/OffsetForLeaderEpochRequest.json``,
``clients/OffsetForLeaderEpochResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.cluster_view import missing_partition_error
from odradek.broker.context import RequestContext
from odradek.protocol.errors import KafkaError
from odradek.protocol.messages.clients.offset_for_leader_epoch_request import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
)
from odradek.protocol.messages.clients.offset_for_leader_epoch_response import (
    EpochEndOffset,
    OffsetForLeaderEpochResponse,
    OffsetForLeaderTopicResult,
)

OFFSET_FOR_LEADER_EPOCH = 23


@handles(OFFSET_FOR_LEADER_EPOCH, 2, 4)
async def handle_offset_for_leader_epoch(
    ctx: RequestContext, request: OffsetForLeaderEpochRequest
) -> OffsetForLeaderEpochResponse:
    return OffsetForLeaderEpochResponse(
        topics=[
            OffsetForLeaderTopicResult(
                topic=topic.topic,
                partitions=[_end_offset(ctx, topic.topic, p) for p in topic.partitions],
            )
            for topic in request.topics
        ]
    )


def _end_offset(
    ctx: RequestContext, topic: str, request: OffsetForLeaderPartition
) -> EpochEndOffset:
    answer = EpochEndOffset(partition=request.partition, leader_epoch=-1, end_offset=-1)
    partition = ctx.broker.replicas.get(topic, request.partition)
    if partition is None:
        answer.error_code = missing_partition_error(ctx.broker.image, topic, request.partition)
        return answer
    try:
        partition.check_leader(request.current_leader_epoch)
    except KafkaError as error:
        answer.error_code = error.code
        return answer
    found = partition.log.end_offset_for_epoch(request.leader_epoch)
    if found is not None:
        answer.leader_epoch, answer.end_offset = found
    return answer
