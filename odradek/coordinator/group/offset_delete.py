"""OffsetDelete (key 47): forget a group's offsets for some partitions.

Behaviour (Kafka's ``OffsetMetadataManager.deleteOffsets``, ``ClassicGroup.
validateOffsetDelete`` and the topic checks of ``KafkaApis.handleOffsetDeleteRequest``):

* An unknown group is GROUP_ID_NOT_FOUND for the whole request. A classic group
  with members may only lose offsets if it uses the consumer protocol (whose
  subscriptions the coordinator can read); other non-empty classic groups are
  NON_EMPTY_GROUP. Consumer groups (KIP-848) always know their subscriptions.
* A partition the cluster does not have is UNKNOWN_TOPIC_OR_PARTITION.
* A topic the group's members subscribe to is GROUP_SUBSCRIBED_TO_TOPIC for its
  partitions: deleting a position someone is consuming from would only reset it.
* Otherwise each partition with a committed offset gets a tombstone; partitions
  without one succeed too.

Spec: ``clients/OffsetDeleteRequest.json``, ``clients/OffsetDeleteResponse.json``.
"""

from __future__ import annotations

from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.offset_delete_request import OffsetDeleteRequest
from odradek.protocol.messages.clients.offset_delete_response import (
    OffsetDeleteResponse,
    OffsetDeleteResponsePartition,
    OffsetDeleteResponseTopic,
)

from .classic.group import ClassicGroup
from .classic.state import DEAD, EMPTY
from .consumer.group import ConsumerGroup
from .context import Context
from .records import offset_tombstone
from .result import Caller


def delete_offsets(ctx: Context, caller: Caller, request: OffsetDeleteRequest) -> None:
    try:
        group = _validate(ctx, request.group_id)
    except KafkaError as e:
        ctx.reply(caller, OffsetDeleteResponse(error_code=e.code))
        return
    state = ctx.state
    topics = []
    for topic in request.topics:
        subscribed = group.is_subscribed_to(topic.name)
        partitions = []
        for p in topic.partitions:
            index = p.partition_index
            if not state.partition_exists(topic.name, index):
                error = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            elif subscribed:
                error = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
            else:
                error = ErrorCode.NONE
                if state.offsets.get(request.group_id, topic.name, index) is not None:
                    ctx.write(offset_tombstone(request.group_id, topic.name, index))
            partitions.append(
                OffsetDeleteResponsePartition(partition_index=index, error_code=error)
            )
        topics.append(OffsetDeleteResponseTopic(name=topic.name, partitions=partitions))
    ctx.reply(caller, OffsetDeleteResponse(topics=topics))


def _validate(ctx: Context, group_id: str) -> ClassicGroup | ConsumerGroup:
    group = ctx.state.groups.get(group_id)
    if group is None:
        raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND)
    if isinstance(group, ConsumerGroup):
        return group
    if group.is_in(DEAD):
        raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND)
    if not group.is_in(EMPTY) and not group.uses_consumer_protocol:
        raise KafkaError(ErrorCode.NON_EMPTY_GROUP)
    return group
