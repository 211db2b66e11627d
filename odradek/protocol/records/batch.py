"""Whole RecordBatches (magic 2): decode every record, or encode them.

The broker's produce and fetch paths never come here: they read the fixed header
(:mod:`.batch_header`) and check it (:mod:`.validate`). Decoding records is for the
places whose semantics need them: control records, compaction, the coordinators'
logs, the metadata log, and tests.

A batch on the wire is the 61-byte header of :mod:`.batch_header` followed by its
records, the records compressed as one block when the attributes name a codec
(``docs/implementation.html``, "Record Batch"). :func:`decode_batch` checks the
CRC-32C, decompresses (with a bound on the output), and decodes every record;
anything inconsistent raises :class:`DecodeError`:

* fewer than 61 bytes, a magic other than 2, a ``batchLength`` below the header size
  or past the end of the buffer, a CRC that does not match;
* a negative ``recordsCount``, or more records than ``lastOffsetDelta`` leaves
  offsets for (compaction may remove records, so fewer is allowed);
* a record that is truncated or runs past the batch, a record whose fields do not
  fill its declared length exactly, and bytes left over after the last record.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence

import msgspec

from odradek.protocol.primitives import Buffer, DecodeError, EncodeError
from odradek.protocol.records.batch_header import (
    ATTRIBUTES_OFFSET,
    COMPRESSION_MASK,
    CONTROL_FLAG,
    CRC_OFFSET,
    CURRENT_MAGIC,
    DELETE_HORIZON_FLAG,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    MAGIC_OFFSET,
    NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    OFFSET_AND_LENGTH,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_FLAG,
    BatchHeader,
    read_header,
)
from odradek.protocol.records.compression import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    Compression,
    compress,
    decompress,
)
from odradek.protocol.records.crc import crc32c
from odradek.protocol.records.record import Record, decode_record, encode_record

#: batchLength of a batch with no records: the header minus baseOffset and batchLength.
MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD


def make_attributes(
    compression: int = Compression.NONE,
    *,
    log_append_time: bool = False,
    transactional: bool = False,
    control: bool = False,
    delete_horizon: bool = False,
) -> int:
    """The attributes int16 of a batch with these properties."""
    if not 0 <= compression <= COMPRESSION_MASK:
        raise EncodeError(f"compression id {compression} does not fit in three bits")
    return (
        compression
        | (TIMESTAMP_TYPE_MASK if log_append_time else 0)
        | (TRANSACTIONAL_FLAG if transactional else 0)
        | (CONTROL_FLAG if control else 0)
        | (DELETE_HORIZON_FLAG if delete_horizon else 0)
    )


class RecordBatch(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded RecordBatch: every header field, and its records.

    ``batchLength``, ``crc`` and ``recordsCount`` are not stored: encoding computes
    them. ``last_offset_delta`` and ``max_timestamp`` are stored rather than derived
    from the records, because compaction removes records but keeps both.
    """

    base_offset: int = 0
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH
    attributes: int = 0
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int = NO_PRODUCER_ID
    producer_epoch: int = NO_PRODUCER_EPOCH
    base_sequence: int = NO_SEQUENCE
    records: tuple[Record, ...] = ()

    @classmethod
    def of(
        cls,
        records: Sequence[Record],
        *,
        base_timestamp: int,
        base_offset: int = 0,
        attributes: int = 0,
        producer_id: int = NO_PRODUCER_ID,
        producer_epoch: int = NO_PRODUCER_EPOCH,
        base_sequence: int = NO_SEQUENCE,
        partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    ) -> RecordBatch:
        """A batch of ``records`` whose lastOffsetDelta and maxTimestamp follow from them."""
        return cls(
            base_offset=base_offset,
            partition_leader_epoch=partition_leader_epoch,
            attributes=attributes,
            last_offset_delta=max((r.offset_delta for r in records), default=-1),
            base_timestamp=base_timestamp,
            max_timestamp=base_timestamp + max((r.timestamp_delta for r in records), default=0),
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            base_sequence=base_sequence,
            records=tuple(records),
        )

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_MASK)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_FLAG)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_FLAG)

    @property
    def has_delete_horizon(self) -> bool:
        return bool(self.attributes & DELETE_HORIZON_FLAG)

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    def offset_of(self, record: Record) -> int:
        """The absolute offset of one of this batch's records."""
        return self.base_offset + record.offset_delta

    def timestamp_of(self, record: Record) -> int:
        """The timestamp of one of this batch's records.

        With LogAppendTime the broker's append time, kept in maxTimestamp, replaces
        every record's own timestamp, as Kafka's readers do.
        """
        if self.attributes & TIMESTAMP_TYPE_MASK:
            return self.max_timestamp
        return self.base_timestamp + record.timestamp_delta

    def sequence_of(self, record: Record) -> int:
        """The producer sequence number of a record, wrapping at 2**31 as Kafka does."""
        if self.base_sequence < 0:
            return NO_SEQUENCE
        return (self.base_sequence + record.offset_delta) & 0x7FFFFFFF


