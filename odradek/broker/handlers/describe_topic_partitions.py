"""DescribeTopicPartitions (key 75): topics and their partitions, a page at a time (KIP-966).

Behaviour (Kafka's ``DescribeTopicPartitionsRequestHandler`` and
``KRaftMetadataCache.getTopicMetadataForDescribeTopicResponse``):

* ``topics`` empty means every topic; topics are answered in name order, starting
  at the cursor's topic (names before it are skipped) and, in that topic, at the
  cursor's partition;
* at most ``min(response_partition_limit, max.request.partition.size.limit)``
  partitions are returned (at least one). When a topic does not fit, the response
  ends with it and ``next_cursor`` names the first partition left out; when the
  limit is used up exactly, ``next_cursor`` names the next topic at partition 0;
  with nothing left, ``next_cursor`` is null;
* a named topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION (an illegal name
  INVALID_TOPIC_EXCEPTION), costs nothing against the limit, and is left out when
  listing every topic;
* per partition: the leader if its broker has an endpoint on the request's listener
  (else -1, without error), leader epoch, replicas, ISR, eligible and last known
  ELR, and the replicas offline for this listener (:mod:`odradek.broker.cluster_view`);
* a cursor whose topic is not among the named topics, or whose partition is
  negative, fails the request: every named topic is answered INVALID_REQUEST;
* ``topic_authorized_operations`` is every topic operation (no authorizer yet).

Version notes: v0 is the only version (Kafka 3.8+; ``kafka-topics --describe``
uses it).

Spec: ``clients/DescribeTopicPartitionsRequest.json``,
``clients/DescribeTopicPartitionsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.cluster_view import TOPIC_OPERATIONS, leader_on_listener, offline_replicas
from odradek.broker.context import RequestContext
from odradek.metadata.image import MetadataImage
from odradek.metadata.topic_names import is_internal, validation_error
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_topic_partitions_request import (
    DescribeTopicPartitionsRequest,
)
from odradek.protocol.messages.clients.describe_topic_partitions_response import (
    Cursor,
    DescribeTopicPartitionsResponse,
    DescribeTopicPartitionsResponsePartition,
    DescribeTopicPartitionsResponseTopic,
)
from odradek.protocol.primitives import ZERO_UUID

DESCRIBE_TOPIC_PARTITIONS = 75


@handles(DESCRIBE_TOPIC_PARTITIONS, 0, 0)
async def handle_describe_topic_partitions(
    ctx: RequestContext, request: DescribeTopicPartitionsRequest
) -> DescribeTopicPartitionsResponse:
    image = ctx.broker.image
    listener = ctx.client.listener
    cursor = request.cursor
    first = cursor.topic_name if cursor is not None else ""
    every_topic = not request.topics
    names = image.topics.by_name if every_topic else {t.name for t in request.topics}
    chosen = sorted(name for name in names if name >= first)
    if cursor is not None and (
        cursor.partition_index < 0 or (not every_topic and cursor.topic_name not in chosen)
    ):
        return DescribeTopicPartitionsResponse(
            topics=[
                DescribeTopicPartitionsResponseTopic(
                    error_code=ErrorCode.INVALID_REQUEST, name=t.name, is_internal=False
                )
                for t in request.topics
            ]
        )
    limit = max(
        min(
            ctx.broker.config.get("max.request.partition.size.limit"),
            request.response_partition_limit,
        ),
        1,
    )
    response = DescribeTopicPartitionsResponse()
    for name in chosen:
        if limit == 0:
            response.next_cursor = Cursor(topic_name=name, partition_index=0)
            break
        start = cursor.partition_index if cursor is not None and name == cursor.topic_name else 0
        answer, next_partition = _describe(image, name, listener, start, limit)
        if answer is None:
            if not every_topic:
                response.topics.append(_missing(name))
            continue
        response.topics.append(answer)
        if next_partition >= 0:
            response.next_cursor = Cursor(topic_name=name, partition_index=next_partition)
            break
        limit -= len(answer.partitions)
    return response


def _describe(
    image: MetadataImage, name: str, listener: str, start: int, limit: int
) -> tuple[DescribeTopicPartitionsResponseTopic | None, int]:
    """The topic's partitions from ``start`` on, at most ``limit``; and the next one left out."""
    topic = image.topics.get_by_name(name)
    if topic is None:
        return None, -1
    count = len(topic.partitions)
    upper = min(count, start + limit)
    answer = DescribeTopicPartitionsResponseTopic(
        error_code=ErrorCode.NONE,
        name=name,
        topic_id=topic.topic_id,
        is_internal=is_internal(name),
        topic_authorized_operations=TOPIC_OPERATIONS,
    )
    for index in range(start, upper):
        partition = topic.partitions.get(index)
        if partition is None:
            continue
        answer.partitions.append(
            DescribeTopicPartitionsResponsePartition(
                error_code=ErrorCode.NONE,
                partition_index=index,
                leader_id=leader_on_listener(image, partition, listener),
                leader_epoch=partition.leader_epoch,
                replica_nodes=list(partition.replicas),
                isr_nodes=list(partition.isr),
                eligible_leader_replicas=list(partition.elr),
                last_known_elr=list(partition.last_known_elr),
                offline_replicas=offline_replicas(image, partition, listener),
            )
        )
    return answer, upper if upper < count else -1


def _missing(name: str) -> DescribeTopicPartitionsResponseTopic:
    error = (
        ErrorCode.INVALID_TOPIC_EXCEPTION
        if validation_error(name) is not None
        else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    )
    return DescribeTopicPartitionsResponseTopic(
        error_code=error,
        name=name,
        topic_id=ZERO_UUID,
        is_internal=is_internal(name),
        topic_authorized_operations=TOPIC_OPERATIONS,
    )
