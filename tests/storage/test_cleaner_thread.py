"""Compaction in a worker thread while the log's owner keeps appending, truncating, deleting."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import trio.lowlevel

from odradek.storage.checkpoints import TopicPartition, read_offset_checkpoint
from odradek.storage.cleaner import Cleaner, LogCleaner, OffsetMap
from odradek.storage.cleaner_thread import CleaningSnapshot, run_pass_in_thread
from odradek.storage.config import LogConfig
from odradek.storage.errors import CorruptRecordError
from odradek.storage.log import Log
from odradek.storage.log_manager import LogManager, ManagerSchedule
from tests.storage.batches import read_records
from tests.storage.test_cleaner import Clock, write

TP = TopicPartition("t", 0)
COMPACT = LogConfig(
    segment_bytes=2_000,
    cleanup_policy=("compact",),
    delete_retention_ms=10_000,
    index_interval_bytes=100,
    file_delete_delay_ms=0,
)


def open_log(path: Path, clock: Clock) -> Log:
    return Log.open(path / TP.dir_name, COMPACT, time_ms=clock)


def open_manager(path: Path, clock: Clock) -> LogManager:
    """A started log manager of compacted logs whose cleaner is due every second."""
    manager = LogManager(
        [path],
        COMPACT,
        time_ms=clock,
        schedule=ManagerSchedule(cleaner_backoff_ms=1_000),
        cleaner=LogCleaner(),
    )
    manager.startup()
    return manager


def fill(log: Log, clock: Clock, count: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    for i in range(count):
        value = None if rng.random() < 0.05 else b"value-%d" % i
        write(log, b"key-%d" % rng.randrange(40), value, clock)


#: A record as the tests compare them: offset, key, value.
Row = tuple[int, bytes | None, bytes | None]


def compacted(records: list[Row], end: int) -> list[Row]:
    """What one pass over ``[0, end)`` leaves: the last record of each key there, then the rest."""
    last: dict[bytes | None, Row] = {}
    for record in records:
        if record[0] < end:
            last[record[1]] = record
    return sorted(last.values()) + [r for r in records if r[0] >= end]


def contents(log: Log) -> list[Row]:
    return [(r.offset, r.key, r.value) for r in read_records(log)]


def latest(records: list[Row]) -> dict[bytes | None, tuple[int, bytes | None]]:
    return {key: (offset, value) for offset, key, value in records}


def cleaned_files(path: Path) -> list[Path]:
    return sorted((path / TP.dir_name).glob("*.cleaned"))


def every(n: int, action: Callable[[], None]) -> Callable[[], None]:
    """A ``check_cancelled`` for the thread that runs ``action`` on the event loop every
    ``n`` batches, the thread waiting meanwhile."""
    calls = 0

    def check() -> None:
        nonlocal calls
        trio.from_thread.check_cancelled()
        calls += 1
        if calls % n == 0:
            trio.from_thread.run_sync(action)

    return check


def test_appends_during_a_pass_in_a_thread_all_survive(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    fill(log, clock, 600)
    first_uncleanable = log.active_segment.base_offset
    appended: list[Row] = []

    def append_some() -> None:
        for i in range(5):
            key, value = b"new-%d" % (i % 3), b"during-%d" % len(appended)
            appended.append((write(log, key, value, clock), key, value))

    async def main() -> int | None:
        done = trio.Event()
        result: list[int | None] = []

        async def clean() -> None:
            # Appends also land while the thread runs freely (below), and at fixed points
            # of its walk (every 40 batches), so both phases see the log grow and roll.
            cleaner = Cleaner(OffsetMap(), clock.now, every(40, append_some))
            result.append(await run_pass_in_thread(cleaner, log, 0, first_uncleanable))
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(clean)
            while not done.is_set():
                append_some()
                await trio.lowlevel.checkpoint()
        return result[0]

    before = contents(log)
    segments_before = len(log.segments)
    end = trio.run(main)
    assert end is not None
    assert end == first_uncleanable
    assert len(appended) > 0
    assert len(log.segments) > segments_before  # the appends rolled new segments
    # Everything appended during the pass is there, once, at the offset it got; below
    # the end of the pass, only the last record of each key.
    assert contents(log) == compacted(before + appended, end)
    assert cleaned_files(tmp_path) == []
    assert not log.cleaning
    reopened_expected = contents(log)
    log.close()
    assert contents(open_log(tmp_path, clock)) == reopened_expected


def _prepared_pass(log: Log, clock: Clock) -> tuple[Cleaner, CleaningSnapshot, int]:
    """The thread's part of a pass done by hand: snapshot, map (no swap yet)."""
    first_uncleanable = log.active_segment.base_offset
    cleaner = Cleaner(OffsetMap(), clock.now)
    snapshot = CleaningSnapshot(log, 0, first_uncleanable)
    log.start_cleaning()
    end = cleaner.build_offset_map(snapshot)
    assert end == first_uncleanable
    return cleaner, snapshot, end


