"""Checking a produce request's records, and stamping offsets on them: the hot path.

Every batch a client produces passes through here once, so this module works on the
61-byte header alone: it never decodes or decompresses records. One ``struct``
unpack, a handful of integer comparisons and one CRC-32C over the batch are all a
valid batch costs; the checksum, computed in C, dominates.

**The rules** are those Apache Kafka applies to a client's Produce (v3 and later,
record batches of magic 2), in the order Kafka meets them:
``ProduceRequest.validateRecords``, then ``UnifiedLog.analyzeAndValidateRecords``,
then ``LogValidator.validateBatch``. Each maps to the error code Kafka answers with:

====================================================  =================================
violation                                             error code
====================================================  =================================
fewer than 12 bytes, or no complete batch             INVALID_RECORD (87)
batchLength below the 61-byte header                  CORRUPT_MESSAGE (2)
magic byte outside 0..2                               CORRUPT_MESSAGE (2)
magic 0 or 1 (Produce v3+ carries magic 2 only)       INVALID_RECORD (87)
compression id above 4                                CORRUPT_MESSAGE (2)
zstd in a Produce request below v7                    UNSUPPORTED_COMPRESSION_TYPE (76)
more than one batch, or bytes after the batch         INVALID_RECORD (87)
baseOffset other than 0                               INVALID_RECORD (87)
batch larger than max.message.bytes                   MESSAGE_TOO_LARGE (10)
CRC-32C mismatch                                      CORRUPT_MESSAGE (2)
lastOffsetDelta < 0, recordsCount < 1, or
recordsCount != lastOffsetDelta + 1                   INVALID_RECORD (87)
control batch (only brokers write those)              INVALID_RECORD (87)
producerId set but baseSequence < 0                   INVALID_RECORD (87)
transactional but no producerId                       INVALID_RECORD (87)
timestamp type LogAppendTime set by the client        INVALID_TIMESTAMP (32)
====================================================  =================================

Two departures from Kafka, both stricter: Kafka silently drops a partial batch after
the first one (we refuse any trailing bytes), and Kafka does not check a
transactional batch for a producer id (no client sends one without). Kafka also
rejects a client's LogAppendTime bit only record by record; here the batch attribute
decides. The checks that need records decoded (keys on compacted topics, per-record
timestamp bounds) are not made on this path.

**Offsets.** :func:`assign_offsets` then writes the partition's next offset into
baseOffset and the leader epoch into partitionLeaderEpoch. Both lie outside the
CRC, so the batch is stored byte for byte as the client sent it. For a topic with
``message.timestamp.type=LogAppendTime`` it also sets the timestamp-type bit and
maxTimestamp to the append time, which changes covered bytes, so the CRC is
recomputed, exactly as Kafka's ``DefaultRecordBatch.setMaxTimestamp`` does.

Spec: ``docs/implementation.html`` ("Record Batch"), ``docs/protocol.html``
(Produce), ``clients/ProduceRequest.json`` (version notes).
"""

from __future__ import annotations

import struct

from odradek.protocol.primitives import Buffer
from odradek.protocol.records.batch_header import (
    ATTRIBUTES_OFFSET,
    COMPRESSION_MASK,
    CONTROL_FLAG,
    CRC_OFFSET,
    CURRENT_MAGIC,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    MAGIC_OFFSET,
    MAX_TIMESTAMP_OFFSET,
    OFFSET_AND_LENGTH,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_FLAG,
    BatchHeader,
    read_header,
)
from odradek.protocol.records.compression import Compression
from odradek.protocol.records.crc import crc32c

# Kafka error codes (the numbers of org.apache.kafka.common.protocol.Errors), kept
# here until the protocol package has its table of error codes.
CORRUPT_MESSAGE = 2
MESSAGE_TOO_LARGE = 10
INVALID_TIMESTAMP = 32
UNSUPPORTED_COMPRESSION_TYPE = 76
INVALID_RECORD = 87

#: The newest Produce version; the one rule that depends on the version is zstd.
LATEST_PRODUCE_VERSION = 11
ZSTD_MIN_PRODUCE_VERSION = 7
#: No limit on the batch size beyond what batchLength (an int32) can say.
NO_SIZE_LIMIT = 2**31 - 1 + LOG_OVERHEAD

_MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD
# Kafka reads the magic byte once the first 17 bytes are in, before the batch is complete.
_HEADER_UP_TO_MAGIC = MAGIC_OFFSET + 1
_CLIENT_FORBIDDEN_ATTRIBUTES = CONTROL_FLAG | TIMESTAMP_TYPE_MASK
# Plain ints: the fast path compares against them on every batch.
_LZ4 = int(Compression.LZ4)
_ZSTD = int(Compression.ZSTD)

_unpack_header = HEADER_STRUCT.unpack_from
_make_header = BatchHeader._make
_OFFSET_LENGTH_EPOCH = struct.Struct(">qii")
_ATTRIBUTES = struct.Struct(">h")
_TIMESTAMP = struct.Struct(">q")
_CRC = struct.Struct(">I")


class RecordValidationError(Exception):
    """Records a broker must refuse, with the Kafka error code to answer with."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code

    def __repr__(self) -> str:
        return f"RecordValidationError({self.error_code}, {str(self)!r})"


def validate_produce_records(
    records: Buffer,
    produce_version: int = LATEST_PRODUCE_VERSION,
    max_batch_size: int = NO_SIZE_LIMIT,
) -> BatchHeader:
    """Check the records of one partition of a Produce request; return the batch header.

    ``records`` is the partition's ``Records`` field, ideally a ``memoryview`` into
    the request frame (it is not copied). ``max_batch_size`` is the topic's
    ``max.message.bytes``. The header returned carries what the broker needs to
    check producer state: records_count, producer_id, producer_epoch,
    base_sequence and last_sequence, max_timestamp, is_transactional.

    Raises :class:`RecordValidationError` with the error code of the first rule
    broken (see the module docstring) and nothing else.
    """
    if type(records) is not memoryview:
        records = memoryview(records)
    size = len(records)
    if size >= HEADER_SIZE:
        fields = _unpack_header(records, 0)
        (
            base_offset,
            batch_length,
            _,
            magic,
            crc,
            attributes,
            last_offset_delta,
            _,
            _,
            producer_id,
            _,
            base_sequence,
            records_count,
        ) = fields
        # All the rules of _first_violation in one expression, cheapest first; when
        # any fails, _first_violation names the one Kafka would report.
        if (
            batch_length + LOG_OVERHEAD == size
            and magic == CURRENT_MAGIC
            and base_offset == 0
            and size <= max_batch_size
            and not attributes & _CLIENT_FORBIDDEN_ATTRIBUTES
            and (attributes & COMPRESSION_MASK)
            <= (_ZSTD if produce_version >= ZSTD_MIN_PRODUCE_VERSION else _LZ4)
            and 0 < records_count == last_offset_delta + 1
            and (producer_id < 0 or base_sequence >= 0)
            and (producer_id >= 0 or not attributes & TRANSACTIONAL_FLAG)
            and crc32c(records[ATTRIBUTES_OFFSET:]) == crc
        ):
            return _make_header(fields)
    raise _first_violation(records, produce_version, max_batch_size)


def _first_violation(
    view: memoryview, produce_version: int, max_batch_size: int
) -> RecordValidationError:
    """The rules one by one, in Kafka's order: the error for the first one broken."""
    size = len(view)
    if size < LOG_OVERHEAD:
        return RecordValidationError(INVALID_RECORD, "no record batch in the partition data")
    _, batch_length = OFFSET_AND_LENGTH.unpack_from(view, 0)
    if batch_length < _MIN_BATCH_LENGTH:
        return RecordValidationError(
            CORRUPT_MESSAGE, f"batch length {batch_length} is below the minimum {_MIN_BATCH_LENGTH}"
        )
    if size < _HEADER_UP_TO_MAGIC:
        return RecordValidationError(INVALID_RECORD, "no complete record batch")
    magic = struct.unpack_from(">b", view, MAGIC_OFFSET)[0]
    if not 0 <= magic <= CURRENT_MAGIC:
        return RecordValidationError(CORRUPT_MESSAGE, f"invalid magic {magic}")
    if batch_length + LOG_OVERHEAD > size:
        return RecordValidationError(
            INVALID_RECORD,
            f"batch of {batch_length + LOG_OVERHEAD} bytes is cut short at {size} bytes",
        )
    if magic != CURRENT_MAGIC:
        return RecordValidationError(
            INVALID_RECORD, f"Produce v3+ carries record batches of magic 2, not {magic}"
        )
    header = read_header(view)
    codec = header.attributes & COMPRESSION_MASK
    if codec > Compression.ZSTD:
        return RecordValidationError(CORRUPT_MESSAGE, f"unknown compression codec {codec}")
    if codec == Compression.ZSTD and produce_version < ZSTD_MIN_PRODUCE_VERSION:
        return RecordValidationError(
            UNSUPPORTED_COMPRESSION_TYPE,
            f"Produce v{produce_version} cannot carry zstd (v{ZSTD_MIN_PRODUCE_VERSION}+)",
        )
    if header.size != size:
        return RecordValidationError(
            INVALID_RECORD, "Produce carries exactly one record batch per partition"
        )
    if header.base_offset != 0:
        return RecordValidationError(
            INVALID_RECORD, f"a client's batch has baseOffset 0, not {header.base_offset}"
        )
    if header.size > max_batch_size:
        return RecordValidationError(
            MESSAGE_TOO_LARGE,
            f"batch of {header.size} bytes exceeds max.message.bytes {max_batch_size}",
        )
    if crc32c(view[ATTRIBUTES_OFFSET:]) != header.crc:
        return RecordValidationError(CORRUPT_MESSAGE, "record batch fails its CRC-32C")
    if header.last_offset_delta < 0:
        return RecordValidationError(
            INVALID_RECORD, f"invalid lastOffsetDelta {header.last_offset_delta}"
        )
    if header.records_count <= 0:
        return RecordValidationError(INVALID_RECORD, f"invalid record count {header.records_count}")
    if header.records_count != header.last_offset_delta + 1:
        return RecordValidationError(
            INVALID_RECORD,
            f"record count {header.records_count} disagrees with lastOffsetDelta "
            f"{header.last_offset_delta}",
        )
    if header.is_control:
        return RecordValidationError(INVALID_RECORD, "clients may not write control batches")
    if header.producer_id >= 0 and header.base_sequence < 0:
        return RecordValidationError(
            INVALID_RECORD,
            f"invalid sequence {header.base_sequence} with producerId {header.producer_id}",
        )
    if header.is_transactional and header.producer_id < 0:
        return RecordValidationError(INVALID_RECORD, "transactional batch without a producerId")
    if header.is_log_append_time:
        return RecordValidationError(
            INVALID_TIMESTAMP, "producers may not set the timestamp type to LogAppendTime"
        )
    raise AssertionError("validate_produce_records rejected a batch that breaks no rule")


