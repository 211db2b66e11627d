"""Kafka's small text files that record offsets: checkpoints and ``partition.metadata``.

Checkpoint files (Kafka's ``CheckpointFile``, ``OffsetCheckpointFile`` and
``LeaderEpochCheckpointFile``) are text: a version line, an entry count line, then one
line per entry with fields separated by a space::

    0
    2
    my-topic 0 1234
    my-topic 1 99

That shape is shared by the per-log-dir files ``recovery-point-offset-checkpoint``,
``log-start-offset-checkpoint``, ``replication-offset-checkpoint`` and
``cleaner-offset-checkpoint`` (entries ``topic partition offset``) and by each partition's
``leader-epoch-checkpoint`` (entries ``epoch start_offset``). All are version 0. A file
whose entry count disagrees with its lines is rejected, and each is replaced atomically
(:func:`odradek.storage.log_files.write_atomically`).

``partition.metadata`` records the topic id of a partition directory::

    version: 0
    topic_id: <22-character base64 id>
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from odradek.storage.log_files import write_atomically

CHECKPOINT_VERSION = 0

RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
REPLICATION_OFFSET_CHECKPOINT = "replication-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
PARTITION_METADATA = "partition.metadata"


class CheckpointError(Exception):
    """A checkpoint file that does not parse."""


class TopicPartition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}-{self.partition}"

    @property
    def dir_name(self) -> str:
        """The partition's directory name in a log dir: ``<topic>-<partition>``."""
        return f"{self.topic}-{self.partition}"

    @classmethod
    def from_dir_name(cls, name: str) -> TopicPartition:
        """Parse ``<topic>-<partition>``, or ``<topic>-<partition>.<id>-delete`` (also
        ``-future``, ``-stray``): a directory renamed for deletion or a move."""
        if name.endswith(("-delete", "-future", "-stray")) and "." in name:
            name = name[: name.rindex(".")]
        topic, sep, partition = name.rpartition("-")
        if not sep or not topic or not partition.isdigit():
            raise ValueError(f"{name!r} is not a <topic>-<partition> directory name")
        return cls(topic, int(partition))


def read_checkpoint(path: Path, fields: int) -> list[list[str]]:
    """The entries of a checkpoint file, each split into ``fields`` strings.

    A missing or empty file has no entries, as in Kafka.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    lines = text.splitlines()
    if not lines:
        return []
    try:
        version = int(lines[0])
    except ValueError:
        raise CheckpointError(f"malformed version line in {path}: {lines[0]!r}") from None
    if version != CHECKPOINT_VERSION:
        raise CheckpointError(f"unrecognised version {version} in checkpoint {path}")
    if len(lines) < 2:
        return []
    try:
        expected = int(lines[1])
    except ValueError:
        raise CheckpointError(f"malformed size line in {path}: {lines[1]!r}") from None
    entries = []
    for line in lines[2:]:
        parts = line.split()
        if len(parts) != fields:
            raise CheckpointError(f"malformed line in checkpoint {path}: {line!r}")
        entries.append(parts)
    if len(entries) != expected:
        raise CheckpointError(f"expected {expected} entries in {path}, found {len(entries)}")
    return entries


def write_checkpoint(path: Path, lines: Iterable[str], *, sync: bool = True) -> None:
    body = list(lines)
    text = f"{CHECKPOINT_VERSION}\n{len(body)}\n" + "".join(line + "\n" for line in body)
    write_atomically(path, text.encode("utf-8"), sync=sync)


def read_offset_checkpoint(path: Path) -> dict[TopicPartition, int]:
    result = {}
    for topic, partition, offset in read_checkpoint(path, 3):
        try:
            result[TopicPartition(topic, int(partition))] = int(offset)
        except ValueError:
            raise CheckpointError(
                f"malformed entry in {path}: {topic} {partition} {offset}"
            ) from None
    return result


def write_offset_checkpoint(path: Path, offsets: Mapping[TopicPartition, int]) -> None:
    write_checkpoint(path, (f"{tp.topic} {tp.partition} {off}" for tp, off in offsets.items()))


class EpochEntry(NamedTuple):
    epoch: int
    start_offset: int


def read_leader_epoch_checkpoint(path: Path) -> list[EpochEntry]:
    try:
        return [EpochEntry(int(e), int(o)) for e, o in read_checkpoint(path, 2)]
    except ValueError:
        raise CheckpointError(f"malformed entry in leader epoch checkpoint {path}") from None


def write_leader_epoch_checkpoint(
    path: Path, entries: Iterable[EpochEntry], *, sync: bool = True
) -> None:
    write_checkpoint(path, (f"{e.epoch} {e.start_offset}" for e in entries), sync=sync)


def topic_id_to_string(topic_id: uuid.UUID) -> str:
    """Kafka's ``Uuid.toString``: URL-safe base64 of the 16 bytes, without padding."""
    return base64.urlsafe_b64encode(topic_id.bytes).decode("ascii").rstrip("=")


def topic_id_from_string(text: str) -> uuid.UUID:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(raw) != 16:
        raise ValueError(f"{text!r} is not a 16-byte id")
    return uuid.UUID(bytes=raw)


def read_partition_metadata(path: Path) -> uuid.UUID | None:
    """The topic id in a ``partition.metadata`` file, or None if there is none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    try:
        key, _, version = lines[0].partition(": ")
        if key != "version" or int(version) < 0:
            raise ValueError(lines[0])
        key, _, value = lines[1].partition(": ")
        if key != "topic_id":
            raise ValueError(lines[1])
        topic_id = topic_id_from_string(value.strip())
    except (IndexError, ValueError) as exc:
        raise CheckpointError(f"malformed partition metadata {path}: {exc}") from None
    if topic_id.int == 0:
        raise CheckpointError(f"partition metadata {path} has the zero topic id")
    return topic_id


def write_partition_metadata(path: Path, topic_id: uuid.UUID) -> None:
    text = f"version: 0\ntopic_id: {topic_id_to_string(topic_id)}"
    write_atomically(path, text.encode("utf-8"))
