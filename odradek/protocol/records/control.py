"""Control batches: records the broker writes for itself, never handed to applications.

A control batch has the control bit (5) of its attributes set and holds one record,
the *control record* (``docs/implementation.html``, "Control Batches"). Its key is::

    version: int16   (0)
    type: int16      0 ABORT, 1 COMMIT, 2 LEADER_CHANGE, 3 SNAPSHOT_HEADER,
                     4 SNAPSHOT_FOOTER, 5 KRAFT_VERSION, 6 KRAFT_VOTERS

and its value depends on the type. ABORT and COMMIT are the end-transaction markers
that the transaction coordinator asks partition leaders to append; their value is::

    version: int16            (0)
    coordinatorEpoch: int32

The other types belong to KRaft (the metadata log and its snapshots). Their values
are message structs generated from Kafka's JSON specs, so this module hands them out
as raw bytes.

Readers follow Kafka's ``ControlRecordType`` and ``EndTransactionMarker``: a key or
value shorter than its schema, or a negative version, is invalid; a newer version is
read as version 0, whose fields are a prefix of any later one.
"""

from __future__ import annotations

import enum
import struct
from typing import NamedTuple

from odradek.protocol.primitives import Buffer, DecodeError, EncodeError
from odradek.protocol.records.batch import RecordBatch, make_attributes
from odradek.protocol.records.batch_header import NO_PARTITION_LEADER_EPOCH, NO_SEQUENCE
from odradek.protocol.records.record import Record


class ControlRecordType(enum.IntEnum):
    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2
    SNAPSHOT_HEADER = 3
    SNAPSHOT_FOOTER = 4
    KRAFT_VERSION = 5
    KRAFT_VOTERS = 6


CONTROL_KEY_VERSION = 0
END_TXN_MARKER_VERSION = 0

_CONTROL_KEY = struct.Struct(">hh")
_END_TXN_MARKER = struct.Struct(">hi")


class ControlKey(NamedTuple):
    """The key of a control record. ``type`` may be a type this code does not know."""

    version: int
    type: int


class EndTxnMarker(NamedTuple):
    """The value of an ABORT or COMMIT control record."""

    version: int
    coordinator_epoch: int


def encode_control_key(control_type: int, version: int = CONTROL_KEY_VERSION) -> bytes:
    try:
        return _CONTROL_KEY.pack(version, control_type)
    except struct.error as exc:
        raise EncodeError(f"control key out of range: {exc}") from exc


def decode_control_key(key: Buffer | None) -> ControlKey:
    if key is None or len(key) < _CONTROL_KEY.size:
        raise DecodeError("control record key is shorter than 4 bytes")
    version, control_type = _CONTROL_KEY.unpack_from(key)
    if version < 0:
        raise DecodeError(f"invalid control record key version {version}")
    return ControlKey(version, control_type)


def encode_end_txn_marker(coordinator_epoch: int, version: int = END_TXN_MARKER_VERSION) -> bytes:
    try:
        return _END_TXN_MARKER.pack(version, coordinator_epoch)
    except struct.error as exc:
        raise EncodeError(f"end transaction marker out of range: {exc}") from exc


def decode_end_txn_marker(value: Buffer | None) -> EndTxnMarker:
    if value is None or len(value) < _END_TXN_MARKER.size:
        raise DecodeError("end transaction marker value is shorter than 6 bytes")
    version, coordinator_epoch = _END_TXN_MARKER.unpack_from(value)
    if version < 0:
        raise DecodeError(f"invalid end transaction marker version {version}")
    return EndTxnMarker(version, coordinator_epoch)


def control_record(batch: RecordBatch) -> tuple[ControlKey, bytes | None]:
    """The key and raw value of a control batch's control record."""
    if not batch.is_control:
        raise DecodeError("not a control batch")
    if len(batch.records) != 1:
        raise DecodeError(f"control batch holds {len(batch.records)} records, not 1")
    record = batch.records[0]
    return decode_control_key(record.key), record.value


def control_batch(
    control_type: int,
    value: bytes,
    *,
    timestamp: int,
    base_offset: int = 0,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    producer_id: int = -1,
    producer_epoch: int = -1,
    transactional: bool = False,
) -> RecordBatch:
    """A control batch with one control record of ``control_type`` carrying ``value``."""
    record = Record(0, 0, encode_control_key(control_type), value)
    return RecordBatch.of(
        [record],
        base_timestamp=timestamp,
        base_offset=base_offset,
        attributes=make_attributes(control=True, transactional=transactional),
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=NO_SEQUENCE,
        partition_leader_epoch=partition_leader_epoch,
    )


def end_txn_marker_batch(
    *,
    commit: bool,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    timestamp: int,
    base_offset: int = 0,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
) -> RecordBatch:
    """The COMMIT or ABORT marker a partition leader appends to end a transaction.

    Like Kafka's ``MemoryRecords.withEndTransactionMarker``: a transactional control
    batch of the producer, with no sequence number.
    """
    return control_batch(
        ControlRecordType.COMMIT if commit else ControlRecordType.ABORT,
        encode_end_txn_marker(coordinator_epoch),
        timestamp=timestamp,
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        transactional=True,
    )