def decode_batch(
    buf: Buffer,
    pos: int = 0,
    *,
    verify_crc: bool = True,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> RecordBatch:
    """Decode the batch starting at ``pos`` and all its records.

    The batch may be followed by other bytes; use :func:`batch_size_at` or
    :func:`iter_batches` to walk several.
    """
    view = memoryview(buf)
    header = _checked_header(view, pos)
    end = pos + header.size
    if verify_crc and crc32c(view[pos + ATTRIBUTES_OFFSET : end]) != header.crc:
        raise DecodeError(f"batch at offset {header.base_offset} fails its CRC-32C")
    count = header.records_count
    if count < 0:
        raise DecodeError(f"negative record count {count}")
    if count > header.last_offset_delta + 1:
        raise DecodeError(
            f"{count} records cannot fit in lastOffsetDelta {header.last_offset_delta}"
        )
    body: Buffer = view[pos + HEADER_SIZE : end]
    if header.attributes & COMPRESSION_MASK:
        body = decompress(header.attributes & COMPRESSION_MASK, body, max_decompressed_size)
    records: list[Record] = []
    body_pos = 0
    body_end = len(body)
    for _ in range(count):
        if body_pos >= body_end:
            raise DecodeError(f"batch declares {count} records but holds {len(records)}")
        record, body_pos = decode_record(body, body_pos, body_end)
        records.append(record)
    if body_pos != body_end:
        raise DecodeError(f"{body_end - body_pos} bytes left after the last record")
    return RecordBatch(
        base_offset=header.base_offset,
        partition_leader_epoch=header.partition_leader_epoch,
        attributes=header.attributes,
        last_offset_delta=header.last_offset_delta,
        base_timestamp=header.base_timestamp,
        max_timestamp=header.max_timestamp,
        producer_id=header.producer_id,
        producer_epoch=header.producer_epoch,
        base_sequence=header.base_sequence,
        records=tuple(records),
    )


def _checked_header(view: memoryview, pos: int) -> BatchHeader:
    if pos < 0 or len(view) - pos < HEADER_SIZE:
        raise DecodeError(f"{len(view) - pos} bytes cannot hold a record batch header")
    magic = view[pos + MAGIC_OFFSET]
    if magic != CURRENT_MAGIC:
        raise DecodeError(f"magic {magic} is not a RecordBatch (magic 2)")
    header = read_header(view, pos)
    if header.batch_length < MIN_BATCH_LENGTH:
        raise DecodeError(f"batchLength {header.batch_length} is below the header size")
    if header.size > len(view) - pos:
        raise DecodeError(
            f"batch of {header.size} bytes runs past the end of the buffer ({len(view) - pos})"
        )
    return header


def batch_size_at(buf: Buffer, pos: int) -> int | None:
    """Total size of the batch (or legacy message) starting at ``pos``.

    Returns ``None`` if fewer than 12 bytes remain or the entry is not complete in
    ``buf``: the caller decides whether a partial tail is an error. A negative
    length is never a partial tail and raises :class:`DecodeError`.
    """
    if len(buf) - pos < LOG_OVERHEAD:
        return None
    _, length = OFFSET_AND_LENGTH.unpack_from(buf, pos)
    if length < 0:
        raise DecodeError(f"negative batch length {length}")
    size: int = length + LOG_OVERHEAD
    if size > len(buf) - pos:
        return None
    return size


def iter_batches(
    buf: Buffer,
    *,
    allow_partial_tail: bool = False,
    verify_crc: bool = True,
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> Iterator[RecordBatch]:
    """Decode every batch of a buffer holding several concatenated batches.

    A fetch response may end with a partial batch: ``allow_partial_tail`` stops
    quietly there instead of raising :class:`DecodeError`.
    """
    view = memoryview(buf)
    pos = 0
    while pos < len(view):
        size = batch_size_at(view, pos)
        if size is None:
            if allow_partial_tail:
                return
            raise DecodeError(f"partial batch of {len(view) - pos} bytes at the end")
        yield decode_batch(
            view, pos, verify_crc=verify_crc, max_decompressed_size=max_decompressed_size
        )
        pos += size


def encode_batch(batch: RecordBatch, *, compression_level: int | None = None) -> bytes:
    """Encode ``batch``: lay out the records, compress them, fill in the CRC-32C.

    The codec is the one the batch's attributes name.
    """
    body = bytearray()
    for record in batch.records:
        encode_record(record, body)
    codec = batch.attributes & COMPRESSION_MASK
    payload = compress(codec, body, compression_level) if codec else body
    out = bytearray(HEADER_SIZE)
    out += payload
    try:
        HEADER_STRUCT.pack_into(
            out,
            0,
            batch.base_offset,
            len(out) - LOG_OVERHEAD,
            batch.partition_leader_epoch,
            CURRENT_MAGIC,
            0,
            batch.attributes,
            batch.last_offset_delta,
            batch.base_timestamp,
            batch.max_timestamp,
            batch.producer_id,
            batch.producer_epoch,
            batch.base_sequence,
            len(batch.records),
        )
    except struct.error as exc:
        raise EncodeError(f"batch header field out of range: {exc}") from exc
    crc = crc32c(memoryview(out)[ATTRIBUTES_OFFSET:])
    out[CRC_OFFSET : CRC_OFFSET + 4] = crc.to_bytes(4, "big")
    return bytes(out)


def encode_batches(batches: Iterable[RecordBatch]) -> bytes:
    """Encode several batches back to back, as a log segment or fetch response holds them."""
    return b"".join(encode_batch(batch) for batch in batches)
