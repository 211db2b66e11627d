"""DescribeProducers (key 61): the producers a partition remembers (KIP-664).

Behaviour (Kafka's ``KafkaApis.handleDescribeProducersRequest`` and
``Partition.activeProducerState``):

* an illegal topic name fails each of its partitions with INVALID_TOPIC_EXCEPTION,
  a topic the metadata does not know with UNKNOWN_TOPIC_OR_PARTITION;
* a partition this broker does not host is NOT_LEADER_OR_FOLLOWER if the metadata
  has it (the client should ask its replicas), UNKNOWN_TOPIC_OR_PARTITION if not;
* any replica answers, leader or follower (``kafka-transactions describe-producers``
  may ask a given broker), from its log's producer state: for each producer id
  still remembered, its epoch, last sequence, last timestamp, coordinator epoch and
  the first offset of its open transaction (-1 if none). Producers whose state
  expired (``producer.id.expiration.ms``) or was deleted with the log are gone.

Version notes: v0 is the only version.

Spec: ``clients/DescribeProducersRequest.json``, ``clients/DescribeProducersResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.cluster_view import missing_partition_error
from odradek.broker.context import RequestContext
from odradek.metadata.topic_names import validation_error
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_producers_request import DescribeProducersRequest
from odradek.protocol.messages.clients.describe_producers_response import (
    DescribeProducersResponse,
    PartitionResponse,
    ProducerState,
    TopicResponse,
)

DESCRIBE_PRODUCERS = 61


@handles(DESCRIBE_PRODUCERS, 0, 0)
async def handle_describe_producers(
    ctx: RequestContext, request: DescribeProducersRequest
) -> DescribeProducersResponse:
    image = ctx.broker.image
    topics = []
    for topic in request.topics:
        problem = validation_error(topic.name)
        topic_error: tuple[ErrorCode, str | None] | None = None
        if problem is not None:
            topic_error = (ErrorCode.INVALID_TOPIC_EXCEPTION, problem)
        elif image.topics.get_by_name(topic.name) is None:
            unknown = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            topic_error = (unknown, unknown.message)
        partitions = []
        for index in topic.partition_indexes:
            if topic_error is not None:
                code, message = topic_error
                partitions.append(
                    PartitionResponse(partition_index=index, error_code=code, error_message=message)
                )
            else:
                partitions.append(_active_producers(ctx, topic.name, index))
        topics.append(TopicResponse(name=topic.name, partitions=partitions))
    return DescribeProducersResponse(topics=topics)


def _active_producers(ctx: RequestContext, topic: str, index: int) -> PartitionResponse:
    partition = ctx.broker.replicas.get(topic, index)
    if partition is None:
        return PartitionResponse(
            partition_index=index,
            error_code=missing_partition_error(ctx.broker.image, topic, index),
        )
    producers = partition.log.producer_state.producers
    return PartitionResponse(
        partition_index=index,
        error_code=ErrorCode.NONE,
        active_producers=[
            ProducerState(
                producer_id=producer_id,
                producer_epoch=entry.producer_epoch,
                last_sequence=entry.last_seq,
                last_timestamp=entry.last_timestamp,
                coordinator_epoch=entry.coordinator_epoch,
                current_txn_start_offset=(
                    -1 if entry.current_txn_first_offset is None else entry.current_txn_first_offset
                ),
            )
            for producer_id, entry in producers.items()
        ],
    )
