"""The log: appends, reads, rolls, truncation, offsets and flushing."""

from __future__ import annotations

import itertools
import os
import struct
from pathlib import Path

import pytest

from odradek.protocol.records.batch_header import read_header
from odradek.storage.config import LogConfig
from odradek.storage.errors import (
    CorruptRecordError,
    InvalidRecordError,
    MessageTooLargeError,
    OffsetOutOfRangeError,
    RecordBatchTooLargeError,
    UnexpectedAppendOffsetError,
)
from odradek.storage.log import FetchIsolation, Log
from odradek.storage.segment import LogOffsetMetadata
from tests.storage.batches import batch, decode, read_batches, read_records


class Clock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def open_log(path: Path, clock: Clock | None = None, **config: object) -> Log:
    return Log.open(
        path / "topic-0", LogConfig().with_overrides(**config), time_ms=clock or Clock()
    )


def test_leader_appends_get_consecutive_offsets_and_the_epoch(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    first = log.append_as_leader(batch([b"a", b"b", b"c"]), leader_epoch=4)
    second = log.append_as_leader(bytes(batch([b"d"])), leader_epoch=4)
    assert (first.first_offset, first.last_offset) == (0, 2)
    assert (second.first_offset, second.last_offset) == (3, 3)
    assert log.log_end_offset == 4
    stored = read_batches(log)
    assert [(b.base_offset, b.partition_leader_epoch) for b in stored] == [(0, 4), (3, 4)]
    assert [r.value for r in read_records(log)] == [b"a", b"b", b"c", b"d"]
    assert log.leader_epochs.entries()[0] == (4, 0)


def test_appending_stamps_the_callers_buffer_in_place(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append_as_leader(batch([b"x"]), leader_epoch=0)
    data = batch([b"y"])
    log.append_as_leader(data, leader_epoch=1)
    header = read_header(data)
    assert (header.base_offset, header.partition_leader_epoch) == (1, 1)


def test_one_append_writes_several_batches(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    data = batch([b"a", b"b"]) + batch([b"c"]) + batch([b"d", b"e", b"f"])
    info = log.append_as_leader(data, leader_epoch=0)
    assert (info.first_offset, info.last_offset) == (0, 5)
    assert [b.base_offset for b in read_batches(log)] == [0, 2, 3]


def test_follower_appends_keep_offsets_and_check_them(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append_as_follower(batch([b"a", b"b"], base_offset=10, leader_epoch=2))
    assert log.log_end_offset == 12
    with pytest.raises(UnexpectedAppendOffsetError):
        log.append_as_follower(batch([b"c"], base_offset=11, leader_epoch=2))
    with pytest.raises(InvalidRecordError, match="not increasing"):
        log.append_as_follower(
            batch([b"c"], base_offset=20, leader_epoch=2) + batch([b"d"], base_offset=15)
        )
    bad = batch([b"c"], base_offset=12)
    bad[-1] ^= 1
    with pytest.raises(CorruptRecordError):
        log.append_as_follower(bad)
    assert log.log_end_offset == 12


def test_malformed_and_oversized_appends_are_refused(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=10_000, max_message_bytes=500)
    with pytest.raises(CorruptRecordError):
        log.append_as_leader(batch([b"a"])[:-3], leader_epoch=0)
    with pytest.raises(InvalidRecordError):
        log.append_as_leader(b"", leader_epoch=0)
    with pytest.raises(MessageTooLargeError):
        log.append_as_leader(batch([b"x" * 600]), leader_epoch=0)
    with pytest.raises(RecordBatchTooLargeError):
        log.append_as_leader(b"".join(batch([b"x" * 400]) for _ in range(30)), leader_epoch=0)
    assert log.log_end_offset == 0


def test_read_returns_whole_batches_from_the_one_holding_the_offset(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for i in range(10):
        log.append_as_leader(batch([b"%d-%d" % (i, j) for j in range(3)]), leader_epoch=0)
    info = log.read(16, 10_000)
    assert info.fetch_offset_metadata.message_offset == 16
    batches = decode(info.read())
    assert batches[0].base_offset == 15
    # A region is a file range: what sendfile would send.
    region = info.region
    assert os.pread(region.fd, region.size, region.position) == info.read()


def test_max_bytes_and_min_one_message(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for _ in range(3):
        log.append_as_leader(batch([b"x" * 100]), leader_epoch=0)
    size = len(batch([b"x" * 100]))
    # Without min_one_message the read is cut mid-batch and flagged, as in Kafka: the
    # fetch path then answers with no records.
    partial = log.read(0, 10, min_one_message=False)
    assert partial.first_entry_incomplete
    assert partial.region.size == 10
    assert len(log.read(0, 10).read()) == size
    assert len(log.read(0, size * 2 + 5).read()) == size * 2 + 5  # a partial batch at the end


def test_reads_outside_the_log_are_out_of_range(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append_as_leader(batch([b"a"]), leader_epoch=0)
    assert log.read(1, 100).read() == b""  # the log end itself: empty
    with pytest.raises(OffsetOutOfRangeError):
        log.read(2, 100)
    log.update_high_watermark(1)
    log.maybe_increment_log_start_offset(1)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(0, 100)


def test_high_watermark_bounds_consumer_reads(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for i in range(5):
        log.append_as_leader(batch([b"%d" % i]), leader_epoch=0)
    assert log.high_watermark == 0
    assert log.read(0, 10_000, FetchIsolation.HIGH_WATERMARK).read() == b""
    log.update_high_watermark(3)
    assert [r.offset for r in read_records(log, 0, FetchIsolation.HIGH_WATERMARK)] == [0, 1, 2]
    assert len(read_records(log, 0, FetchIsolation.LOG_END)) == 5
    assert log.update_high_watermark(100) == 5  # clamped to the log end
    assert log.maybe_increment_high_watermark(LogOffsetMetadata(4)) is None  # never backwards


def test_segments_roll_on_size_and_keep_kafka_file_names(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=1_000)
    size = len(batch([b"x" * 200]))
    for _ in range(10):
        log.append_as_leader(batch([b"x" * 200]), leader_epoch=0)
    per_segment = 1_000 // size
    assert [s.base_offset for s in log.segments] == list(range(0, 10, per_segment))
    names = sorted(p.name for p in log.directory.iterdir())
    assert "00000000000000000000.log" in names
    assert f"{per_segment:020d}.index" in names
    assert f"{per_segment:020d}.snapshot" in names  # producer state at each roll
    # A closed segment's indexes are trimmed to their entries.
    first = log.segments.first()
    assert first is not None
    assert first.offset_index_path.stat().st_size == first.offset_index.entries * 8
    assert log.recovery_point == log.active_segment.base_offset  # flushed on roll


def test_segments_roll_on_time(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock, segment_ms=1_000)
    log.append_as_leader(batch([b"a"], timestamp=5_000), leader_epoch=0)
    log.append_as_leader(batch([b"b"], timestamp=5_500), leader_epoch=0)
    assert len(log.segments) == 1
    # The clock for rolling is the first batch's timestamp, as in Kafka.
    log.append_as_leader(batch([b"c"], timestamp=6_001), leader_epoch=0)
    assert [s.base_offset for s in log.segments] == [0, 2]


def test_segments_roll_when_the_index_is_full(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_index_bytes=8 * 3, index_interval_bytes=1)
    for _ in range(12):
        log.append_as_leader(batch([b"a"]), leader_epoch=0)
    assert len(log.segments) > 1
    assert [r.offset for r in read_records(log)] == list(range(12))


def test_sparse_index_entries_every_interval(tmp_path: Path) -> None:
    log = open_log(tmp_path, index_interval_bytes=300)
    size = len(batch([b"x" * 100]))
    for _ in range(20):
        log.append_as_leader(batch([b"x" * 100]), leader_epoch=0)
    index = log.active_segment.offset_index
    positions = [index.entry(i).position for i in range(index.entries)]
    gaps = {b - a for a, b in itertools.pairwise(positions)}
    assert gaps == {size * (300 // size + 1)}
    for i in range(index.entries):
        offset, position = index.entry(i)
        assert read_header(log.active_segment.log.read(position, 61)).last_offset == offset


def test_find_offset_by_timestamp(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=600, index_interval_bytes=50)
    for i in range(20):
        log.append_as_leader(batch([b"a", b"b"], timestamp=1_000 + 10 * i, timestamp_step=5), 3)
    found = log.fetch_offset_by_timestamp(1_052)
    assert found is not None
    assert (found.timestamp, found.offset) == (1_055, 11)
    assert log.fetch_offset_by_timestamp(1_000) == (1_000, 0, 3)
    assert log.fetch_offset_by_timestamp(5_000) is None
    assert log.fetch_offset_by_timestamp(-1) == (-1, 40, 3)  # latest
    assert log.fetch_offset_by_timestamp(-2) == (-1, 0, 3)  # earliest
    max_ts = log.fetch_offset_by_timestamp(-3)
    assert max_ts is not None
    assert (max_ts.timestamp, max_ts.offset) == (1_195, 39)


def test_truncate_to_removes_whole_batches(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=700)
    for i in range(12):
        log.append_as_leader(batch([b"%d" % i, b"%d" % i]), leader_epoch=i // 4)
    assert log.truncate_to(13)  # inside the batch 12-13: that batch goes whole
    assert log.log_end_offset == 12
    assert [r.offset for r in read_records(log)] == list(range(12))
    assert log.leader_epochs.latest_epoch() == 1
    assert not log.truncate_to(50)
    info = log.append_as_leader(batch([b"new"]), leader_epoch=7)
    assert info.first_offset == 12


def test_truncate_fully_and_start_at(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=700)
    for _ in range(12):
        log.append_as_leader(batch([b"a"]), leader_epoch=0)
    log.truncate_fully_and_start_at(500)
    assert (log.log_start_offset, log.log_end_offset) == (500, 500)
    assert [s.base_offset for s in log.segments] == [500]
    log.append_as_follower(batch([b"b"], base_offset=500, leader_epoch=3))
    assert read_records(log)[0].offset == 500


def test_moving_the_log_start_offset(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=400)
    for _ in range(12):
        log.append_as_leader(batch([b"a" * 30]), leader_epoch=0)
    with pytest.raises(OffsetOutOfRangeError):
        log.maybe_increment_log_start_offset(5)  # past the high watermark
    log.update_high_watermark(12)
    assert log.maybe_increment_log_start_offset(5)
    assert not log.maybe_increment_log_start_offset(3)
    assert read_records(log)[0].offset == 5
    deleted = log.delete_old_segments()
    assert deleted > 0
    first = log.segments.first()
    assert first is not None
    assert first.base_offset <= 5
    assert log.log_start_offset == 5


def test_flush_messages_moves_the_recovery_point(tmp_path: Path) -> None:
    log = open_log(tmp_path, flush_messages=3)
    for _ in range(2):
        log.append_as_leader(batch([b"a"]), leader_epoch=0)
    assert log.recovery_point == 0
    log.append_as_leader(batch([b"a"]), leader_epoch=0)
    assert log.recovery_point == 3


def test_flush_ms(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock, flush_ms=100)
    log.append_as_leader(batch([b"a"]), leader_epoch=0)
    assert not log.maybe_flush()
    clock.now += 100
    assert log.maybe_flush()
    assert log.recovery_point == 1


def test_log_append_time_topics_stamp_the_time(tmp_path: Path) -> None:
    clock = Clock(77_777)
    log = open_log(tmp_path, clock, message_timestamp_type="LogAppendTime")
    info = log.append_as_leader(batch([b"a", b"b"], timestamp=5), leader_epoch=0)
    assert info.log_append_time == 77_777
    (stored,) = read_batches(log)
    assert stored.is_log_append_time
    assert stored.max_timestamp == 77_777
    assert [stored.timestamp_of(r) for r in stored.records] == [77_777, 77_777]


def test_the_partition_metadata_file_holds_the_topic_id(tmp_path: Path) -> None:
    import uuid

    from odradek.storage.errors import InconsistentTopicIdError

    topic_id = uuid.uuid4()
    log = Log.open(tmp_path / "t-3", topic_id=topic_id)
    log.close()
    assert Log.open(tmp_path / "t-3").topic_id == topic_id
    with pytest.raises(InconsistentTopicIdError):
        Log.open(tmp_path / "t-3", topic_id=uuid.uuid4())


def test_segment_files_are_named_after_twenty_digit_offsets(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.truncate_fully_and_start_at(12_345_678_901)
    log.append_as_leader(batch([b"a"]), leader_epoch=0)
    assert (log.directory / "00000012345678901.log".rjust(24, "0")).exists()
    raw = (log.directory / "00000000012345678901.log").read_bytes()
    assert struct.unpack_from(">q", raw, 0)[0] == 12_345_678_901


def test_epochs_answer_offsets_for_leader_epoch(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for epoch in (1, 1, 3, 3, 3, 6):
        log.append_as_leader(batch([b"x"]), leader_epoch=epoch)
    assert log.latest_epoch == 6
    assert log.end_offset_for_epoch(1) == (1, 2)
    assert log.end_offset_for_epoch(2) == (1, 2)
    assert log.end_offset_for_epoch(6) == (6, 6)
    assert log.end_offset_for_epoch(7) is None
    log.maybe_assign_epoch_start_offset(8, log.log_end_offset)  # a new leader, no data yet
    assert log.end_offset_for_epoch(6) == (6, 6)
    assert not log.truncate_to(6)  # nothing to remove, but the empty epoch goes
    assert log.latest_epoch == 6


def test_followers_take_the_leaders_high_watermark(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    changes: list[int] = []
    log.on_high_watermark_updated = changes.append
    for i in range(4):
        log.append_as_follower(batch([b"x"], base_offset=i, leader_epoch=0))
    assert log.maybe_update_high_watermark(3) == 3
    assert log.maybe_update_high_watermark(3) is None
    assert log.maybe_update_high_watermark(99) == 4  # never past the log end
    assert changes == [3, 3, 4]
    assert log.log_end_offset_metadata.message_offset == 4


def test_a_region_can_be_read_into_a_reused_buffer(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for _ in range(3):
        log.append_as_leader(batch([b"abc" * 20]), leader_epoch=0)
    info = log.read(0, 10_000)
    buffer = bytearray(1 << 16)
    n = info.region.read_into(buffer)
    assert bytes(buffer[:n]) == info.read()
    assert [b.base_offset for b in decode(bytes(buffer[:n]))] == [0, 1, 2]