def assign_offsets(
    buf: bytearray | memoryview,
    header: BatchHeader,
    base_offset: int,
    partition_leader_epoch: int,
    log_append_time_ms: int | None = None,
    position: int = 0,
) -> BatchHeader:
    """Stamp a validated batch, in place, for appending at ``base_offset``.

    ``buf`` is writable and holds the batch at ``position``; ``header`` is what
    :func:`validate_produce_records` returned for it. With ``log_append_time_ms``
    the batch becomes LogAppendTime and its CRC is recomputed. Returns the header as
    it now stands.
    """
    _OFFSET_LENGTH_EPOCH.pack_into(
        buf, position, base_offset, header.batch_length, partition_leader_epoch
    )
    attributes = header.attributes
    max_timestamp = header.max_timestamp
    crc = header.crc
    if log_append_time_ms is not None:
        attributes |= TIMESTAMP_TYPE_MASK
        max_timestamp = log_append_time_ms
        _ATTRIBUTES.pack_into(buf, position + ATTRIBUTES_OFFSET, attributes)
        _TIMESTAMP.pack_into(buf, position + MAX_TIMESTAMP_OFFSET, max_timestamp)
        end = position + header.batch_length + LOG_OVERHEAD
        crc = crc32c(memoryview(buf)[position + ATTRIBUTES_OFFSET : end])
        _CRC.pack_into(buf, position + CRC_OFFSET, crc)
    return _make_header(
        (
            base_offset,
            header.batch_length,
            partition_leader_epoch,
            header.magic,
            crc,
            attributes,
            header.last_offset_delta,
            header.base_timestamp,
            max_timestamp,
            header.producer_id,
            header.producer_epoch,
            header.base_sequence,
            header.records_count,
        )
    )
