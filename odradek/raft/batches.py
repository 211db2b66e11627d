"""The batches of the metadata log: what the leader writes, and what listeners are given.

The Raft log is an ordinary Kafka log of RecordBatches (magic 2;
``docs/implementation.html``, "Record Batch" and "Control Batches"). The core carries
records as opaque bytes: the metadata layer frames its records inside them
(:mod:`odradek.metadata.serde`). Like Kafka's ``BatchBuilder``, a data batch has null
keys, the append time as base and max timestamp, every timestamp delta 0, no producer id,
and the leader's epoch as its partition leader epoch.

Control batches belong to Raft itself. A new leader's first record is a
``LeaderChangeMessage`` (``clients/LeaderChangeMessage.json``, control type 2) naming it
and the voters that elected it: committing it is how the leader learns that everything
before it is committed too (see :mod:`odradek.raft.leader_state`).

:func:`split_batches` reads only headers, for the log implementations;
:func:`decode_batches` decodes records, for handing committed batches to listeners.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from odradek.protocol.codec import decode, encode
from odradek.protocol.messages.clients.leader_change_message import LeaderChangeMessage, Voter
from odradek.protocol.primitives import Buffer, DecodeError
from odradek.protocol.records.batch import RecordBatch, batch_size_at, decode_batch, encode_batch
from odradek.protocol.records.batch_header import (
    ATTRIBUTES_OFFSET,
    CONTROL_FLAG,
    CURRENT_MAGIC,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
)
from odradek.protocol.records.control import ControlRecordType, control_batch, control_record
from odradek.protocol.records.crc import crc32c
from odradek.protocol.records.record import Record

#: The version of LeaderChangeMessage Kafka writes (ControlRecordUtils).
LEADER_CHANGE_VERSION = 0


class BatchInfo(NamedTuple):
    """A batch's place in the log, read from its header alone."""

    base_offset: int
    last_offset: int
    epoch: int
    is_control: bool
    data: bytes


def split_batches(data: Buffer, *, verify_crc: bool = True) -> list[BatchInfo]:
    """The batches of ``data``, which must hold whole batches only."""
    view = memoryview(data)
    batches: list[BatchInfo] = []
    position = 0
    total = len(view)
    while position < total:
        if total - position < HEADER_SIZE:
            raise DecodeError(f"{total - position} bytes at {position} cannot hold a batch")
        (base, length, epoch, magic, crc, attributes, last_delta, *_) = HEADER_STRUCT.unpack_from(
            view, position
        )
        size = length + LOG_OVERHEAD
        if magic != CURRENT_MAGIC or size < HEADER_SIZE or position + size > total:
            raise DecodeError(f"malformed batch header at {position}")
        if verify_crc and crc32c(view[position + ATTRIBUTES_OFFSET : position + size]) != crc:
            raise DecodeError(f"batch at offset {base} fails its CRC-32C")
        batches.append(
            BatchInfo(
                base,
                base + last_delta,
                epoch,
                bool(attributes & CONTROL_FLAG),
                bytes(view[position : position + size]),
            )
        )
        position += size
    return batches


def whole_batches(data: Buffer) -> memoryview:
    """``data`` without a partial batch at its end.

    A Fetch response may end with the first part of a batch that did not fit its size
    limit (Kafka reads by bytes); that part is dropped and fetched again whole.
    """
    view = memoryview(data)
    position = 0
    while len(view) - position >= LOG_OVERHEAD:
        size = batch_size_at(view, position)
        if size is None:
            break
        position += size
    return view[:position]


def data_batch(
    records: Sequence[bytes], *, base_offset: int, epoch: int, append_time_ms: int
) -> bytes:
    """A data batch of ``records`` (values; null keys), as the leader writes it."""
    if not records:
        raise ValueError("a batch needs at least one record")
    batch = RecordBatch.of(
        [Record(i, 0, None, value) for i, value in enumerate(records)],
        base_timestamp=append_time_ms,
        base_offset=base_offset,
        partition_leader_epoch=epoch,
    )
    return encode_batch(batch)


def leader_change_batch(
    leader_id: int,
    voters: Iterable[int],
    granting_voters: Iterable[int],
    *,
    base_offset: int,
    epoch: int,
    append_time_ms: int,
) -> bytes:
    """The control batch a new leader writes first in its epoch."""
    message = LeaderChangeMessage(
        version=LEADER_CHANGE_VERSION,
        leader_id=leader_id,
        voters=[Voter(voter_id=v) for v in sorted(voters)],
        granting_voters=[Voter(voter_id=v) for v in sorted(granting_voters)],
    )
    batch = control_batch(
        ControlRecordType.LEADER_CHANGE,
        encode(message, LEADER_CHANGE_VERSION),
        timestamp=append_time_ms,
        base_offset=base_offset,
        partition_leader_epoch=epoch,
    )
    return encode_batch(batch)


def decode_leader_change(value: bytes) -> LeaderChangeMessage:
    return decode(LeaderChangeMessage, value, LEADER_CHANGE_VERSION, allow_trailing=True)


class ControlRecord(NamedTuple):
    """A control record: its type (:class:`ControlRecordType`) and raw value."""

    type: int
    value: bytes


@dataclass(frozen=True, slots=True)
class CommittedBatch:
    """One batch of the log, decoded: what ``handle_commit`` hands the state machine.

    A data batch has ``records`` (the values, in offset order); a control batch has
    ``control_records`` instead. Kafka's ``Batch``.
    """

    base_offset: int
    last_offset: int
    epoch: int
    append_time_ms: int
    size_bytes: int
    records: tuple[bytes, ...] = ()
    control_records: tuple[ControlRecord, ...] = ()

    @property
    def is_control(self) -> bool:
        return bool(self.control_records)


def decode_batches(data: Buffer) -> list[CommittedBatch]:
    """Decode whole batches into :class:`CommittedBatch` (records as value bytes)."""
    result: list[CommittedBatch] = []
    for info in split_batches(data, verify_crc=False):
        batch = decode_batch(info.data, verify_crc=False)
        records: tuple[bytes, ...] = ()
        controls: tuple[ControlRecord, ...] = ()
        if batch.is_control:
            # Compaction can empty a control batch; it then carries nothing.
            if batch.records:
                key, value = control_record(batch)
                controls = (ControlRecord(key.type, value or b""),)
        else:
            records = tuple(r.value or b"" for r in batch.records)
        result.append(
            CommittedBatch(
                batch.base_offset,
                batch.last_offset,
                batch.partition_leader_epoch,
                batch.max_timestamp,
                len(info.data),
                records,
                controls,
            )
        )
    return result
