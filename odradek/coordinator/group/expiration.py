"""Offset retention and the removal of groups nobody uses any more.

Every ``offsets.retention.check.interval.ms`` the shard sweeps its groups (Kafka's
``GroupCoordinatorShard.cleanupGroupMetadata`` and ``OffsetMetadataManager.
cleanupExpiredOffsets``):

* an offset expires once ``offsets.retention.minutes`` have passed since its
  group's retention clock started (:meth:`.ClassicGroup.offset_expiry_base`: when an
  Empty group became empty, when a simple group's offset was committed; for a
  consumer group, its commit) -- or at its own expire timestamp, for commits that
  set one -- unless its group still subscribes to the topic; each expired offset
  gets a tombstone;
* a group left with no offsets at all, and no members, gets a tombstone too.

Deleted topics lose their offsets at once (:func:`delete_partition_offsets`, Kafka's
``onPartitionsDeleted``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .consumer.group import ConsumerGroup
from .context import Context
from .delete_groups import write_group_tombstones
from .records import offset_tombstone

EXPIRATION_KEY = ("expire-group-metadata",)


def schedule_sweep(ctx: Context) -> None:
    ctx.schedule(EXPIRATION_KEY, ctx.config.offsets_retention_check_interval_ms, sweep)


def sweep(ctx: Context) -> None:
    for group_id in list(ctx.state.groups):
        if _expire_offsets(ctx, group_id):
            group = ctx.state.groups.get(group_id)
            if group is not None and group.is_empty:
                write_group_tombstones(ctx, group)
    schedule_sweep(ctx)


def _expire_offsets(ctx: Context, group_id: str) -> bool:
    """Tombstone the group's expired offsets; True if none is left."""
    state = ctx.state
    group = state.groups[group_id]
    retention = ctx.config.offsets_retention_ms
    now = ctx.now_ms
    expired: list[tuple[str, int]] = []
    all_expired = True
    for topic, partition, offset in state.offsets.group_offsets(group_id):
        if group.is_subscribed_to(topic):
            all_expired = False
            continue
        base = (
            offset.commit_timestamp_ms
            if isinstance(group, ConsumerGroup)
            else group.offset_expiry_base(offset.commit_timestamp_ms)
        )
        if base is None:
            return False
        if offset.expire_timestamp_ms is not None:
            is_expired = now >= offset.expire_timestamp_ms
        else:
            is_expired = now - base >= retention
        if is_expired:
            expired.append((topic, partition))
        else:
            all_expired = False
    for topic, partition in expired:
        ctx.write(offset_tombstone(group_id, topic, partition))
    return all_expired


def delete_partition_offsets(ctx: Context, partitions: Iterable[tuple[str, int]]) -> None:
    wanted = set(partitions)
    doomed = [
        (group_id, topic, partition)
        for group_id, topic, partition, _ in ctx.state.offsets.all_offsets()
        if (topic, partition) in wanted
    ]
    for group_id, topic, partition in doomed:
        ctx.write(offset_tombstone(group_id, topic, partition))
