"""DeleteRecords (key 21): move partitions' log start offsets forward, deleting what is before.

Behaviour (Kafka's ``KafkaApis.handleDeleteRecordsRequest``,
``ReplicaManager.deleteRecords`` and ``Partition.deleteRecordsOnLeader``), per
partition:

* a partition the metadata does not know is UNKNOWN_TOPIC_OR_PARTITION; one of an
  internal topic (``__consumer_offsets``, ``__transaction_state``)
  INVALID_TOPIC_EXCEPTION; one this broker does not lead NOT_LEADER_OR_FOLLOWER;
* a topic whose ``cleanup.policy`` does not include ``delete`` is POLICY_VIOLATION:
  deleting from a compacted-only log would break its key semantics;
* offset -1 means the high watermark; any other negative offset, or one past the
  high watermark, is OFFSET_OUT_OF_RANGE (records not yet committed may not go);
* otherwise the log start offset moves up to the offset (never down: an offset
  below it changes nothing) and the answer carries the partition's *low watermark*,
  the lowest log start offset of its live replicas; consumers can no longer read
  below it, and retention deletes the segments wholly below it on its next run;
* errors carry low watermark -1.

Kafka answers once every live replica's log start offset has reached the offset,
or after ``timeout_ms`` with REQUEST_TIMED_OUT. Odradek's replicas do not report
their log start offsets to the leader yet, so the low watermark is the leader's
own and the answer is immediate, which is exact for a partition with one replica.

Version notes: v0-v2 are current; v2 is flexible.

Spec: ``clients/DeleteRecordsRequest.json``, ``clients/DeleteRecordsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.cluster_view import partition_exists
from odradek.broker.context import RequestContext
from odradek.metadata.topic_names import is_internal
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.delete_records_request import DeleteRecordsRequest
from odradek.protocol.messages.clients.delete_records_response import (
    DeleteRecordsPartitionResult,
    DeleteRecordsResponse,
    DeleteRecordsTopicResult,
)

DELETE_RECORDS = 21
HIGH_WATERMARK = -1
INVALID_LOW_WATERMARK = -1


@handles(DELETE_RECORDS, 0, 2)
async def handle_delete_records(
    ctx: RequestContext, request: DeleteRecordsRequest
) -> DeleteRecordsResponse:
    return DeleteRecordsResponse(
        topics=[
            DeleteRecordsTopicResult(
                name=topic.name,
                partitions=[
                    _delete(ctx, topic.name, p.partition_index, p.offset) for p in topic.partitions
                ],
            )
            for topic in request.topics
        ]
    )


def _delete(
    ctx: RequestContext, topic: str, index: int, offset: int
) -> DeleteRecordsPartitionResult:
    result = DeleteRecordsPartitionResult(
        partition_index=index, low_watermark=INVALID_LOW_WATERMARK
    )
    try:
        result.low_watermark = _delete_on_leader(ctx, topic, index, offset)
    except KafkaError as error:
        result.error_code = error.code
    return result


def _delete_on_leader(ctx: RequestContext, topic: str, index: int, offset: int) -> int:
    """Move the log start offset of the partition up to ``offset``; its low watermark."""
    broker = ctx.broker
    if not partition_exists(broker.image, topic, index):
        raise KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    if is_internal(topic):
        raise KafkaError(
            ErrorCode.INVALID_TOPIC_EXCEPTION, f"Cannot delete records of internal topic {topic}"
        )
    partition = broker.replicas.get(topic, index)
    if partition is None or not partition.is_leader:
        raise KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    log = partition.log
    if not log.config.delete:
        raise KafkaError(
            ErrorCode.POLICY_VIOLATION,
            f"Records of partition {topic}-{index} can not be deleted due to the configured policy",
        )
    target = log.high_watermark if offset == HIGH_WATERMARK else offset
    if target < 0:
        raise KafkaError(
            ErrorCode.OFFSET_OUT_OF_RANGE,
            f"The offset {target} for partition {topic}-{index} is not valid",
        )
    log.maybe_increment_log_start_offset(target)
    return log.log_start_offset
