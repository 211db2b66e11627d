"""Retention by time, by size and by log start offset: whole segments from the head."""

from __future__ import annotations

from pathlib import Path

from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from tests.storage.batches import batch, read_records


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def filled(path: Path, clock: Clock, count: int = 30, **config: object) -> Log:
    log = Log.open(
        path / "t-0", LogConfig(segment_bytes=600).with_overrides(**config), time_ms=clock
    )
    for i in range(count):
        log.append_as_leader(batch([b"x" * 50], timestamp=100_000 + i * 1_000), leader_epoch=0)
    log.update_high_watermark(log.log_end_offset)
    return log


def test_retention_ms_deletes_segments_whose_newest_record_is_too_old(tmp_path: Path) -> None:
    clock = Clock()
    log = filled(tmp_path, clock, retention_ms=10_000_000)
    assert log.delete_old_segments() == 0
    log.update_config(log.config.with_overrides(retention_ms=clock.now - 100_000 - 10_500))
    # Records stamped 100_000 + 1_000 i: those up to i = 10 are past retention.
    deleted = log.delete_old_segments()
    assert deleted > 0
    survivors = read_records(log)
    assert survivors[0].offset == log.log_start_offset
    first = log.segments.first()
    assert first is not None
    assert first.base_offset == log.log_start_offset
    # The newest timestamp of every deleted segment was too old, of the first kept one not.
    assert 100_000 + (log.log_start_offset - 1) * 1_000 < 100_000 + 10_500 + 1_000
    assert first.largest_timestamp() >= 100_000 + 10_500


def test_retention_bytes_keeps_the_log_at_or_above_the_limit(tmp_path: Path) -> None:
    clock = Clock()
    log = filled(tmp_path, clock, retention_bytes=1_500, retention_ms=-1)
    before = log.size
    log.delete_old_segments()
    assert log.size >= 1_500
    first = log.segments.first()
    assert first is not None
    assert log.size - 1_500 < first.size  # deleting one more would go below
    assert log.size < before


def test_the_active_segment_and_unreplicated_data_are_kept(tmp_path: Path) -> None:
    clock = Clock()
    log = filled(tmp_path, clock, retention_ms=1)
    log.update_high_watermark(5)
    log.delete_old_segments()
    assert log.log_start_offset <= 5
    log.update_high_watermark(log.log_end_offset)
    log.delete_old_segments()
    # Everything expired, the active segment included: a fresh empty one takes over.
    assert log.log_start_offset == log.log_end_offset == 30
    assert len(log.segments) == 1
    assert log.active_segment.size == 0
    assert log.delete_old_segments() == 0  # an empty active segment is never deleted


def test_compact_only_topics_ignore_time_and_size(tmp_path: Path) -> None:
    clock = Clock()
    log = filled(tmp_path, clock, retention_ms=1, retention_bytes=1, cleanup_policy=("compact",))
    assert log.delete_old_segments() == 0
    log.maybe_increment_log_start_offset(20)  # but not the log start offset
    assert log.delete_old_segments() > 0
    first = log.segments.first()
    assert first is not None
    assert first.base_offset <= 20


def test_deleted_segments_linger_as_deleted_files_then_go(tmp_path: Path) -> None:
    clock = Clock()
    log = filled(tmp_path, clock, retention_ms=1, file_delete_delay_ms=5_000)
    log.delete_old_segments()
    assert list(log.directory.glob("*.log.deleted"))
    assert log.delete_expired_files() == 0
    clock.now += 5_000
    assert log.delete_expired_files() > 0
    assert not list(log.directory.glob("*.deleted"))
