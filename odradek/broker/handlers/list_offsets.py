"""ListOffsets (key 2): find an offset by time, or the first and last offsets of a partition.

Behaviour (Kafka's ``KafkaApis.handleListOffsetRequest`` and
``UnifiedLog.fetchOffsetByTimestamp``), per partition:

* timestamp -2 (earliest) and -4 (earliest local; the same without tiered storage):
  the log start offset;
* -1 (latest): the high watermark for ``read_uncommitted``, the last stable offset
  for ``read_committed`` -- what a consumer could read, not the log end;
* -3 (max timestamp, v7+): the offset of the record with the largest timestamp;
* -5 (latest tiered, v9+): -1, since no segment of this broker is tiered;
* any other timestamp: the first offset whose record timestamp is at least that,
  among the offsets a consumer may read; none gives timestamp and offset -1;
* errors as for Fetch: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
  FENCED_LEADER_EPOCH and UNKNOWN_LEADER_EPOCH.

Version notes: v0's list of offsets (``max_num_offsets``) is long gone from clients;
Odradek starts at v1, as Kafka 4 does.

Spec: ``clients/ListOffsetsRequest.json``, ``clients/ListOffsetsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.list_offsets_request import (
    ListOffsetsPartition,
    ListOffsetsRequest,
)
from odradek.protocol.messages.clients.list_offsets_response import (
    ListOffsetsPartitionResponse,
    ListOffsetsResponse,
    ListOffsetsTopicResponse,
)

LIST_OFFSETS = 2
LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5
READ_COMMITTED = 1


@handles(LIST_OFFSETS, 1, 10)
async def handle_list_offsets(
    ctx: RequestContext, request: ListOffsetsRequest
) -> ListOffsetsResponse:
    topics = [
        ListOffsetsTopicResponse(
            name=topic.name,
            partitions=[
                _answer(ctx, topic.name, p, request.isolation_level) for p in topic.partitions
            ],
        )
        for topic in request.topics
    ]
    return ListOffsetsResponse(topics=topics)


def _answer(
    ctx: RequestContext, topic: str, request: ListOffsetsPartition, isolation: int
) -> ListOffsetsPartitionResponse:
    answer = ListOffsetsPartitionResponse(
        partition_index=request.partition_index, timestamp=-1, offset=-1, leader_epoch=-1
    )
    try:
        p = ctx.broker.replicas.leader(topic, request.partition_index, request.current_leader_epoch)
    except KafkaError as e:
        answer.error_code = e.code
        return answer
    log = p.log
    readable = log.last_stable_offset if isolation == READ_COMMITTED else log.high_watermark
    ts = request.timestamp
    if ts == LATEST:
        answer.offset = readable
        _set_epoch(ctx, answer, p.leader_epoch)
        return answer
    if ts == LATEST_TIERED:
        return answer
    if ts < LATEST_TIERED or (ts == MAX_TIMESTAMP and ctx.api_version < 7):
        answer.error_code = ErrorCode.INVALID_REQUEST
        return answer
    found = log.fetch_offset_by_timestamp(ts)
    if found is None or (ts not in (EARLIEST, EARLIEST_LOCAL) and found.offset >= readable):
        return answer
    answer.timestamp = found.timestamp
    answer.offset = found.offset
    _set_epoch(ctx, answer, found.leader_epoch)
    return answer


def _set_epoch(
    ctx: RequestContext, answer: ListOffsetsPartitionResponse, epoch: int | None
) -> None:
    # The field exists from v4 and is not ignorable before it.
    if ctx.api_version >= 4 and epoch is not None:
        answer.leader_epoch = epoch
