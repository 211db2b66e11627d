"""Produce (key 0): append client record batches to partition leaders.

Behaviour (Kafka's ``KafkaApis.handleProduceRequest`` and
``ReplicaManager.appendRecords``):

* ``acks`` must be -1, 0 or 1; anything else fails every partition with
  INVALID_REQUIRED_ACKS;
* each partition is answered on its own: UNKNOWN_TOPIC_OR_PARTITION when this broker
  has no such partition, NOT_LEADER_OR_FOLLOWER when it does not lead it, the
  validator's code (CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE, ...) for bad
  batches, the producer-state code (OUT_OF_ORDER_SEQUENCE_NUMBER,
  INVALID_PRODUCER_EPOCH, ...) from the log, NOT_ENOUGH_REPLICAS when acks=-1 and the
  in-sync replicas are fewer than ``min.insync.replicas``, KAFKA_STORAGE_ERROR when
  the disk refuses the write;
* the batch bytes are validated in place (header and CRC, never the records) and
  appended as they came, with their offsets and leader epoch patched into the
  request's own buffer; the header the validator parsed goes to the log with them,
  which does not parse it twice;
* a retried batch the log already holds is answered with the offsets it got the
  first time;
* with acks=0 nothing is sent back.

Version notes: v3 is the first with magic-2 batches only, which is all Odradek
stores; Kafka 4 dropped v0-v2 as well. v9+ are flexible; v10+ may carry the current
leader on NOT_LEADER_OR_FOLLOWER (KIP-951).

Spec: ``clients/ProduceRequest.json``, ``clients/ProduceResponse.json``.
"""

from __future__ import annotations

import logging

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.produce_request import ProduceRequest
from odradek.protocol.messages.clients.produce_response import (
    PartitionProduceResponse,
    ProduceResponse,
    TopicProduceResponse,
)
from odradek.protocol.records.validate import RecordValidationError, validate_produce_records

PRODUCE = 0

log = logging.getLogger(__name__)


@handles(PRODUCE, 3, 11)
async def handle_produce(ctx: RequestContext, request: ProduceRequest) -> ProduceResponse | None:
    acks = request.acks
    topics = []
    for topic in request.topic_data:
        answers = []
        for data in topic.partition_data:
            answer = PartitionProduceResponse(index=data.index)
            if acks not in (-1, 0, 1):
                answer.error_code = ErrorCode.INVALID_REQUIRED_ACKS
            else:
                _append(ctx, topic.name, data.index, data.records, acks, answer)
            answers.append(answer)
        topics.append(TopicProduceResponse(name=topic.name, partition_responses=answers))
    if acks == 0:
        return None
    return ProduceResponse(responses=topics)


def _append(
    ctx: RequestContext,
    topic: str,
    index: int,
    records: object,
    acks: int,
    answer: PartitionProduceResponse,
) -> None:
    broker = ctx.broker
    try:
        partition = broker.replicas.leader(topic, index)
        if records is None:
            raise KafkaError(ErrorCode.INVALID_RECORD, "a partition's records may not be null")
        view = records if isinstance(records, memoryview) else memoryview(records)  # type: ignore[arg-type]
        config = broker.topic_config(topic)
        header = validate_produce_records(view, ctx.api_version, config.max_message_bytes)
        info = partition.append(view, acks, broker.min_insync_replicas(topic), header)
    except RecordValidationError as e:
        answer.error_code = e.error_code
        answer.error_message = str(e)
        return
    except KafkaError as e:
        answer.error_code = e.code
        answer.error_message = e.message
        return
    except OSError as e:
        log.error("append to %s-%d failed: %s", topic, index, e)
        answer.error_code = ErrorCode.KAFKA_STORAGE_ERROR
        answer.error_message = f"the log of {topic}-{index} could not be written"
        return
    answer.base_offset = info.first_offset
    answer.log_append_time_ms = info.log_append_time
    answer.log_start_offset = info.log_start_offset
    if not info.duplicate:
        broker.metrics.record_produce(topic, len(view), header.records_count)
