"""The :class:`~odradek.raft.log.RaftLog` contract, as checks every implementation passes.

In the manner of trio's ``check_*_stream`` functions: each check takes a factory that
makes an empty log (and, for durability, a way to reopen one as a restart would) and
exercises one part of the contract. ``test_logs.py`` runs them all against the in-memory
log of the simulation and the file log on :mod:`odradek.storage`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from odradek.protocol.errors import KafkaError
from odradek.raft.batches import data_batch, decode_batches, split_batches
from odradek.raft.log import RaftLog, truncate_to_end_offset, validate_offset_and_epoch
from odradek.raft.offsets import OffsetAndEpoch, ValidityKind
from odradek.raft.snapshots import SnapshotWriter, read_snapshot
from odradek.storage.errors import CorruptRecordError, UnexpectedAppendOffsetError

MakeLog = Callable[[], RaftLog]
Reopen = Callable[[RaftLog], RaftLog]


def batch(base: int, epoch: int, count: int = 1) -> bytes:
    records = [f"{base + i}@{epoch}".encode() for i in range(count)]
    return data_batch(records, base_offset=base, epoch=epoch, append_time_ms=1_000 + base)


def write(log: RaftLog, *runs: tuple[int, int, int]) -> None:
    """Append runs of ``(epoch, batches, records per batch)`` as a leader would."""
    for epoch, batches, per_batch in runs:
        for _ in range(batches):
            log.append_as_leader(batch(log.end_offset, epoch, per_batch), epoch)


def check_empty_log(make: MakeLog) -> None:
    log = make()
    assert (log.start_offset, log.end_offset, log.last_fetched_epoch) == (0, 0, 0)
    assert log.latest_snapshot_id() is None
    assert log.read(0, 1024) == b""
    assert log.end_offset_for_epoch(3) == OffsetAndEpoch(0, 0)
    assert validate_offset_and_epoch(log, 0, 0).kind is ValidityKind.VALID


def check_epochs(make: MakeLog) -> None:
    log = make()
    write(log, (1, 2, 3), (3, 1, 2), (4, 2, 1))  # epoch 1: [0, 6), 3: [6, 8), 4: [8, 10)
    assert log.end_offset == 10
    assert log.last_fetched_epoch == 4
    assert log.end_offset_for_epoch(1) == OffsetAndEpoch(6, 1)
    assert log.end_offset_for_epoch(2) == OffsetAndEpoch(6, 1)
    assert log.end_offset_for_epoch(3) == OffsetAndEpoch(8, 3)
    assert log.end_offset_for_epoch(4) == OffsetAndEpoch(10, 4)
    assert log.end_offset_for_epoch(9) == OffsetAndEpoch(10, 4)
    assert log.end_offset_for_epoch(0) == OffsetAndEpoch(0, 0)
    assert [log.epoch_of_offset(o) for o in (0, 5, 6, 7, 8, 9)] == [1, 1, 3, 3, 4, 4]
    assert log.epoch_of_offset(10) is None
    log.initialize_leader_epoch(6)
    assert log.last_fetched_epoch == 6
    assert log.end_offset_for_epoch(4) == OffsetAndEpoch(10, 4)


def check_leader_append_rejects_other_epochs(make: MakeLog) -> None:
    log = make()
    with pytest.raises(KafkaError):
        log.append_as_leader(batch(0, 2), 3)


def check_follower_append(make: MakeLog) -> None:
    leader = make()
    write(leader, (1, 3, 2))
    follower = make()
    first, last = follower.append_as_follower(leader.read(0, 10_000))
    assert (first, last) == (0, 5)
    assert follower.read(0, 10_000) == leader.read(0, 10_000)
    with pytest.raises(UnexpectedAppendOffsetError):
        follower.append_as_follower(batch(2, 1))
    damaged = bytearray(batch(6, 1))
    damaged[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError):
        follower.append_as_follower(bytes(damaged))
    assert follower.end_offset == 6


def check_read(make: MakeLog) -> None:
    log = make()
    write(log, (1, 4, 3))
    whole = log.read(0, 1 << 20)
    batches = split_batches(whole)
    assert [(b.base_offset, b.last_offset) for b in batches] == [(0, 2), (3, 5), (6, 8), (9, 11)]
    # At least one whole batch, however small the limit.
    assert split_batches(log.read(3, 1))[0].base_offset == 3
    # A limit that fits two batches and a bit returns two, never a part of a third.
    two = len(batches[1].data) + len(batches[2].data)
    assert [b.base_offset for b in split_batches(log.read(3, two))] == [3, 6]
    assert [b.base_offset for b in split_batches(log.read(3, two + 10))] == [3, 6]
    assert log.read(12, 100) == b""
    records = [r for b in decode_batches(whole) for r in b.records]
    assert records[:4] == [b"0@1", b"1@1", b"2@1", b"3@1"]
    with pytest.raises(KafkaError):
        log.read(13, 100)


def check_truncate(make: MakeLog) -> None:
    log = make()
    write(log, (1, 2, 2), (2, 2, 2))  # epoch 1: [0, 4), epoch 2: [4, 8)
    log.truncate_to(6)
    assert log.end_offset == 6
    assert log.end_offset_for_epoch(2) == OffsetAndEpoch(6, 2)
    log.truncate_to(5)  # inside the batch [4, 5]: the whole batch goes
    assert log.end_offset == 4
    assert log.last_fetched_epoch == 1
    assert log.end_offset_for_epoch(2) == OffsetAndEpoch(4, 1)
    log.truncate_to(100)
    assert log.end_offset == 4
    write(log, (3, 1, 1))
    assert log.end_offset_for_epoch(1) == OffsetAndEpoch(4, 1)
    assert log.end_offset_for_epoch(2) == OffsetAndEpoch(4, 1)


def check_validate_and_reconcile(make: MakeLog) -> None:
    leader = make()
    write(leader, (1, 2, 2), (3, 2, 2))  # epoch 1: [0, 4), epoch 3: [4, 8)
    assert validate_offset_and_epoch(leader, 6, 3).kind is ValidityKind.VALID
    assert validate_offset_and_epoch(leader, 4, 1).kind is ValidityKind.VALID
    # A follower holding epoch 2 records from 4 on, which the leader never had.
    follower = make()
    write(follower, (1, 2, 2), (2, 3, 2))  # epoch 1: [0, 4), epoch 2: [4, 10)
    verdict = validate_offset_and_epoch(leader, follower.end_offset, follower.last_fetched_epoch)
    assert verdict.kind is ValidityKind.DIVERGING
    assert verdict.offset_and_epoch == OffsetAndEpoch(4, 1)
    assert truncate_to_end_offset(follower, verdict.offset_and_epoch) == 4
    verdict = validate_offset_and_epoch(leader, follower.end_offset, follower.last_fetched_epoch)
    assert verdict.kind is ValidityKind.VALID
    follower.append_as_follower(leader.read(4, 1 << 20))
    assert follower.read(0, 1 << 20) == leader.read(0, 1 << 20)
    # A follower past the leader's end in the leader's own epoch is diverging too.
    assert validate_offset_and_epoch(leader, 9, 3).kind is ValidityKind.DIVERGING


def _snapshot(log: RaftLog, snapshot_id: OffsetAndEpoch, records: list[bytes]) -> None:
    raw = log.create_snapshot(snapshot_id)
    assert raw is not None
    writer = SnapshotWriter(raw, last_contained_log_time_ms=77, append_time_ms=88)
    writer.append(records)
    writer.freeze()


def check_snapshots(make: MakeLog) -> None:
    log = make()
    write(log, (1, 2, 2), (2, 2, 2))  # epoch 1: [0, 4), epoch 2: [4, 8)
    log.update_high_watermark(8)
    _snapshot(log, OffsetAndEpoch(4, 1), [b"state-at-4"])
    assert log.create_snapshot(OffsetAndEpoch(4, 1)) is None
    _snapshot(log, OffsetAndEpoch(6, 2), [b"state-at-6", b"more"])
    assert log.latest_snapshot_id() == OffsetAndEpoch(6, 2)
    assert log.earliest_snapshot_id() == OffsetAndEpoch(4, 1)
    reader = log.read_snapshot(OffsetAndEpoch(6, 2))
    assert reader is not None
    contents = read_snapshot(reader)
    assert contents.records == [b"state-at-6", b"more"]
    assert contents.last_contained_log_time_ms == 77
    assert log.delete_before_snapshot(OffsetAndEpoch(6, 2))
    assert log.start_offset == 6
    assert log.earliest_snapshot_id() == OffsetAndEpoch(6, 2)
    assert log.read_snapshot(OffsetAndEpoch(4, 1)) is None
    # Below the start, a follower is sent to the snapshot.
    verdict = validate_offset_and_epoch(log, 3, 1)
    assert verdict == (ValidityKind.SNAPSHOT, OffsetAndEpoch(6, 2))
    assert validate_offset_and_epoch(log, 6, 2).kind is ValidityKind.VALID
    assert validate_offset_and_epoch(log, 8, 2).kind is ValidityKind.VALID
    assert split_batches(log.read(6, 1 << 20))[0].base_offset == 6


def check_snapshot_beyond_the_log(make: MakeLog) -> None:
    """A follower that downloaded a snapshot past its log restarts the log there."""
    log = make()
    write(log, (1, 2, 1))
    assert not log.truncate_to_latest_snapshot()
    raw = log.create_snapshot(OffsetAndEpoch(50, 4))
    assert raw is not None
    leader = make()
    write(leader, (4, 1, 1))
    leader.update_high_watermark(1)
    _snapshot(leader, OffsetAndEpoch(1, 4), [b"s"])
    leader_reader = leader.read_snapshot(OffsetAndEpoch(1, 4))
    assert leader_reader is not None
    raw.append(leader_reader.read(0, leader_reader.size()))
    raw.freeze()
    assert log.truncate_to_latest_snapshot()
    assert (log.start_offset, log.end_offset, log.last_fetched_epoch) == (50, 50, 4)
    assert log.end_offset_for_epoch(4) == OffsetAndEpoch(50, 4)
    assert not log.truncate_to_latest_snapshot()
    write(log, (5, 1, 2))
    assert log.end_offset == 52
    assert log.end_offset_for_epoch(4) == OffsetAndEpoch(50, 4)


def check_aborted_snapshot_is_invisible(make: MakeLog) -> None:
    log = make()
    raw = log.create_snapshot(OffsetAndEpoch(10, 1))
    assert raw is not None
    raw.append(b"partial")
    assert log.read_snapshot(OffsetAndEpoch(10, 1)) is None
    raw.abort()
    assert log.latest_snapshot_id() is None


def check_flushed_data_survives(make: MakeLog, reopen: Reopen) -> None:
    log = make()
    write(log, (1, 3, 2), (2, 1, 1))
    log.flush(log.end_offset)
    assert log.flushed_offset == 7
    log.update_high_watermark(7)
    _snapshot(log, OffsetAndEpoch(4, 1), [b"s"])
    before = log.read(0, 1 << 20)
    log = reopen(log)
    assert log.read(0, 1 << 20) == before
    assert log.end_offset_for_epoch(1) == OffsetAndEpoch(6, 1)
    assert log.latest_snapshot_id() == OffsetAndEpoch(4, 1)


CHECKS: list[Callable[[MakeLog], None]] = [
    check_empty_log,
    check_epochs,
    check_leader_append_rejects_other_epochs,
    check_follower_append,
    check_read,
    check_truncate,
    check_validate_and_reconcile,
    check_snapshots,
    check_snapshot_beyond_the_log,
    check_aborted_snapshot_is_invisible,
]
