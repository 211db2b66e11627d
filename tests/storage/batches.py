"""Building record batches for storage tests, and reading a log back as records.

Batches are made with the record codec of :mod:`odradek.protocol.records`, exactly as a
producer or a transaction coordinator would send them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from odradek.protocol.records.batch import (
    RecordBatch,
    encode_batch,
    iter_batches,
    make_attributes,
)
from odradek.protocol.records.control import end_txn_marker_batch
from odradek.protocol.records.record import Record
from odradek.storage.log import FetchIsolation, Log


def batch(
    values: Sequence[bytes | None] = (b"v",),
    keys: Sequence[bytes | None] | None = None,
    *,
    timestamp: int = 1_000,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    compression: int = 0,
    base_offset: int = 0,
    leader_epoch: int = -1,
    timestamp_step: int = 1,
) -> bytearray:
    """One batch of records; the i-th record is timestamped ``timestamp + i * step``."""
    keys = keys if keys is not None else [None] * len(values)
    records = [
        Record(i, i * timestamp_step, key, value)
        for i, (key, value) in enumerate(zip(keys, values, strict=True))
    ]
    return bytearray(
        encode_batch(
            RecordBatch.of(
                records,
                base_timestamp=timestamp,
                base_offset=base_offset,
                attributes=make_attributes(compression, transactional=transactional),
                producer_id=producer_id,
                producer_epoch=producer_epoch,
                base_sequence=base_sequence,
                partition_leader_epoch=leader_epoch,
            )
        )
    )


def marker(
    *,
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int = 0,
    timestamp: int = 1_000,
) -> bytearray:
    """A COMMIT or ABORT control batch, as WriteTxnMarkers appends it."""
    return bytearray(
        encode_batch(
            end_txn_marker_batch(
                commit=commit,
                producer_id=producer_id,
                producer_epoch=producer_epoch,
                coordinator_epoch=coordinator_epoch,
                timestamp=timestamp,
            )
        )
    )


class StoredRecord(NamedTuple):
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


def decode(data: bytes, *, partial_tail: bool = False) -> list[RecordBatch]:
    """The batches of a read; a read cut by its byte limit may end in a partial batch."""
    return list(iter_batches(data, allow_partial_tail=partial_tail))


def read_batches(
    log: Log, start: int | None = None, isolation: FetchIsolation = FetchIsolation.LOG_END
) -> list[RecordBatch]:
    """Every batch from ``start`` (default: the log start) to the end, following reads."""
    offset = log.log_start_offset if start is None else start
    out: list[RecordBatch] = []
    while True:
        info = log.read(offset, 1 << 20, isolation)
        data = info.read()
        if not data:
            return out
        batches = decode(data)
        out.extend(batches)
        offset = batches[-1].next_offset


def read_records(
    log: Log, start: int | None = None, isolation: FetchIsolation = FetchIsolation.LOG_END
) -> list[StoredRecord]:
    """Every data record from ``start`` on (control batches left out)."""
    return [
        StoredRecord(b.offset_of(r), r.key, r.value, b.timestamp_of(r))
        for b in read_batches(log, start, isolation)
        if not b.is_control
        for r in b.records
    ]
