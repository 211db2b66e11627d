"""Metadata (key 3): the brokers, and the topics and partitions a client asks about.

Behaviour (Kafka's ``KafkaApis.handleTopicMetadataRequest`` and
``KRaftMetadataCache``):

* the brokers listed are the unfenced ones with an endpoint on the listener the
  request came in on, so a client only ever learns addresses it can reach;
* ``controller_id`` is a live broker chosen at random: in KRaft mode clients never
  talk to controllers, and Kafka answers the same way;
* ``topics`` null (v1+) asks for every topic, an empty list for none; v10+ may name
  topics by id, and an id this broker does not know is UNKNOWN_TOPIC_ID;
* a topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION, unless the request
  allows auto-creation (v4+, always before) and ``auto.create.topics.enable`` is
  set: then it is created with the broker defaults and answered with
  LEADER_NOT_AVAILABLE until its leaders are elected; an illegal name is
  INVALID_TOPIC_EXCEPTION;
* a partition whose leader is not a live broker has leader -1 and
  LEADER_NOT_AVAILABLE; replicas on fenced brokers are listed as offline (v5+);
* ``__consumer_offsets`` and ``__transaction_state`` are internal.

Spec: ``clients/MetadataRequest.json``, ``clients/MetadataResponse.json``.
"""

from __future__ import annotations

import logging
import uuid

from odradek.broker.apis import handles
from odradek.broker.cluster_view import live_brokers, random_live_broker
from odradek.broker.context import RequestContext
from odradek.metadata.topic_names import INTERNAL_TOPICS, invalid_reason
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.metadata_request import MetadataRequest
from odradek.protocol.messages.clients.metadata_response import (
    MetadataResponse,
    MetadataResponseBroker,
    MetadataResponsePartition,
    MetadataResponseTopic,
)

METADATA = 3
CREATE_TOPICS = 19
CREATE_TOPICS_VERSION = 7
#: Kafka's value for "authorized operations were not asked for".
AUTHORIZED_OPERATIONS_OMITTED = -(2**31)
ZERO_UUID = uuid.UUID(int=0)

log = logging.getLogger(__name__)


@handles(METADATA, 0, 12)
async def handle_metadata(ctx: RequestContext, request: MetadataRequest) -> MetadataResponse:
    broker = ctx.broker
    image = broker.image
    listener = ctx.client.listener
    reachable = live_brokers(image, listener)
    brokers = [
        MetadataResponseBroker(node_id=b.broker_id, host=b.host, port=b.port, rack=b.rack)
        for b in reachable
    ]
    live = {b.broker_id for b in reachable}

    if request.topics is None or (ctx.api_version == 0 and not request.topics):
        names: list[str | None] = list(sorted(image.topics.by_name))
        ids: list[uuid.UUID] = [ZERO_UUID] * len(names)
    else:
        names = []
        ids = []
        for t in request.topics:
            if t.name is None:
                topic = image.topics.get(t.topic_id)
                names.append(topic.name if topic else None)
            else:
                names.append(t.name)
            ids.append(t.topic_id)

    allow_create = ctx.api_version < 4 or request.allow_auto_topic_creation
    to_create = []
    topics = []
    for name, topic_id in zip(names, ids, strict=True):
        answer = MetadataResponseTopic(
            name=name,
            topic_id=topic_id,
            topic_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED,
        )
        topics.append(answer)
        if name is None:
            answer.error_code = ErrorCode.UNKNOWN_TOPIC_ID
            continue
        topic = image.topics.get_by_name(name)
        if topic is None:
            problem = invalid_reason(name)
            if problem is not None:
                answer.error_code = ErrorCode.INVALID_TOPIC_EXCEPTION
            elif allow_create and broker.config.auto_create_topics_enable:
                answer.error_code = ErrorCode.LEADER_NOT_AVAILABLE
                to_create.append(name)
            else:
                answer.error_code = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            continue
        answer.topic_id = topic.topic_id
        answer.is_internal = name in INTERNAL_TOPICS
        for index in sorted(topic.partitions):
            reg = topic.partitions[index]
            leader = reg.leader if reg.leader in live else -1
            answer.partitions.append(
                MetadataResponsePartition(
                    error_code=ErrorCode.NONE if leader >= 0 else ErrorCode.LEADER_NOT_AVAILABLE,
                    partition_index=index,
                    leader_id=leader,
                    leader_epoch=reg.leader_epoch,
                    replica_nodes=list(reg.replicas),
                    isr_nodes=list(reg.isr),
                    offline_replicas=[r for r in reg.replicas if r not in live],
                )
            )
    if to_create:
        await _auto_create(ctx, to_create)
    return MetadataResponse(
        brokers=brokers,
        cluster_id=broker.cluster_id,
        controller_id=random_live_broker(reachable),
        topics=topics,
        cluster_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED,
    )


async def _auto_create(ctx: RequestContext, names: list[str]) -> None:
    """Ask the controller for the topics, with the broker's default partitions and factor."""
    request = CreateTopicsRequest(
        topics=[CreatableTopic(name=n, num_partitions=-1, replication_factor=-1) for n in names],
        timeout_ms=30_000,
    )
    try:
        await ctx.broker.controller.call(CREATE_TOPICS, CREATE_TOPICS_VERSION, request)
    except KafkaError as e:
        # The answer already says LEADER_NOT_AVAILABLE; the client asks again later.
        log.warning("auto-creating %s failed: %s", names, e)
