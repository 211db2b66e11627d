"""Snapshot files: Kafka's names, and Kafka's layout of header, records and footer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odradek.protocol.codec import decode
from odradek.protocol.messages.clients.snapshot_footer_record import SnapshotFooterRecord
from odradek.protocol.messages.clients.snapshot_header_record import SnapshotHeaderRecord
from odradek.protocol.primitives import DecodeError
from odradek.protocol.records.batch import iter_batches
from odradek.protocol.records.control import ControlRecordType, control_record
from odradek.raft.memory_log import MemoryRaftLog
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.snapshots import (
    SnapshotWriter,
    parse_snapshot_file_name,
    read_snapshot,
    snapshot_file_name,
)


def test_names_are_kafkas() -> None:
    snapshot_id = OffsetAndEpoch(12345, 7)
    assert snapshot_file_name(snapshot_id) == "00000000000000012345-0000000007.checkpoint"
    parsed = parse_snapshot_file_name("00000000000000012345-0000000007.checkpoint.part")
    assert parsed is not None
    assert parsed.snapshot_id == snapshot_id
    assert parsed.partial
    assert parse_snapshot_file_name("00000000000000012345.log") is None
    assert parse_snapshot_file_name("leader-epoch-checkpoint") is None


@given(
    st.integers(0, 10**19), st.integers(0, 2**31 - 1), st.sampled_from(["", ".part", ".deleted"])
)
def test_names_round_trip(offset: int, epoch: int, extra: str) -> None:
    name = snapshot_file_name(OffsetAndEpoch(offset, epoch)) + extra
    parsed = parse_snapshot_file_name(name)
    assert parsed is not None
    assert parsed.snapshot_id == (offset, epoch)
    assert (parsed.partial, parsed.deleted) == (extra == ".part", extra == ".deleted")


def _write(records: list[bytes]) -> bytes:
    log = MemoryRaftLog()
    raw = log.create_snapshot(OffsetAndEpoch(40, 3))
    assert raw is not None
    writer = SnapshotWriter(raw, last_contained_log_time_ms=1234, append_time_ms=5678)
    writer.append(records)
    writer.freeze()
    reader = log.read_snapshot(OffsetAndEpoch(40, 3))
    assert reader is not None
    return reader.read(0, reader.size())


def test_layout_is_header_records_footer() -> None:
    batches = list(iter_batches(_write([b"a", b"bb", b"ccc"])))
    assert [b.base_offset for b in batches] == [0, 1, 4]
    assert all(b.partition_leader_epoch == 3 for b in batches)
    header_key, header_value = control_record(batches[0])
    assert header_key.type == ControlRecordType.SNAPSHOT_HEADER
    header = decode(SnapshotHeaderRecord, header_value or b"", 0)
    assert (header.version, header.last_contained_log_timestamp) == (0, 1234)
    assert [r.value for r in batches[1].records] == [b"a", b"bb", b"ccc"]
    assert not batches[1].is_control
    footer_key, footer_value = control_record(batches[2])
    assert footer_key.type == ControlRecordType.SNAPSHOT_FOOTER
    assert decode(SnapshotFooterRecord, footer_value or b"", 0).version == 0


def test_read_back() -> None:
    log = MemoryRaftLog()
    raw = log.create_snapshot(OffsetAndEpoch(9, 1))
    assert raw is not None
    writer = SnapshotWriter(raw, last_contained_log_time_ms=99, append_time_ms=100)
    writer.append([b"one"])
    writer.append([b"two", b"three"])
    writer.freeze()
    reader = log.read_snapshot(OffsetAndEpoch(9, 1))
    assert reader is not None
    contents = read_snapshot(reader)
    assert contents.records == [b"one", b"two", b"three"]
    assert contents.last_contained_log_time_ms == 99
    with pytest.raises(ValueError, match="frozen"):
        writer.append([b"late"])


def test_a_snapshot_without_its_footer_is_refused() -> None:
    log = MemoryRaftLog()
    raw = log.create_snapshot(OffsetAndEpoch(9, 1))
    assert raw is not None
    SnapshotWriter(raw, last_contained_log_time_ms=0, append_time_ms=0).append([b"x"])
    raw.freeze()  # frozen without the footer SnapshotWriter.freeze would add
    reader = log.read_snapshot(OffsetAndEpoch(9, 1))
    assert reader is not None
    with pytest.raises(DecodeError, match="footer"):
        read_snapshot(reader)
