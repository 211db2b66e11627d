"""Idempotent and transactional producers: Kafka's sequence, epoch and transaction rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from odradek.storage.config import LogConfig
from odradek.storage.errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)
from odradek.storage.log import FetchIsolation, Log
from odradek.storage.producer_state import AppendOrigin
from odradek.storage.txn_index import AbortedTxn
from tests.storage.batches import batch, marker, read_records

PID = 1000


class Clock:
    def __init__(self) -> None:
        self.now = 10_000

    def __call__(self) -> int:
        return self.now


def open_log(path: Path, clock: Clock | None = None, **config: object) -> Log:
    return Log.open(
        path / "t-0",
        LogConfig().with_overrides(**config),
        time_ms=clock or Clock(),
        producer_id_expiration_ms=60_000,
    )


def produce(log: Log, seq: int, count: int = 1, epoch: int = 0, pid: int = PID, **kw: object):  # type: ignore[no-untyped-def]
    data = batch(
        [b"%d" % (seq + i) for i in range(count)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        **kw,  # type: ignore[arg-type]
    )
    return log.append_as_leader(data, leader_epoch=0)


def test_sequences_must_follow_each_other(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    produce(log, 0, 3)
    produce(log, 3, 2)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 7)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 4)  # overlaps without matching a cached batch
    assert log.log_end_offset == 5


def test_a_retry_of_one_of_the_last_five_batches_returns_its_offsets(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    for i in range(7):
        produce(log, i * 2, 2)
    retry = produce(log, 6, 2)
    assert retry.duplicate
    assert (retry.first_offset, retry.last_offset) == (6, 7)
    assert log.log_end_offset == 14  # nothing written
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 2, 2)  # older than the five kept batches


def test_epochs(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    produce(log, 0, epoch=3)
    with pytest.raises(InvalidProducerEpochError):
        produce(log, 1, epoch=2)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 5, epoch=4)  # a new epoch starts at sequence 0
    produce(log, 0, epoch=4)
    produce(log, 1, epoch=4)
    assert log.log_end_offset == 3


def test_an_unknown_producer_may_start_at_any_sequence(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    produce(log, 42)
    produce(log, 43)


def test_sequence_numbers_wrap(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    produce(log, 2**31 - 2, 2)
    produce(log, 0)
    with pytest.raises(OutOfOrderSequenceError):
        produce(log, 5)


def test_replication_and_coordinator_appends_are_not_sequence_checked(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    produce(log, 0)
    data = batch([b"x"], producer_id=PID, producer_epoch=0, base_sequence=9)
    log.append_as_leader(data, leader_epoch=0, origin=AppendOrigin.COORDINATOR)
    follower = Log.open(tmp_path / "t-1")
    follower.append_as_follower(batch([b"x"], producer_id=PID, producer_epoch=0, base_sequence=0))
    follower.append_as_follower(
        batch([b"y"], producer_id=PID, producer_epoch=0, base_sequence=77, base_offset=1)
    )
    assert follower.log_end_offset == 2


def test_producer_state_survives_restarts(tmp_path: Path) -> None:
    for clean in (True, False):
        path = tmp_path / str(clean)
        log = open_log(path, segment_bytes=500)
        for i in range(10):
            produce(log, i)
        log.flush()
        if clean:
            log.close()
        reopened = Log.open(
            path / "t-0", LogConfig(segment_bytes=500), time_ms=Clock(), had_clean_shutdown=clean
        )
        assert produce(reopened, 9).duplicate
        with pytest.raises(OutOfOrderSequenceError):
            produce(reopened, 11)
        produce(reopened, 10)


def test_idle_producers_expire(tmp_path: Path) -> None:
    clock = Clock()
    log = open_log(tmp_path, clock)
    produce(log, 0, timestamp=clock.now)
    clock.now += 60_000
    log.remove_expired_producers()
    assert log.producer_state.last_entry(PID) is None
    produce(log, 57)  # forgotten: any sequence is accepted again


def begin(log: Log, seq: int, values: int = 1, pid: int = PID, epoch: int = 0) -> None:
    data = batch(
        [b"t%d" % (seq + i) for i in range(values)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        transactional=True,
    )
    log.append_as_leader(data, leader_epoch=0)


def end(log: Log, commit: bool, pid: int = PID, epoch: int = 0, coordinator_epoch: int = 0) -> None:
    data = marker(
        commit=commit, producer_id=pid, producer_epoch=epoch, coordinator_epoch=coordinator_epoch
    )
    log.append_as_leader(data, leader_epoch=0, origin=AppendOrigin.COORDINATOR)


def test_open_transactions_hold_back_the_last_stable_offset(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append_as_leader(batch([b"plain"]), leader_epoch=0)
    begin(log, 0, 2)  # offsets 1-2
    log.append_as_leader(batch([b"plain"]), leader_epoch=0)  # offset 3
    log.update_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == 1
    committed = read_records(log, 0, FetchIsolation.TXN_COMMITTED)
    assert [r.offset for r in committed] == [0]
    end(log, commit=True)  # marker at 4
    assert log.last_stable_offset == 1  # decided, but the marker is not replicated yet
    log.update_high_watermark(log.log_end_offset)
    assert log.last_stable_offset == 5
    assert [r.offset for r in read_records(log, 0, FetchIsolation.TXN_COMMITTED)] == [0, 1, 2, 3]


def test_aborted_transactions_go_to_the_transaction_index(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    begin(log, 0, 2, pid=1)  # 0-1
    begin(log, 0, 1, pid=2)  # 2
    end(log, commit=False, pid=1)  # 3
    end(log, commit=True, pid=2)  # 4
    log.update_high_watermark(log.log_end_offset)
    assert log.active_segment.txn_index.all_aborted_txns() == [AbortedTxn(1, 0, 3, 2)]
    info = log.read(0, 10_000, FetchIsolation.TXN_COMMITTED)
    assert info.aborted_transactions == [AbortedTxn(1, 0, 3, 2)]
    assert log.read(0, 10_000, FetchIsolation.HIGH_WATERMARK).aborted_transactions is None


def test_transaction_rules(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    begin(log, 0)
    with pytest.raises(InvalidTxnStateError):
        produce(log, 1)  # a plain batch inside an open transaction
    end(log, commit=True, coordinator_epoch=5)
    begin(log, 1)
    with pytest.raises(TransactionCoordinatorFencedError):
        end(log, commit=True, coordinator_epoch=4)
    end(log, commit=False, coordinator_epoch=5)
    assert log.producer_state.first_undecided_offset() is None


def test_transaction_state_is_rebuilt_from_the_log_after_a_crash(tmp_path: Path) -> None:
    log = open_log(tmp_path, segment_bytes=400)
    begin(log, 0, 1, pid=1)
    for i in range(6):
        produce(log, i, pid=2)
    end(log, commit=False, pid=1)
    begin(log, 1, 1, pid=1)
    log.flush()
    reopened = Log.open(tmp_path / "t-0", LogConfig(segment_bytes=400), time_ms=Clock())
    reopened.update_high_watermark(reopened.log_end_offset)
    open_txn_start = log.log_end_offset - 1
    assert reopened.last_stable_offset == open_txn_start
    aborted = reopened.collect_aborted_transactions(0, reopened.log_end_offset)
    assert [(t.producer_id, t.first_offset) for t in aborted] == [(1, 0)]
