"""The offset, time and transaction indexes: Kafka's file formats and lookup rules."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from odradek.storage.offset_index import OffsetIndex, OffsetPosition
from odradek.storage.time_index import TimeIndex, TimestampOffset
from odradek.storage.txn_index import AbortedTxn, TransactionIndex


def test_offset_index_is_preallocated_and_trimmed_to_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000100.index"
    index = OffsetIndex(path, 100, 1000)
    assert path.stat().st_size == 1000 // 8 * 8
    index.append(105, 0)
    index.append(110, 4096)
    index.close()
    assert path.read_bytes() == struct.pack(">iiii", 5, 0, 10, 4096)
    reopened = OffsetIndex(path, 100, 1000)
    assert reopened.entries == 2
    assert reopened.last_offset == 110


def test_offset_index_lookup_takes_the_largest_entry_at_or_below(tmp_path: Path) -> None:
    index = OffsetIndex(tmp_path / "0.index", 0, 8 * 10_000)
    for i in range(1, 5000):
        index.append(i * 10, i * 100)
    assert index.lookup(5) == OffsetPosition(0, 0)  # before the first entry: segment start
    assert index.lookup(10) == OffsetPosition(10, 100)
    assert index.lookup(19) == OffsetPosition(10, 100)
    assert index.lookup(49_990) == OffsetPosition(49_990, 499_900)
    assert index.lookup(10**9) == OffsetPosition(49_990, 499_900)
    # Both the warm tail and the cold head of the index answer the same way.
    for target in (15, 1234, 30_000, 49_000, 49_985):
        assert index.lookup(target).offset == target // 10 * 10


def test_offset_index_refuses_offsets_that_do_not_grow(tmp_path: Path) -> None:
    index = OffsetIndex(tmp_path / "0.index", 0, 80)
    index.append(5, 0)
    with pytest.raises(ValueError, match="not above"):
        index.append(5, 10)
    for i in range(9):
        index.append(6 + i, i)
    with pytest.raises(ValueError, match="full"):
        index.append(100, 100)


def test_offset_index_truncation_keeps_entries_below_the_offset(tmp_path: Path) -> None:
    index = OffsetIndex(tmp_path / "0.index", 0, 800)
    for i in range(1, 11):
        index.append(i * 10, i)
    index.truncate_to(50)
    assert index.entries == 4
    assert index.last_offset == 40
    index.truncate_to(45)
    assert index.entries == 4
    index.truncate_to(0)
    assert index.entries == 0
    assert index.last_offset == 0


def test_fetch_upper_bound_finds_the_first_entry_past_a_position(tmp_path: Path) -> None:
    index = OffsetIndex(tmp_path / "0.index", 0, 800)
    for i in range(1, 11):
        index.append(i * 10, i * 1000)
    assert index.fetch_upper_bound_offset(1000, 2500) == 40
    assert index.fetch_upper_bound_offset(9000, 5000) is None


def test_time_index_keeps_only_growing_timestamps_and_a_spare_slot(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000000.timeindex"
    index = TimeIndex(path, 0, 12 * 4)
    index.maybe_append(100, 3)
    index.maybe_append(100, 5)  # same timestamp: nothing new
    index.maybe_append(200, 7)
    assert index.entries == 2
    index.maybe_append(300, 9)
    assert index.is_full()  # the last slot is kept for the entry written on roll
    index.maybe_append(400, 11, skip_full_check=True)
    assert index.lookup(250) == TimestampOffset(200, 7)
    assert index.lookup(50) == TimestampOffset(-1, 0)
    index.close()
    assert path.read_bytes() == b"".join(
        struct.pack(">qi", ts, off) for ts, off in [(100, 3), (200, 7), (300, 9), (400, 11)]
    )


def test_time_index_truncation_goes_by_offset(tmp_path: Path) -> None:
    index = TimeIndex(tmp_path / "0.timeindex", 0, 12 * 10)
    for i in range(1, 6):
        index.maybe_append(i * 100, i * 10)
    index.truncate_to(30)
    assert index.last_entry == TimestampOffset(200, 20)
    index.truncate_to(25)
    assert index.entries == 2


def test_transaction_index_entries_and_search(tmp_path: Path) -> None:
    path = tmp_path / "00000000000000000000.txnindex"
    index = TransactionIndex(path, 0)
    index.append(AbortedTxn(1, 0, 10, 11))
    index.append(AbortedTxn(2, 5, 20, 21))
    index.append(AbortedTxn(3, 30, 40, 41))
    assert path.stat().st_size == 3 * 34
    assert path.read_bytes()[:34] == struct.pack(">hqqqq", 0, 1, 0, 10, 11)
    found = index.collect_aborted_txns(8, 25)
    assert [t.producer_id for t in found.aborted] == [1, 2]
    assert found.is_complete  # the LSO after the second marker is past the range
    with pytest.raises(ValueError, match="not after"):
        index.append(AbortedTxn(4, 1, 40, 50))
    index.truncate_to(20)
    assert [t.producer_id for t in index.all_aborted_txns()] == [1]
    index.close()
    assert [t.producer_id for t in TransactionIndex(path, 0).all_aborted_txns()] == [1]