def test_a_truncation_during_a_pass_makes_the_swap_give_up(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    fill(log, clock, 400)
    cleaner, snapshot, end = _prepared_pass(log, clock)
    groups = snapshot.groups(end)
    assert len(groups) > 1
    cleaned = snapshot.open_output(groups[0])
    cleaner.copy(snapshot, groups[0], cleaned)
    assert cleaned_files(tmp_path)
    target = groups[0].segments[-1].base_offset + 1  # inside the group being swapped
    kept = [r for r in contents(log) if r[0] < target]
    assert log.truncate_to(target)
    assert not snapshot.swap(groups[0], cleaned)
    log.finish_cleaning()
    assert cleaned_files(tmp_path) == []
    assert contents(log) == kept


def test_retention_during_a_pass_makes_the_swap_give_up(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    fill(log, clock, 400)
    cleaner, snapshot, end = _prepared_pass(log, clock)
    group = snapshot.groups(end)[0]
    cleaned = snapshot.open_output(group)
    cleaner.copy(snapshot, group, cleaned)
    # DeleteRecords moves the log start past the first segment; retention then deletes it.
    new_start = log.segments.base_offsets()[1]
    kept = [r for r in contents(log) if r[0] >= new_start]
    assert log.maybe_increment_log_start_offset(new_start)
    assert log.delete_old_segments() == 1
    assert not snapshot.swap(group, cleaned)
    # The deleted segment's files stay open for the thread until the pass is over.
    assert log.delete_expired_files(clock.now + 1) == 0
    log.finish_cleaning()
    assert log.delete_expired_files(clock.now + 1) == 1
    assert cleaned_files(tmp_path) == []
    assert contents(log) == kept


def test_deleting_the_log_during_a_pass_keeps_its_files_open_until_the_pass_ends(
    tmp_path: Path,
) -> None:
    clock = Clock()
    manager = LogManager([tmp_path], COMPACT, time_ms=clock)
    manager.startup()
    log = manager.get_or_create_log(TP)
    fill(log, clock, 400)
    cleaner, snapshot, end = _prepared_pass(log, clock)
    group = snapshot.groups(end)[0]
    cleaned = snapshot.open_output(group)
    manager.delete_log(TP)
    assert not (tmp_path / TP.dir_name).exists()
    files = [segment.log for segment in group.segments]
    # The thread still reads what it was given; only its last step, by path, fails.
    with pytest.raises(FileNotFoundError):
        cleaner.copy(snapshot, group, cleaned)
    assert cleaner.stats.bytes_read == sum(f.size for f in files)
    assert all(f.fd >= 0 for f in files)
    assert not snapshot.swap(group, cleaned)
    log.finish_cleaning()
    assert all(f.fd == -1 for f in files)
    # The output went with the renamed directory, which the delayed deletion removes.
    assert not (tmp_path / TP.dir_name).exists()
    manager.delete_expired_files(clock.now)
    assert list(tmp_path.glob("**/*.cleaned")) == []
    assert list(tmp_path.glob("*-delete")) == []


def test_a_change_seen_by_the_running_thread_abandons_the_pass(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    fill(log, clock, 400)
    first_uncleanable = log.active_segment.base_offset
    target = first_uncleanable - 5

    def truncate() -> None:
        log.truncate_to(target)

    async def main() -> int | None:
        cleaner = Cleaner(OffsetMap(), clock.now, every(300, truncate))
        return await run_pass_in_thread(cleaner, log, 0, first_uncleanable)

    kept = [r for r in contents(log) if r[0] < target]
    assert trio.run(main) is None
    assert contents(log) == kept
    assert cleaned_files(tmp_path) == []
    assert not log.cleaning


@pytest.mark.parametrize("log_changes", [True, False])
def test_an_error_in_the_thread_is_raised_unless_the_log_changed(
    tmp_path: Path, log_changes: bool
) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    fill(log, clock, 400)
    first_uncleanable = log.active_segment.base_offset
    before = contents(log)

    def fail() -> None:
        if log_changes:
            trio.from_thread.run_sync(log.truncate_to, first_uncleanable - 5)
        raise CorruptRecordError("a batch read while it was being cut")

    async def main() -> int | None:
        cleaner = Cleaner(OffsetMap(), clock.now, fail)
        return await run_pass_in_thread(cleaner, log, 0, first_uncleanable)

    if log_changes:
        assert trio.run(main) is None
        assert contents(log) == [r for r in before if r[0] < first_uncleanable - 5]
    else:
        with pytest.raises(CorruptRecordError):
            trio.run(main)
        assert contents(log) == before
    assert cleaned_files(tmp_path) == []
    assert not log.cleaning


def test_cancelling_a_pass_stops_the_thread_and_removes_its_output(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    fill(log, clock, 400)
    first_uncleanable = log.active_segment.base_offset
    before = contents(log)
    seen_cleaned: list[Path] = []

    async def main() -> None:
        with trio.CancelScope() as scope:

            def cancel() -> None:
                seen_cleaned.extend(cleaned_files(tmp_path))
                scope.cancel()

            cleaner = Cleaner(OffsetMap(), clock.now, every(500, cancel))
            await run_pass_in_thread(cleaner, log, 0, first_uncleanable)
        assert scope.cancelled_caught

    trio.run(main)
    assert seen_cleaned  # cancelled during the copy, with output half written
    assert cleaned_files(tmp_path) == []
    # The groups swapped before the cancel stay compacted; the rest is untouched.
    after = contents(log)
    assert set(after) <= set(before)
    assert len(after) < len(before)
    assert after[-50:] == before[-50:]
    assert latest(after) == latest(before)
    assert not log.cleaning


def test_the_manager_compacts_off_the_loop_and_checkpoints(tmp_path: Path) -> None:
    clock = Clock()
    manager = open_manager(tmp_path, clock)
    log = manager.get_or_create_log(TP)
    fill(log, clock, 400)
    before = contents(log)
    end = log.active_segment.base_offset

    async def main() -> list[TopicPartition | None]:
        first = await manager.clean()  # not due yet: the backoff starts now
        clock.now += 1_000
        return [first, await manager.clean()]

    assert trio.run(main) == [None, TP]
    assert contents(log) == compacted(before, end)
    assert read_offset_checkpoint(tmp_path / "cleaner-offset-checkpoint") == {TP: end}
    manager.shutdown()
