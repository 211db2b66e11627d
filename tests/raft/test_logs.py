"""Both RaftLog implementations against the one conformance suite, and what only one has."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from odradek.raft.file_log import FileRaftLog
from odradek.raft.log import RaftLog
from odradek.raft.memory_log import MemoryRaftLog
from odradek.raft.offsets import OffsetAndEpoch
from tests.raft import log_conformance
from tests.raft.log_conformance import write


@pytest.fixture
def file_logs(tmp_path: Path) -> Iterator[Callable[[], RaftLog]]:
    counter = itertools.count()
    opened: list[FileRaftLog] = []

    def make() -> RaftLog:
        log = FileRaftLog.open(
            tmp_path / f"log{next(counter)}" / "__cluster_metadata-0", time_ms=lambda: 1_000
        )
        opened.append(log)
        return log

    yield make
    for log in opened:
        log.log.close_handlers()


@pytest.mark.parametrize("check", log_conformance.CHECKS, ids=lambda c: c.__name__)
def test_memory_log(check: Callable[[Callable[[], RaftLog]], None]) -> None:
    check(MemoryRaftLog)


@pytest.mark.parametrize("check", log_conformance.CHECKS, ids=lambda c: c.__name__)
def test_file_log(
    check: Callable[[Callable[[], RaftLog]], None], file_logs: Callable[[], RaftLog]
) -> None:
    check(file_logs)


def test_memory_log_keeps_flushed_data() -> None:
    def reopen(log: RaftLog) -> RaftLog:
        assert isinstance(log, MemoryRaftLog)
        log.lose_unflushed()
        return log

    log_conformance.check_flushed_data_survives(MemoryRaftLog, reopen)


def test_file_log_keeps_flushed_data(file_logs: Callable[[], RaftLog]) -> None:
    def reopen(log: RaftLog) -> RaftLog:
        assert isinstance(log, FileRaftLog)
        log.close()
        return FileRaftLog.open(log.directory, time_ms=lambda: 2_000)

    log_conformance.check_flushed_data_survives(file_logs, reopen)


def test_memory_log_loses_what_was_not_flushed() -> None:
    log = MemoryRaftLog()
    write(log, (1, 2, 2))
    log.flush(log.end_offset)
    write(log, (2, 2, 1))
    log.truncate_to(4)  # not durable either: the crash brings nothing back or takes more
    write(log, (3, 1, 1))
    log.lose_unflushed()
    assert (log.end_offset, log.last_fetched_epoch, log.flushed_offset) == (4, 1, 4)
    # A truncation below the flush point is undone by the crash too.
    log.truncate_to(2)
    log.lose_unflushed()
    assert log.end_offset == 4


def test_file_log_names_snapshots_as_kafka_does(tmp_path: Path) -> None:
    directory = tmp_path / "__cluster_metadata-0"
    log = FileRaftLog.open(directory, time_ms=lambda: 0)
    write(log, (7, 3, 1))
    log.update_high_watermark(3)
    raw = log.create_snapshot(OffsetAndEpoch(3, 7))
    assert raw is not None
    raw.append(b"bytes")
    assert (directory / "00000000000000000003-0000000007.checkpoint.part").exists()
    raw.freeze()
    assert (directory / "00000000000000000003-0000000007.checkpoint").read_bytes() == b"bytes"
    assert not (directory / "00000000000000000003-0000000007.checkpoint.part").exists()
    log.close()


def test_file_log_reopens_at_its_latest_snapshot(tmp_path: Path) -> None:
    """A follower that crashed right after a snapshot download finds its log there."""
    directory = tmp_path / "__cluster_metadata-0"
    log = FileRaftLog.open(directory, time_ms=lambda: 0)
    write(log, (1, 2, 1))
    log.flush(log.end_offset)
    raw = log.create_snapshot(OffsetAndEpoch(40, 3))
    assert raw is not None
    raw.append(b"snapshot")
    raw.freeze()
    stale = log.create_snapshot(OffsetAndEpoch(60, 3))
    assert stale is not None
    stale.append(b"half")
    log.close()
    log = FileRaftLog.open(directory, time_ms=lambda: 0)
    assert (log.start_offset, log.end_offset, log.last_fetched_epoch) == (40, 40, 3)
    assert log.latest_snapshot_id() == OffsetAndEpoch(40, 3)
    assert not list(directory.glob("*.part"))
    log.close()
