"""Replay: how records of ``__consumer_offsets`` become groups and offsets.

The same function serves loading a partition (every record from the start of the
log) and the live path (each record as an operation writes it). Kafka's
``GroupCoordinatorShard.replay`` and the ``replay`` methods of its
``GroupMetadataManager`` and ``OffsetMetadataManager``:

* ``GroupMetadataKey`` + value: create the classic group, or bring an existing one's
  stored generation to the record (:meth:`.ClassicGroup.apply_record`);
* ``GroupMetadataKey`` + tombstone: the group is gone;
* ``OffsetCommitKey`` + value: store the offset, creating an empty "simple" group
  (no protocol type) if the group does not exist: a consumer that assigns
  partitions itself still commits offsets under a group id;
* ``OffsetCommitKey`` + tombstone: the offset is gone;
* the consumer group records: :mod:`.consumer.replay`.
"""

from __future__ import annotations

from odradek.protocol.messages.group_coordinator.group_metadata_key import GroupMetadataKey
from odradek.protocol.messages.group_coordinator.group_metadata_value import (
    GroupMetadataValue,
)
from odradek.protocol.messages.group_coordinator.offset_commit_key import OffsetCommitKey
from odradek.protocol.messages.group_coordinator.offset_commit_value import (
    OffsetCommitValue,
)

from .classic.group import ClassicGroup
from .classic.state import EMPTY, STABLE
from .consumer.replay import Groups, replay_consumer_record
from .offsets import OffsetAndMetadata, OffsetStore
from .records import CoordinatorRecord


def replay(groups: Groups, offsets: OffsetStore, record: CoordinatorRecord) -> None:
    key = record.key
    value = record.value
    if isinstance(key, GroupMetadataKey):
        if value is not None and not isinstance(value, GroupMetadataValue):
            raise TypeError(f"GroupMetadataKey with a {type(value).__name__} value")
        _replay_group_metadata(groups, key.group, value)
    elif isinstance(key, OffsetCommitKey):
        if value is not None and not isinstance(value, OffsetCommitValue):
            raise TypeError(f"OffsetCommitKey with a {type(value).__name__} value")
        _replay_offset_commit(groups, offsets, key, value)
    else:
        replay_consumer_record(groups, key, value)


def _replay_group_metadata(groups: Groups, group_id: str, value: GroupMetadataValue | None) -> None:
    group = groups.get(group_id)
    if value is None:
        if isinstance(group, ClassicGroup):
            del groups[group_id]
        return
    if not isinstance(group, ClassicGroup):
        group = ClassicGroup(group_id, state=STABLE if value.members else EMPTY)
        groups[group_id] = group
    group.apply_record(value)


def _replay_offset_commit(
    groups: Groups,
    offsets: OffsetStore,
    key: OffsetCommitKey,
    value: OffsetCommitValue | None,
) -> None:
    if value is None:
        offsets.remove(key.group, key.topic, key.partition)
        return
    if key.group not in groups:
        groups[key.group] = ClassicGroup(key.group)
    offsets.put(key.group, key.topic, key.partition, OffsetAndMetadata.from_record(value))
