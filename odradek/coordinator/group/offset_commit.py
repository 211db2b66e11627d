"""OffsetCommit (key 8): store a group's consumed positions, durably, before saying so.

Behaviour (Kafka's ``OffsetMetadataManager.commitOffset`` and the topic checks of
``KafkaApis.handleOffsetCommitRequest``):

* A partition the cluster does not have is UNKNOWN_TOPIC_OR_PARTITION; if no
  partition of the request exists, nothing else is checked.
* The group decides whether this committer may commit
  (:meth:`.ClassicGroup.validate_offset_commit`): a member of the current generation,
  or anyone with generation -1 while the group is Empty. In a consumer group
  (:meth:`.ConsumerGroup.validate_offset_commit`) the "generation" is the member
  epoch: another epoch is STALE_MEMBER_EPOCH, and members must use v9+ -- except
  classic members (an online migration), which commit with any version and get
  ILLEGAL_GENERATION for another epoch. A commit with generation -1
  to a group that does not exist creates a "simple" group (no protocol type). A
  commit with a generation to an unknown group is GROUP_ID_NOT_FOUND from v9 and
  ILLEGAL_GENERATION before. The error applies to every partition.
* Metadata longer than ``offset.metadata.max.bytes`` is OFFSET_METADATA_TOO_LARGE
  for that partition; each other partition becomes one OffsetCommit record, and the
  response goes out once the records are committed.
* A commit from a member of a Stable or PreparingRebalance group restarts its
  session timer, as a heartbeat would.
* ``retention_time_ms`` (v2-v4) other than -1 gives the offset its own expiry
  (``commit time + retention``), stored with the v1 value format; ``commit_timestamp``
  (v1) other than -1 replaces the commit time.

Spec: ``clients/OffsetCommitRequest.json``, ``clients/OffsetCommitResponse.json``.
"""

from __future__ import annotations

from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.offset_commit_request import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
)
from odradek.protocol.messages.clients.offset_commit_response import (
    OffsetCommitResponse,
    OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
)

from .classic import rebalance
from .classic.state import PREPARING_REBALANCE, STABLE
from .context import Context
from .offsets import OffsetAndMetadata
from .records import offset_commit_record
from .result import Caller

GROUP_ID_NOT_FOUND_VERSION = 9
DEFAULT_RETENTION = -1
DEFAULT_TIMESTAMP = -1


def commit_offsets(ctx: Context, caller: Caller, request: OffsetCommitRequest) -> None:
    state = ctx.state
    errors: dict[tuple[str, int], ErrorCode] = {}
    for topic in request.topics:
        for p in topic.partitions:
            if not state.partition_exists(topic.name, p.partition_index):
                errors[topic.name, p.partition_index] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    known = sum(len(t.partitions) for t in request.topics) - len(errors)
    if known:
        try:
            _validate(ctx, caller, request)
        except KafkaError as e:
            for topic in request.topics:
                for p in topic.partitions:
                    errors.setdefault((topic.name, p.partition_index), e.code)
            known = 0
    if known:
        _write_offsets(ctx, request, errors)
    ctx.reply(caller, _response(request, errors))


def _validate(ctx: Context, caller: Caller, request: OffsetCommitRequest) -> None:
    generation = request.generation_id_or_member_epoch
    consumer_group = ctx.state.consumer_group(request.group_id)
    if consumer_group is not None:
        consumer_group.validate_offset_commit(request.member_id, generation, caller.api_version)
        return
    group = ctx.state.classic_group(request.group_id)
    if group is None:
        if generation < 0:
            return  # a simple group: replaying the first offset creates it
        if caller.api_version >= GROUP_ID_NOT_FOUND_VERSION:
            raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND)
        raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
    group.validate_offset_commit(request.member_id, request.group_instance_id, generation)
    if group.is_in(STABLE) or group.is_in(PREPARING_REBALANCE):
        member = group.members.get(request.member_id)
        if member is not None:
            rebalance.reschedule_session(ctx, group, member)


def _write_offsets(
    ctx: Context, request: OffsetCommitRequest, errors: dict[tuple[str, int], ErrorCode]
) -> None:
    now = ctx.now_ms
    retention = request.retention_time_ms
    expire = None if retention == DEFAULT_RETENTION else now + retention
    max_bytes = ctx.config.offset_metadata_max_bytes
    for topic in request.topics:
        for p in topic.partitions:
            key = (topic.name, p.partition_index)
            if key in errors:
                continue
            if p.committed_metadata is not None and len(p.committed_metadata) > max_bytes:
                errors[key] = ErrorCode.OFFSET_METADATA_TOO_LARGE
                continue
            offset = _offset(p, now, expire)
            ctx.write(
                offset_commit_record(
                    request.group_id, topic.name, p.partition_index, offset.to_record_value()
                )
            )


def _offset(p: OffsetCommitRequestPartition, now_ms: int, expire: int | None) -> OffsetAndMetadata:
    committed_at = now_ms if p.commit_timestamp == DEFAULT_TIMESTAMP else p.commit_timestamp
    return OffsetAndMetadata(
        offset=p.committed_offset,
        leader_epoch=p.committed_leader_epoch,
        metadata=p.committed_metadata or "",
        commit_timestamp_ms=committed_at,
        expire_timestamp_ms=expire,
    )


def _response(
    request: OffsetCommitRequest, errors: dict[tuple[str, int], ErrorCode]
) -> OffsetCommitResponse:
    return OffsetCommitResponse(
        topics=[
            OffsetCommitResponseTopic(
                name=topic.name,
                partitions=[
                    OffsetCommitResponsePartition(
                        partition_index=p.partition_index,
                        error_code=errors.get((topic.name, p.partition_index), ErrorCode.NONE),
                    )
                    for p in topic.partitions
                ],
            )
            for topic in request.topics
        ]
    )


def error_response(request: OffsetCommitRequest, error: ErrorCode) -> OffsetCommitResponse:
    """Every partition of ``request`` answered with ``error``."""
    return _response(
        request,
        {(t.name, p.partition_index): error for t in request.topics for p in t.partitions},
    )
