"""Topics and their partitions, and what a change to them means for one broker.

``TopicRecord`` creates a topic (a name and a topic id, ``shared/kafka-spec/
metadata/TopicRecord.json``); one ``PartitionRecord`` per partition follows.
``PartitionChangeRecord`` changes a partition and ``RemoveTopicRecord`` deletes a
topic with all its partitions (and, in :mod:`.delta`, its configs).

A broker learns what to do from the delta, not the image: :meth:`TopicsDelta.
local_changes` says, for one broker id, which partitions it must now lead
(``leaders``, with ``elected_leaders`` the subset whose leader epoch moved, i.e.
where it just became leader), which it must follow, and which it must delete --
Kafka's ``TopicsDelta.localChanges`` and ``LocalReplicaChanges``.

Mirrors Kafka's ``TopicImage``, ``TopicsImage``, ``TopicDelta`` and ``TopicsDelta``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord
from odradek.protocol.messages.metadata.remove_topic_record import RemoveTopicRecord
from odradek.protocol.messages.metadata.topic_record import TopicRecord
from odradek.storage.checkpoints import TopicPartition

from .merge import differences
from .partition import PartitionRegistration
from .records import MetadataReplayError, VersionedRecord
from .versions import MetadataVersion


class TopicImage(msgspec.Struct, frozen=True, kw_only=True):
    """A topic: its name, its id, and its partitions by partition id."""

    name: str
    topic_id: uuid.UUID
    partitions: Mapping[int, PartitionRegistration] = msgspec.field(default_factory=dict)

    def to_records(self, metadata_version: MetadataVersion) -> Iterator[VersionedRecord]:
        yield VersionedRecord(TopicRecord(name=self.name, topic_id=self.topic_id), 0)
        for partition_id in sorted(self.partitions):
            yield self.partitions[partition_id].to_record(
                self.topic_id, partition_id, metadata_version
            )


class TopicsImage(msgspec.Struct, frozen=True, kw_only=True):
    """Every topic, by id and by name (two views of the same :class:`TopicImage` objects)."""

    by_id: Mapping[uuid.UUID, TopicImage] = msgspec.field(default_factory=dict)
    by_name: Mapping[str, TopicImage] = msgspec.field(default_factory=dict)

    def get(self, topic_id: uuid.UUID) -> TopicImage | None:
        return self.by_id.get(topic_id)

    def get_by_name(self, name: str) -> TopicImage | None:
        return self.by_name.get(name)

    def partition(self, topic_id: uuid.UUID, partition_id: int) -> PartitionRegistration | None:
        topic = self.by_id.get(topic_id)
        return None if topic is None else topic.partitions.get(partition_id)

    def to_records(self, metadata_version: MetadataVersion) -> Iterator[VersionedRecord]:
        for name in sorted(self.by_name):
            yield from self.by_name[name].to_records(metadata_version)


EMPTY_TOPICS = TopicsImage()


class PartitionInfo(msgspec.Struct, frozen=True):
    """A partition of interest to a broker: its topic id and its new registration."""

    topic_id: uuid.UUID
    partition: PartitionRegistration


class LocalReplicaChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What a metadata delta asks of one broker (Kafka's ``LocalReplicaChanges``).

    * ``deletes``: partitions the broker no longer hosts (reassigned away, or their
      topic deleted);
    * ``leaders``: partitions it leads whose state changed (partition epoch moved);
    * ``elected_leaders``: the part of ``leaders`` where the leader epoch moved, i.e.
      where the broker just became (or was re-elected) leader;
    * ``followers``: partitions it follows whose state changed;
    * ``topic_ids``: topic name -> id for the topics in ``leaders`` and ``followers``;
    * ``directory_ids``: the log directory of each new or moved local replica.
    """

    deletes: frozenset[TopicPartition]
    elected_leaders: Mapping[TopicPartition, PartitionInfo]
    leaders: Mapping[TopicPartition, PartitionInfo]
    followers: Mapping[TopicPartition, PartitionInfo]
    topic_ids: Mapping[str, uuid.UUID]
    directory_ids: Mapping[tuple[uuid.UUID, int], uuid.UUID]


class _LocalChangesBuilder:
    def __init__(self) -> None:
        self.deletes: set[TopicPartition] = set()
        self.elected_leaders: dict[TopicPartition, PartitionInfo] = {}
        self.leaders: dict[TopicPartition, PartitionInfo] = {}
        self.followers: dict[TopicPartition, PartitionInfo] = {}
        self.topic_ids: dict[str, uuid.UUID] = {}
        self.directory_ids: dict[tuple[uuid.UUID, int], uuid.UUID] = {}

    def build(self) -> LocalReplicaChanges:
        return LocalReplicaChanges(
            deletes=frozenset(self.deletes),
            elected_leaders=self.elected_leaders,
            leaders=self.leaders,
            followers=self.followers,
            topic_ids=self.topic_ids,
            directory_ids=self.directory_ids,
        )


