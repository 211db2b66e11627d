"""Opening a log after clean and unclean shutdowns; torn writes, corruption, leftovers."""

from __future__ import annotations

import os
from pathlib import Path

import crc32c
import pytest

from odradek.protocol.records.batch_header import read_header
from odradek.storage import log_files
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from tests.storage.batches import batch, read_batches, read_records

CONFIG = LogConfig(segment_bytes=2_000, index_interval_bytes=200)


def fill(path: Path, count: int = 40) -> Log:
    log = Log.open(path / "t-0", CONFIG, time_ms=lambda: 5_000)
    for i in range(count):
        log.append_as_leader(batch([b"value-%03d" % i] * 3, timestamp=1_000 + i), leader_epoch=1)
    return log


def reopen(path: Path, *, clean: bool, recovery_point: int = 0) -> Log:
    return Log.open(
        path / "t-0",
        CONFIG,
        time_ms=lambda: 5_000,
        had_clean_shutdown=clean,
        recovery_point=recovery_point,
    )


def assert_all_batches_valid(log: Log) -> None:
    for b in read_batches(log):
        assert b.records  # decode_batch checked the CRC of every batch


def test_clean_restart_reads_no_data(tmp_path: Path) -> None:
    log = fill(tmp_path)
    log.flush()
    log.close()
    # Damage the middle of the first segment: a clean restart must not even look there.
    first = tmp_path / "t-0" / "00000000000000000000.log"
    data = bytearray(first.read_bytes())
    data[500] ^= 0xFF
    first.write_bytes(bytes(data))
    clean = reopen(tmp_path, clean=True)
    assert clean.log_end_offset == 120
    assert clean.recovery_point == 120
    clean.close()
    # An unclean restart from offset 0 re-validates everything and cuts at the damage.
    unclean = reopen(tmp_path, clean=False)
    assert unclean.log_end_offset < 120
    assert [s.base_offset for s in unclean.segments] == [0]
    assert_all_batches_valid(unclean)


def test_unclean_restart_revalidates_only_above_the_recovery_point(tmp_path: Path) -> None:
    log = fill(tmp_path)
    log.flush()
    point = log.recovery_point
    second = log.segments.higher(0)
    assert second is not None
    first = tmp_path / "t-0" / "00000000000000000000.log"
    data = bytearray(first.read_bytes())
    data[500] ^= 0xFF  # below the recovery point: trusted, as in Kafka
    first.write_bytes(bytes(data))
    reopened = reopen(tmp_path, clean=False, recovery_point=second.base_offset)
    assert reopened.log_end_offset == 120
    assert point == 120


def test_a_torn_tail_is_cut_to_the_last_whole_batch(tmp_path: Path) -> None:
    log = fill(tmp_path)
    active = log.active_segment
    path = active.log_path
    whole = active.size
    size = len(batch([b"value-000"] * 3, timestamp=1_000))
    for cut in (1, 12, 61, size - 1):
        with open(path, "r+b") as f:
            f.truncate(whole - cut)
        reopened = reopen(tmp_path, clean=False)
        assert reopened.log_end_offset == 117
        assert path.stat().st_size == whole - size
        assert [r.offset for r in read_records(reopened)][-1] == 116
        # and appends continue where the valid data ends
        info = reopened.append_as_leader(batch([b"again"]), leader_epoch=1)
        assert info.first_offset == 117
        reopened.truncate_to(117)
        reopened.close()
        with open(path, "r+b") as f:
            f.truncate(whole - size)
            f.seek(0, os.SEEK_END)
            f.write(bytes(batch([b"value-039"] * 3, base_offset=117, leader_epoch=1)))


@pytest.mark.parametrize("where", ["attributes", "records", "timestamp", "length"])
def test_a_corrupt_batch_is_caught_and_everything_after_it_dropped(
    tmp_path: Path, where: str
) -> None:
    log = fill(tmp_path)
    segments = [s.base_offset for s in log.segments]
    target = log.segments.higher(0)
    assert target is not None
    path = target.log_path
    data = bytearray(path.read_bytes())
    header = read_header(data, 0)
    second_batch = header.size
    offset_in_batch = {"attributes": 22, "records": 70, "timestamp": 30, "length": 10}[where]
    data[second_batch + offset_in_batch] ^= 0x5A
    path.write_bytes(bytes(data))
    reopened = reopen(tmp_path, clean=False)
    assert reopened.log_end_offset == target.base_offset + 3  # the first batch survives
    assert [s.base_offset for s in reopened.segments] == [
        b for b in segments if b <= target.base_offset
    ]
    assert_all_batches_valid(reopened)
    assert [r.offset for r in read_records(reopened)] == list(range(target.base_offset + 3))


