"""Checkpoint files, partition.metadata, meta.properties and producer snapshots: Kafka's bytes."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import crc32c
import pytest

from odradek.storage import producer_snapshot
from odradek.storage.checkpoints import (
    CheckpointError,
    EpochEntry,
    TopicPartition,
    read_leader_epoch_checkpoint,
    read_offset_checkpoint,
    read_partition_metadata,
    topic_id_from_string,
    topic_id_to_string,
    write_leader_epoch_checkpoint,
    write_offset_checkpoint,
    write_partition_metadata,
)
from odradek.storage.meta_properties import (
    MetaProperties,
    read_meta_properties,
    write_meta_properties,
)


def test_offset_checkpoint_text_format(tmp_path: Path) -> None:
    path = tmp_path / "recovery-point-offset-checkpoint"
    offsets = {TopicPartition("orders", 0): 1234, TopicPartition("my-topic", 11): 7}
    write_offset_checkpoint(path, offsets)
    assert path.read_text() == "0\n2\norders 0 1234\nmy-topic 11 7\n"
    assert read_offset_checkpoint(path) == offsets
    assert not (tmp_path / "recovery-point-offset-checkpoint.tmp").exists()


def test_missing_or_empty_checkpoint_has_no_entries(tmp_path: Path) -> None:
    assert read_offset_checkpoint(tmp_path / "absent") == {}
    (tmp_path / "empty").write_text("")
    assert read_offset_checkpoint(tmp_path / "empty") == {}


@pytest.mark.parametrize(
    "text",
    ["1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt 0\n", "0\nx\n", "0\n1\nt zero 1\n"],
)
def test_malformed_checkpoints_are_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cp"
    path.write_text(text)
    with pytest.raises(CheckpointError):
        read_offset_checkpoint(path)


def test_leader_epoch_checkpoint_format(tmp_path: Path) -> None:
    path = tmp_path / "leader-epoch-checkpoint"
    write_leader_epoch_checkpoint(path, [EpochEntry(0, 0), EpochEntry(3, 150)])
    assert path.read_text() == "0\n2\n0 0\n3 150\n"
    assert read_leader_epoch_checkpoint(path) == [EpochEntry(0, 0), EpochEntry(3, 150)]


def test_topic_ids_are_written_as_kafka_does() -> None:
    topic_id = uuid.UUID("0123456789abcdef0123456789abcdef")
    text = topic_id_to_string(topic_id)
    assert text == "ASNFZ4mrze8BI0VniavN7w"
    assert topic_id_from_string(text) == topic_id


def test_partition_metadata_format(tmp_path: Path) -> None:
    path = tmp_path / "partition.metadata"
    topic_id = uuid.uuid4()
    write_partition_metadata(path, topic_id)
    assert path.read_text() == f"version: 0\ntopic_id: {topic_id_to_string(topic_id)}"
    assert read_partition_metadata(path) == topic_id
    assert read_partition_metadata(tmp_path / "absent") is None
    path.write_text("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(CheckpointError, match="zero"):
        read_partition_metadata(path)


def test_meta_properties_round_trip_and_kafka_layout(tmp_path: Path) -> None:
    directory_id = uuid.uuid4()
    meta = MetaProperties("MkU3OEVBNTcwNTJENDM2Qk", 3, directory_id)
    write_meta_properties(tmp_path, meta)
    lines = (tmp_path / "meta.properties").read_text().splitlines()
    assert lines[0] == "#"
    assert lines[1].startswith("#")
    assert sorted(lines[2:]) == sorted(
        [
            "cluster.id=MkU3OEVBNTcwNTJENDM2Qk",
            f"directory.id={topic_id_to_string(directory_id)}",
            "node.id=3",
            "version=1",
        ]
    )
    assert read_meta_properties(tmp_path) == meta
    assert read_meta_properties(tmp_path / "nowhere") is None


def test_zookeeper_era_meta_properties_are_read(tmp_path: Path) -> None:
    (tmp_path / "meta.properties").write_text("#\nversion=0\nbroker.id=5\ncluster.id=abc\n")
    assert read_meta_properties(tmp_path) == MetaProperties("abc", 5, None, 0)


def test_producer_snapshot_layout_follows_the_spec() -> None:
    entry = producer_snapshot.SnapshotEntry(
        producer_id=42,
        epoch=3,
        last_sequence=99,
        last_offset=1000,
        offset_delta=4,
        timestamp=123456,
        coordinator_epoch=7,
        current_txn_first_offset=-1,
    )
    data = producer_snapshot.encode([entry])
    body = struct.pack(">i", 1) + struct.pack(">qhiqiqiq", *entry)
    assert data == struct.pack(">hI", 1, crc32c.crc32c(body)) + body
    assert producer_snapshot.decode(data) == [entry]


@pytest.mark.parametrize("cut", [0, 5, 10, 40])
def test_damaged_producer_snapshots_are_rejected(cut: int) -> None:
    entry = producer_snapshot.SnapshotEntry(1, 0, 5, 10, 0, 1, -1, -1)
    data = bytearray(producer_snapshot.encode([entry, entry._replace(producer_id=2)]))
    with pytest.raises(producer_snapshot.CorruptSnapshotError):
        producer_snapshot.decode(bytes(data[:cut]))
    data[-1] ^= 0xFF
    with pytest.raises(producer_snapshot.CorruptSnapshotError):
        producer_snapshot.decode(bytes(data))


def test_partition_directory_names() -> None:
    assert TopicPartition.from_dir_name("my.topic-12") == TopicPartition("my.topic", 12)
    assert TopicPartition.from_dir_name("a-b-0") == TopicPartition("a-b", 0)
    deleted = "my.topic-3.0123456789abcdef0123456789abcdef-delete"
    assert TopicPartition.from_dir_name(deleted) == TopicPartition("my.topic", 3)
    assert TopicPartition("t", 1).dir_name == "t-1"
    with pytest.raises(ValueError, match="partition"):
        TopicPartition.from_dir_name("no_partition")
