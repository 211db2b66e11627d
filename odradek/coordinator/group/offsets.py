"""Committed offsets: group -> topic -> partition -> offset and metadata.

Kafka's ``OffsetMetadataManager.Offsets`` and ``OffsetAndMetadata``. The store is
changed only by replaying ``OffsetCommit`` records (a value puts, a tombstone
removes); commands read it to answer OffsetFetch and to decide what to delete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from odradek.protocol.messages.group_coordinator.offset_commit_value import (
    OffsetCommitValue,
)


@dataclass(frozen=True, slots=True)
class OffsetAndMetadata:
    offset: int
    #: -1 when the committer did not know the leader epoch.
    leader_epoch: int
    metadata: str
    commit_timestamp_ms: int
    #: Only commits of OffsetCommit v2-v4 with a retention time carry their own expiry.
    expire_timestamp_ms: int | None = None

    @classmethod
    def from_record(cls, value: OffsetCommitValue) -> OffsetAndMetadata:
        return cls(
            offset=value.offset,
            leader_epoch=value.leader_epoch,
            metadata=value.metadata,
            commit_timestamp_ms=value.commit_timestamp,
            expire_timestamp_ms=None if value.expire_timestamp == -1 else value.expire_timestamp,
        )

    def to_record_value(self) -> OffsetCommitValue:
        return OffsetCommitValue(
            offset=self.offset,
            leader_epoch=self.leader_epoch,
            metadata=self.metadata,
            commit_timestamp=self.commit_timestamp_ms,
            expire_timestamp=-1 if self.expire_timestamp_ms is None else self.expire_timestamp_ms,
        )


class OffsetStore:
    def __init__(self) -> None:
        self._by_group: dict[str, dict[str, dict[int, OffsetAndMetadata]]] = {}

    def get(self, group_id: str, topic: str, partition: int) -> OffsetAndMetadata | None:
        return self._by_group.get(group_id, {}).get(topic, {}).get(partition)

    def put(self, group_id: str, topic: str, partition: int, offset: OffsetAndMetadata) -> None:
        self._by_group.setdefault(group_id, {}).setdefault(topic, {})[partition] = offset

    def remove(self, group_id: str, topic: str, partition: int) -> bool:
        topics = self._by_group.get(group_id)
        if topics is None or partition not in topics.get(topic, {}):
            return False
        partitions = topics[topic]
        del partitions[partition]
        if not partitions:
            del topics[topic]
            if not topics:
                del self._by_group[group_id]
        return True

    def has_offsets(self, group_id: str) -> bool:
        return group_id in self._by_group

    def group_offsets(self, group_id: str) -> Iterator[tuple[str, int, OffsetAndMetadata]]:
        """The group's offsets, by topic name then partition."""
        topics = self._by_group.get(group_id, {})
        for topic in sorted(topics):
            partitions = topics[topic]
            for partition in sorted(partitions):
                yield topic, partition, partitions[partition]

    def all_offsets(self) -> Iterator[tuple[str, str, int, OffsetAndMetadata]]:
        for group_id in sorted(self._by_group):
            for topic, partition, offset in self.group_offsets(group_id):
                yield group_id, topic, partition, offset
