"""A compaction pass that fails marks its partition uncleanable; the cleaner goes on.

Kafka's ``LogCleaner.CleanerThread.tryCleanFilthiestLog`` and ``LogCleanerManager``'s
``uncleanable-partitions-count``: the failing partition is skipped until its log leaves
the log dir, and the other compacted logs are still cleaned.
"""

from __future__ import annotations

import os
from pathlib import Path

import trio

from odradek.storage.checkpoints import TopicPartition, read_offset_checkpoint
from odradek.storage.log import Log
from odradek.storage.log_manager import LogManager
from tests.storage.test_cleaner import Clock
from tests.storage.test_cleaner_thread import compacted, contents, fill, open_manager

PARTITIONS = [TopicPartition("t", p) for p in range(3)]
BAD = PARTITIONS[1]
#: Where a batch's records start: the header before them is 61 bytes.
RECORDS_START = 61


def corrupt_first_batch(log: Log) -> None:
    """Overwrite the start of the first batch's records, keeping its length field.

    The segment stays walkable, but its records decode to nothing valid (each byte has
    the varint continuation bit set), so only a pass that decodes them fails.
    """
    first = log.segments.first()
    assert first is not None
    path = first.log.path
    fd = os.open(path, os.O_RDWR)
    try:
        os.pwrite(fd, b"\xff" * 12, RECORDS_START)
    finally:
        os.close(fd)


def clean_until_idle(manager: LogManager, clock: Clock) -> list[TopicPartition]:
    """Run more due passes than there are logs; the partitions cleaned, in order.

    A failed pass cleans nothing, so passes go on after one.
    """

    async def main() -> list[TopicPartition]:
        cleaned = []
        for _ in range(len(PARTITIONS) + 2):
            clock.now += 1_000
            tp = await manager.clean()
            if tp is not None:
                cleaned.append(tp)
        return cleaned

    return trio.run(main)


def test_a_corrupt_segment_marks_its_partition_and_the_others_are_cleaned(
    tmp_path: Path,
) -> None:
    clock = Clock()
    manager = open_manager(tmp_path, clock)
    before = {}
    for seed, tp in enumerate(PARTITIONS):
        log = manager.get_or_create_log(tp)
        fill(log, clock, 400, seed=seed)
        before[tp] = (contents(log), log.active_segment.base_offset)
    corrupt_first_batch(manager.logs[BAD])
    bad_files = sorted(p.name for p in (tmp_path / BAD.dir_name).iterdir())

    cleaned = clean_until_idle(manager, clock)

    assert sorted(cleaned) == [tp for tp in PARTITIONS if tp != BAD]
    for tp in cleaned:
        records, end = before[tp]
        assert contents(manager.logs[tp]) == compacted(records, end)
    assert manager.uncleanable_partition_counts() == {tmp_path: 1}
    assert manager.cleaner.is_uncleanable(tmp_path, BAD)
    # The failed pass left the log as it was: no output, no checkpoint, not in a pass.
    assert sorted(p.name for p in (tmp_path / BAD.dir_name).iterdir()) == bad_files
    assert BAD not in read_offset_checkpoint(tmp_path / "cleaner-offset-checkpoint")
    assert not manager.logs[BAD].cleaning
    # Passed over from now on, however dirty it is.
    fill(manager.logs[BAD], clock, 200, seed=9)
    assert clean_until_idle(manager, clock) == []
    assert manager.uncleanable_partition_counts() == {tmp_path: 1}
    manager.shutdown()


def test_the_mark_lasts_until_the_log_leaves_the_log_dir(tmp_path: Path) -> None:
    clock = Clock()
    manager = open_manager(tmp_path, clock)
    for seed, tp in enumerate(PARTITIONS):
        fill(manager.get_or_create_log(tp), clock, 400, seed=seed)
    corrupt_first_batch(manager.logs[BAD])
    clean_until_idle(manager, clock)
    assert manager.uncleanable_partition_counts() == {tmp_path: 1}
    manager.shutdown()

    # A restart re-opens the log dir: the partition is tried again, and fails again.
    manager = open_manager(tmp_path, clock)
    for log in manager.logs.values():
        # The replica manager restores high watermarks; compaction stops below them.
        log.update_high_watermark(log.log_end_offset)
    assert manager.uncleanable_partition_counts() == {tmp_path: 0}
    assert clean_until_idle(manager, clock) == []
    assert manager.uncleanable_partition_counts() == {tmp_path: 1}

    # Deleting the log forgets the mark; a new log of the partition is cleaned.
    manager.delete_log(BAD)
    assert manager.uncleanable_partition_counts() == {tmp_path: 0}
    log = manager.get_or_create_log(BAD)
    fill(log, clock, 400, seed=5)
    records, end = contents(log), log.active_segment.base_offset
    assert clean_until_idle(manager, clock) == [BAD]
    assert contents(log) == compacted(records, end)
    manager.shutdown()


def test_the_synchronous_driver_survives_a_failed_pass_too(tmp_path: Path) -> None:
    clock = Clock()
    manager = open_manager(tmp_path, clock)
    log = manager.get_or_create_log(BAD)
    fill(log, clock, 400)
    corrupt_first_batch(log)
    cleaner = manager.cleaner
    dirs = {BAD: tmp_path}
    assert cleaner.clean_filthiest(manager.logs, dirs, clock.now) is None
    assert cleaner.is_uncleanable(tmp_path, BAD)
    assert cleaner.filthiest(manager.logs, dirs, clock.now) is None
    manager.shutdown()
