"""Compaction: the latest record per key, tombstones, transactions, and a crash-safe swap."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from odradek.storage.checkpoints import TopicPartition, read_offset_checkpoint
from odradek.storage.cleaner import LogCleaner
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from odradek.storage.producer_state import AppendOrigin
from tests.storage.batches import batch, marker, read_batches, read_records

TP = TopicPartition("t", 0)
COMPACT = LogConfig(
    segment_bytes=1_000,
    cleanup_policy=("compact",),
    delete_retention_ms=10_000,
    index_interval_bytes=100,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def open_log(path: Path, clock: Clock, config: LogConfig = COMPACT) -> Log:
    return Log.open(path / "t-0", config, time_ms=clock)


def write(log: Log, key: bytes, value: bytes | None, clock: Clock) -> int:
    info = log.append_as_leader(batch([value], keys=[key], timestamp=clock.now), leader_epoch=0)
    log.update_high_watermark(log.log_end_offset)
    return info.first_offset


def latest_per_key(log: Log) -> dict[bytes, tuple[int, bytes | None]]:
    latest: dict[bytes, tuple[int, bytes | None]] = {}
    for record in read_records(log):
        assert record.key is not None
        latest[record.key] = (record.offset, record.value)
    return latest


def test_compaction_keeps_the_last_record_of_each_key(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    rng = random.Random(7)
    for i in range(300):
        write(log, b"key-%d" % rng.randrange(20), b"value-%d" % i, clock)
    before = latest_per_key(log)
    size_before = log.size
    cleaner = LogCleaner()
    end = cleaner.clean(log, tmp_path, TP, clock.now)
    assert end == log.active_segment.base_offset
    after = read_records(log)
    assert latest_per_key(log) == before  # same latest value and offset for every key
    cleaned = [r for r in after if r.offset < end]
    assert len({r.key for r in cleaned}) == len(cleaned)  # the clean head: one per key
    assert log.size < size_before
    offsets = [r.offset for r in after]
    assert offsets == sorted(offsets)
    assert read_offset_checkpoint(tmp_path / "cleaner-offset-checkpoint") == {TP: end}
    stats = cleaner.last_stats
    assert 0 < stats.bytes_written < stats.bytes_read
    assert stats.messages_written == len(cleaned)


def test_the_uncleanable_section_is_left_alone(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    for i in range(100):
        write(log, b"k", b"%d" % i, clock)
    log.update_high_watermark(30)  # nothing at or past the LSO is cleaned
    end = LogCleaner().clean(log, tmp_path, TP, clock.now)
    assert end <= 30
    records = read_records(log)
    assert [r.offset for r in records if r.offset >= 30] == list(range(30, 100))


def test_tombstones_stay_for_delete_retention_ms(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    write(log, b"gone", b"value", clock)
    write(log, b"gone", None, clock)
    for i in range(60):
        write(log, b"other-%d" % (i % 5), b"x" * 20, clock)
    cleaner = LogCleaner()
    cleaner.clean(log, tmp_path, TP, clock.now)
    tombstones = [r for r in read_records(log) if r.key == b"gone"]
    assert [r.value for r in tombstones] == [None]
    stamped = [b for b in read_batches(log) if any(r.key == b"gone" for r in b.records)]
    assert stamped[0].has_delete_horizon
    assert stamped[0].base_timestamp == clock.now + 10_000
    clock.now += 9_999
    for i in range(60):
        write(log, b"other-%d" % (i % 5), b"y" * 20, clock)
    cleaner.clean(log, tmp_path, TP, clock.now)
    assert [r.value for r in read_records(log) if r.key == b"gone"] == [None]
    clock.now += 1
    for i in range(60):
        write(log, b"other-%d" % (i % 5), b"z" * 20, clock)
    cleaner.clean(log, tmp_path, TP, clock.now)
    assert [r for r in read_records(log) if r.key == b"gone"] == []


def test_the_dirty_ratio_and_the_compaction_lag_decide_when(tmp_path: Path) -> None:
    clock = Clock()
    config = COMPACT.with_overrides(min_cleanable_dirty_ratio=1.0)
    log = open_log(tmp_path, clock, config)
    for i in range(60):
        write(log, b"k%d" % (i % 3), b"v", clock)
    cleaner = LogCleaner()
    logs = {TP: log}
    dirs = {TP: tmp_path}
    assert cleaner.dirty_ratio(log, tmp_path, TP, clock.now) == 1.0  # nothing cleaned yet
    assert cleaner.clean_filthiest(logs, dirs, clock.now) is None  # must be above the ratio
    log.update_config(config.with_overrides(min_cleanable_dirty_ratio=0.5))
    assert cleaner.clean_filthiest(logs, dirs, clock.now) == TP
    assert cleaner.dirty_ratio(log, tmp_path, TP, clock.now) < 0.5
    # A compaction lag keeps recent segments out of reach.
    for i in range(60):
        write(log, b"k%d" % (i % 3), b"w", clock)
    log.update_config(log.config.with_overrides(min_compaction_lag_ms=60_000))
    first_dirty = cleaner.first_dirty_offset(tmp_path, TP)
    assert cleaner.cleanable_range(log, first_dirty, clock.now).first_uncleanable_offset == (
        first_dirty
    )
    clock.now += 60_001
    assert cleaner.clean_filthiest(logs, dirs, clock.now) == TP


def test_max_compaction_lag_forces_a_pass(tmp_path: Path) -> None:
    clock = Clock()
    config = COMPACT.with_overrides(min_cleanable_dirty_ratio=1.0, max_compaction_lag_ms=5_000)
    log = open_log(tmp_path, clock, config)
    for i in range(40):
        write(log, b"k", b"%d" % i, clock)
    cleaner = LogCleaner()
    assert cleaner.clean_filthiest({TP: log}, {TP: tmp_path}, clock.now) is None
    clock.now += 5_001
    assert cleaner.clean_filthiest({TP: log}, {TP: tmp_path}, clock.now) == TP


def test_aborted_transactions_are_removed_and_markers_kept_while_needed(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)

    def txn(pid: int, seq: int, key: bytes) -> None:
        data = batch(
            [b"txn"],
            keys=[key],
            producer_id=pid,
            producer_epoch=0,
            base_sequence=seq,
            transactional=True,
            timestamp=clock.now,
        )
        log.append_as_leader(data, leader_epoch=0)

    def end(pid: int, commit: bool) -> None:
        data = marker(commit=commit, producer_id=pid, producer_epoch=0, timestamp=clock.now)
        log.append_as_leader(data, leader_epoch=0, origin=AppendOrigin.COORDINATOR)

    txn(1, 0, b"a")  # aborted below
    txn(2, 0, b"b")  # committed below
    end(1, commit=False)
    end(2, commit=True)
    for i in range(60):
        write(log, b"filler-%d" % (i % 4), b"f" * 20, clock)
    log.update_high_watermark(log.log_end_offset)
    cleaner = LogCleaner()
    cleaner.clean(log, tmp_path, TP, clock.now)
    batches = read_batches(log)
    values = {(r.key, r.value) for b in batches if not b.is_control for r in b.records}
    assert (b"a", b"txn") not in values  # aborted: gone regardless of keys
    assert (b"b", b"txn") in values
    controls = [b for b in batches if b.is_control]
    assert len(controls) == 2  # the commit still covers b; the abort marker is emptied
    # The producers' last batches stay (emptied if need be) so their sequences survive.
    assert {b.producer_id for b in controls} == {1, 2}


def test_a_crash_during_the_swap_leaves_a_consistent_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    for i in range(200):
        write(log, b"k%d" % (i % 10), b"v%d" % i, clock)
    expected = latest_per_key(log)
    all_records = read_records(log)

    from odradek.storage import segment as segment_module

    original = segment_module.LogSegment.change_file_suffixes

    def crashing(self: segment_module.LogSegment, old: str, new: str) -> None:
        if new == "" and old == ".swap":
            raise OSError("simulated power loss")
        original(self, old, new)

    monkeypatch.setattr(segment_module.LogSegment, "change_file_suffixes", crashing)
    with pytest.raises(OSError, match="simulated"):
        LogCleaner().clean(log, tmp_path, TP, clock.now)
    monkeypatch.undo()
    assert list((tmp_path / "t-0").glob("*.swap"))
    recovered = Log.open(tmp_path / "t-0", COMPACT, time_ms=clock)
    assert latest_per_key(recovered) == expected
    records = read_records(recovered)
    assert len(records) < len(all_records)  # the swap was completed on load
    assert not list((tmp_path / "t-0").glob("*.swap"))