class TopicDelta:
    """Partition changes on top of one :class:`TopicImage`."""

    def __init__(self, image: TopicImage) -> None:
        self.image = image
        #: Partition id -> its registration after this delta.
        self.partition_changes: dict[int, PartitionRegistration] = {}
        #: Partitions of the image that this delta removes. No record removes a single
        #: partition; only a snapshot that lacks one does.
        self.removed_partitions: set[int] = set()

    @classmethod
    def from_snapshot(cls, image: TopicImage, snapshot: TopicImage) -> TopicDelta:
        """From ``image`` to the same topic in a snapshot: the partitions that differ."""
        delta = cls(image)
        for partition_id, change in differences(image.partitions, snapshot.partitions).items():
            if change is None:
                delta.removed_partitions.add(partition_id)
            else:
                delta.partition_changes[partition_id] = change
        return delta

    @property
    def name(self) -> str:
        return self.image.name

    @property
    def topic_id(self) -> uuid.UUID:
        return self.image.topic_id

    def partition(self, partition_id: int) -> PartitionRegistration | None:
        """The partition as of this delta."""
        found = self.partition_changes.get(partition_id)
        if found is not None or partition_id in self.removed_partitions:
            return found
        return self.image.partitions.get(partition_id)

    def new_partitions(self) -> dict[int, PartitionRegistration]:
        """Partitions this delta created."""
        return {
            pid: part
            for pid, part in self.partition_changes.items()
            if pid not in self.image.partitions
        }

    def replay_partition(self, record: PartitionRecord) -> None:
        self.partition_changes[record.partition_id] = PartitionRegistration.from_record(record)
        self.removed_partitions.discard(record.partition_id)

    def replay_partition_change(self, record: PartitionChangeRecord) -> None:
        partition = self.partition(record.partition_id)
        if partition is None:
            raise MetadataReplayError(
                f"unable to find partition {record.topic_id}:{record.partition_id}"
            )
        self.partition_changes[record.partition_id] = partition.merge(record)

    def apply(self) -> TopicImage:
        if not self.partition_changes and not self.removed_partitions:
            return self.image
        partitions = {**self.image.partitions, **self.partition_changes}
        for partition_id in self.removed_partitions:
            del partitions[partition_id]
        return TopicImage(name=self.image.name, topic_id=self.image.topic_id, partitions=partitions)

    def _local_changes(self, broker_id: int, out: _LocalChangesBuilder) -> None:
        for partition_id in self.removed_partitions:
            if broker_id in self.image.partitions[partition_id].replicas:
                out.deletes.add(TopicPartition(self.name, partition_id))
        for partition_id, partition in self.partition_changes.items():
            tp = TopicPartition(self.name, partition_id)
            previous = self.image.partitions.get(partition_id)
            if broker_id not in partition.replicas:
                if previous is not None and broker_id in previous.replicas:
                    out.deletes.add(tp)
                continue
            changed = previous is None or previous.partition_epoch != partition.partition_epoch
            if changed:
                info = PartitionInfo(self.topic_id, partition)
                if partition.leader == broker_id:
                    out.leaders[tp] = info
                    if previous is None or previous.leader_epoch != partition.leader_epoch:
                        out.elected_leaders[tp] = info
                else:
                    out.followers[tp] = info
                out.topic_ids.setdefault(self.name, self.topic_id)
            directory = partition.directory(broker_id)
            if (
                previous is None
                or broker_id not in previous.replicas
                or (previous.directory(broker_id) != directory)
            ):
                out.directory_ids[(self.topic_id, partition_id)] = directory


