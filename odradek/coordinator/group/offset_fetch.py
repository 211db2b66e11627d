"""OffsetFetch (key 9): where a group left off, per partition.

Behaviour (Kafka's ``OffsetMetadataManager.fetchOffsets`` and ``fetchAllOffsets``):

* Requested partitions without a committed offset, and every partition of a group
  that does not exist, come back with offset -1, leader epoch -1, empty metadata and
  no error. A null topic list (v2+) asks for all of the group's offsets, listed by
  topic name and partition.
* v8 batches groups (``groups``); earlier versions name one group. The broker sends
  each shard only the groups it coordinates and merges the ``groups`` lists.
* v9 adds the member id and epoch of a consumer group member (KIP-848): a member
  that is not in the group is UNKNOWN_MEMBER_ID, another epoch STALE_MEMBER_EPOCH,
  as a group-level error. Without them (null, -1) anyone may fetch.
* ``require_stable`` (v7+) asks for no offset that could still change: here that
  holds for every fetch, since a reply waits until every record written before it
  is committed. UNSTABLE_OFFSET_COMMIT belongs to transactional offset commits, which
  this coordinator does not take yet.

Spec: ``clients/OffsetFetchRequest.json``, ``clients/OffsetFetchResponse.json``.
"""

from __future__ import annotations

from collections.abc import Iterable

from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.offset_fetch_request import OffsetFetchRequest
from odradek.protocol.messages.clients.offset_fetch_response import (
    OffsetFetchResponse,
    OffsetFetchResponseGroup,
    OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
)

from .classic.group import ClassicGroup
from .classic.state import DEAD
from .context import Context
from .offsets import OffsetAndMetadata
from .result import Caller

BATCHED_VERSION = 8
NO_OFFSET = -1

#: (topic, partition, offset or None) in the order the response lists them.
_Row = tuple[str, int, OffsetAndMetadata | None]


def fetch_offsets(ctx: Context, caller: Caller, request: OffsetFetchRequest) -> None:
    if caller.api_version >= BATCHED_VERSION:
        groups = []
        for g in request.groups:
            consumer_group = ctx.state.consumer_group(g.group_id)
            if consumer_group is not None:
                try:
                    consumer_group.validate_offset_fetch(g.member_id, g.member_epoch)
                except KafkaError as e:
                    groups.append(OffsetFetchResponseGroup(group_id=g.group_id, error_code=e.code))
                    continue
            topics = None if g.topics is None else [(t.name, t.partition_indexes) for t in g.topics]
            groups.append(_group_response(g.group_id, _rows(ctx, g.group_id, topics)))
        ctx.reply(caller, OffsetFetchResponse(groups=groups))
        return
    topics = (
        None if request.topics is None else [(t.name, t.partition_indexes) for t in request.topics]
    )
    ctx.reply(caller, _single_group_response(_rows(ctx, request.group_id, topics)))


def _rows(ctx: Context, group_id: str, topics: list[tuple[str, list[int]]] | None) -> list[_Row]:
    state = ctx.state
    group = state.groups.get(group_id)
    known = group is not None and not (isinstance(group, ClassicGroup) and group.is_in(DEAD))
    if topics is None:
        if not known:
            return []
        return [(t, p, o) for t, p, o in state.offsets.group_offsets(group_id)]
    return [
        (name, partition, state.offsets.get(group_id, name, partition) if known else None)
        for name, partitions in topics
        for partition in partitions
    ]


def _by_topic(rows: Iterable[_Row]) -> dict[str, list[tuple[int, OffsetAndMetadata | None]]]:
    topics: dict[str, list[tuple[int, OffsetAndMetadata | None]]] = {}
    for topic, partition, offset in rows:
        topics.setdefault(topic, []).append((partition, offset))
    return topics


def _group_response(group_id: str, rows: list[_Row]) -> OffsetFetchResponseGroup:
    return OffsetFetchResponseGroup(
        group_id=group_id,
        topics=[
            OffsetFetchResponseTopics(
                name=topic,
                partitions=[
                    OffsetFetchResponsePartitions(
                        partition_index=partition,
                        committed_offset=NO_OFFSET if o is None else o.offset,
                        committed_leader_epoch=-1 if o is None else o.leader_epoch,
                        metadata="" if o is None else o.metadata,
                    )
                    for partition, o in partitions
                ],
            )
            for topic, partitions in _by_topic(rows).items()
        ],
    )


def _single_group_response(rows: list[_Row]) -> OffsetFetchResponse:
    return OffsetFetchResponse(
        topics=[
            OffsetFetchResponseTopic(
                name=topic,
                partitions=[
                    OffsetFetchResponsePartition(
                        partition_index=partition,
                        committed_offset=NO_OFFSET if o is None else o.offset,
                        committed_leader_epoch=-1 if o is None else o.leader_epoch,
                        metadata="" if o is None else o.metadata,
                    )
                    for partition, o in partitions
                ],
            )
            for topic, partitions in _by_topic(rows).items()
        ]
    )


def error_response(
    request: OffsetFetchRequest, api_version: int, error: ErrorCode
) -> OffsetFetchResponse:
    """The whole request answered with ``error`` (Kafka's ``OffsetFetchRequest.getErrorResponse``).

    From v8 each group carries the error; v2-v7 have a top-level error code and no
    partitions; v0 and v1 have only partition errors, so each requested partition
    carries it.
    """
    if api_version >= BATCHED_VERSION:
        return OffsetFetchResponse(
            groups=[
                OffsetFetchResponseGroup(group_id=g.group_id, error_code=error)
                for g in request.groups
            ]
        )
    if api_version >= 2:
        return OffsetFetchResponse(error_code=error)
    topics = [
        OffsetFetchResponseTopic(
            name=t.name,
            partitions=[
                OffsetFetchResponsePartition(
                    partition_index=p, committed_offset=NO_OFFSET, metadata="", error_code=error
                )
                for p in t.partition_indexes
            ],
        )
        for t in request.topics or []
    ]
    return OffsetFetchResponse(topics=topics)