def test_crc_protects_every_covered_byte(tmp_path: Path) -> None:
    one = bytes(batch([b"abc", None], keys=[b"k", b"l"]))
    for i in range(21, len(one)):
        damaged = bytearray(one)
        damaged[i] ^= 0x01
        assert crc32c.crc32c(bytes(damaged[21:])) != read_header(damaged).crc


def test_missing_or_zeroed_indexes_are_rebuilt(tmp_path: Path) -> None:
    log = fill(tmp_path)
    log.flush()
    log.close()
    directory = tmp_path / "t-0"
    (directory / "00000000000000000000.index").unlink()
    zeroed = sorted(directory.glob("*.timeindex"))[1]
    zeroed.write_bytes(b"\0" * 12 * 50)
    reopened = reopen(tmp_path, clean=False)
    first = reopened.segments.first()
    assert first is not None
    assert first.offset_index.entries > 0
    for segment in reopened.segments:
        index = segment.offset_index
        for i in range(index.entries):
            offset, position = index.entry(i)
            assert read_header(segment.log.read(position, 61)).last_offset == offset
    found = reopened.fetch_offset_by_timestamp(1_025)
    assert found is not None
    assert found.offset == 71


def test_unclean_restart_without_checkpoints_keeps_a_flushed_log_whole(tmp_path: Path) -> None:
    log = fill(tmp_path)
    log.flush()
    before = [r.offset for r in read_records(log)]
    reopened = reopen(tmp_path, clean=False)
    assert [r.offset for r in read_records(reopened)] == before
    assert reopened.recovery_point == 0


def test_leftover_files_are_cleared_and_swaps_completed(tmp_path: Path) -> None:
    log = fill(tmp_path, count=80)
    log.flush()
    bases = [s.base_offset for s in log.segments]
    log.close()
    directory = tmp_path / "t-0"
    # A deletion interrupted after the rename, and a compaction that never finished.
    (directory / "00000000000000099999.log.deleted").write_bytes(b"old")
    (directory / "00000000000000000000.log.cleaned").write_bytes(b"half")
    reopened = reopen(tmp_path, clean=True)
    assert not list(directory.glob("*.deleted"))
    assert not list(directory.glob("*.cleaned"))
    assert [s.base_offset for s in reopened.segments] == bases
    reopened.close()
    # A compaction interrupted after .swap: the swap replaces the segments it covers,
    # here the two from bases[1] up to bases[3].
    replacement = batch([b"compacted"], base_offset=bases[1], leader_epoch=1)
    replacement[23:27] = (bases[3] - bases[1] - 1).to_bytes(4, "big")  # lastOffsetDelta
    replacement[17:21] = crc32c.crc32c(bytes(replacement[21:])).to_bytes(4, "big")
    assert read_header(replacement).last_offset + 1 == bases[3]
    (directory / log_files.log_file(directory, bases[1], ".swap").name).write_bytes(
        bytes(replacement)
    )
    swapped = reopen(tmp_path, clean=True)
    assert [s.base_offset for s in swapped.segments] == bases[:2] + bases[3:]
    records = read_records(swapped, bases[1])
    assert records[0].value == b"compacted"
    assert not list(directory.glob("*.swap"))


def test_a_corrupt_producer_snapshot_falls_back_to_the_log(tmp_path: Path) -> None:
    log = Log.open(tmp_path / "t-0", CONFIG, time_ms=lambda: 5_000)
    for i in range(30):
        data = batch([b"v" * 50], producer_id=9, producer_epoch=0, base_sequence=i)
        log.append_as_leader(data, leader_epoch=0)
    log.flush()
    log.close()
    for snapshot in (tmp_path / "t-0").glob("*.snapshot"):
        snapshot.write_bytes(b"garbage")
    reopened = reopen(tmp_path, clean=False)
    entry = reopened.producer_state.last_entry(9)
    assert entry is not None
    assert entry.last_seq == 29