class TopicsDelta:
    """Topic creations, deletions and partition changes on top of a :class:`TopicsImage`.

    A topic created and deleted within one delta leaves no trace in it.
    """

    def __init__(self, image: TopicsImage) -> None:
        self.image = image
        #: Topic id -> its delta, for topics created or changed (never deleted ones, but
        #: for an id that a snapshot names differently: both deleted and created).
        self.changed_topics: dict[uuid.UUID, TopicDelta] = {}
        #: Ids of topics of the image that this delta deletes.
        self.deleted_topic_ids: set[uuid.UUID] = set()
        self.created_topic_ids: set[uuid.UUID] = set()

    @classmethod
    def from_snapshot(cls, image: TopicsImage, snapshot: TopicsImage) -> TopicsDelta:
        """From ``image`` to ``snapshot``: topics and partitions it lacks are deleted.

        Kafka's ``TopicsDelta.finishSnapshot``. A topic of both keeps only the partition
        changes, so :meth:`local_changes` asks a broker to act on what changed and to
        delete what it no longer hosts, not to reopen everything. An id that comes back
        under another name (never written by a controller) counts as a deletion and a
        creation.
        """
        delta = cls(image)
        for topic_id, old in image.by_id.items():
            kept = snapshot.by_id.get(topic_id)
            if kept is None or kept.name != old.name:
                delta.deleted_topic_ids.add(topic_id)
        for topic_id, new in snapshot.by_id.items():
            existing = image.by_id.get(topic_id)
            if existing is None or topic_id in delta.deleted_topic_ids:
                existing = TopicImage(name=new.name, topic_id=topic_id)
                delta.created_topic_ids.add(topic_id)
            elif existing == new:
                continue
            delta.changed_topics[topic_id] = TopicDelta.from_snapshot(existing, new)
        return delta

    def topic(self, topic_id: uuid.UUID) -> TopicImage | None:
        """The topic as of this delta (partition changes applied), or None if absent."""
        delta = self.changed_topics.get(topic_id)
        if delta is not None:
            return delta.apply()
        if topic_id in self.deleted_topic_ids:
            return None
        return self.image.by_id.get(topic_id)

    def _name_in_use(self, name: str) -> bool:
        existing = self.image.by_name.get(name)
        if existing is not None and existing.topic_id not in self.deleted_topic_ids:
            return True
        created = (self.changed_topics[tid] for tid in self.created_topic_ids)
        return any(d.name == name for d in created)

    def replay_topic(self, record: TopicRecord) -> None:
        if self.topic(record.topic_id) is not None or self._name_in_use(record.name):
            raise MetadataReplayError(
                f"topic {record.name} ({record.topic_id}) already exists: name and id must be "
                "unique"
            )
        self.changed_topics[record.topic_id] = TopicDelta(
            TopicImage(name=record.name, topic_id=record.topic_id)
        )
        self.created_topic_ids.add(record.topic_id)

    def _topic_delta(self, topic_id: uuid.UUID) -> TopicDelta:
        delta = self.changed_topics.get(topic_id)
        if delta is None:
            image = None if topic_id in self.deleted_topic_ids else self.image.by_id.get(topic_id)
            if image is None:
                raise MetadataReplayError(f"no topic with id {topic_id}")
            delta = self.changed_topics[topic_id] = TopicDelta(image)
        return delta

    def replay_partition(self, record: PartitionRecord) -> None:
        self._topic_delta(record.topic_id).replay_partition(record)

    def replay_partition_change(self, record: PartitionChangeRecord) -> None:
        self._topic_delta(record.topic_id).replay_partition_change(record)

    def replay_remove_topic(self, record: RemoveTopicRecord) -> str:
        """Delete a topic; returns its name, whose configs go with it."""
        delta = self.changed_topics.pop(record.topic_id, None)
        if delta is not None:
            self.created_topic_ids.discard(record.topic_id)
            if record.topic_id in self.image.by_id:
                self.deleted_topic_ids.add(record.topic_id)
            return delta.name
        image = self.image.by_id.get(record.topic_id)
        if image is None or record.topic_id in self.deleted_topic_ids:
            raise MetadataReplayError(
                f"unable to delete topic with id {record.topic_id}: no such topic found"
            )
        self.deleted_topic_ids.add(record.topic_id)
        return image.name

    def topic_was_deleted(self, name: str) -> bool:
        """True if the image's topic ``name`` is deleted (even if a new topic took the name)."""
        existing = self.image.by_name.get(name)
        return existing is not None and existing.topic_id in self.deleted_topic_ids

    def apply(self) -> TopicsImage:
        if not self.changed_topics and not self.deleted_topic_ids:
            return self.image
        by_id = dict(self.image.by_id)
        by_name = dict(self.image.by_name)
        for topic_id in self.deleted_topic_ids:
            removed = by_id.pop(topic_id)
            if by_name.get(removed.name) is removed:
                del by_name[removed.name]
        for topic_id, delta in self.changed_topics.items():
            topic = delta.apply()
            by_id[topic_id] = topic
            by_name[topic.name] = topic
        return TopicsImage(by_id=by_id, by_name=by_name)

    def local_changes(self, broker_id: int) -> LocalReplicaChanges:
        """What this delta asks of broker ``broker_id``."""
        out = _LocalChangesBuilder()
        for delta in self.changed_topics.values():
            delta._local_changes(broker_id, out)
        for topic_id in self.deleted_topic_ids:
            topic = self.image.by_id[topic_id]
            for partition_id, partition in topic.partitions.items():
                if broker_id in partition.replicas:
                    out.deletes.add(TopicPartition(topic.name, partition_id))
        return out.build()
