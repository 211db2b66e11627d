"""How metadata records sit in the ``__cluster_metadata`` log: a frame inside a record value.

The metadata log is an ordinary Kafka log of RecordBatches (magic 2). Each record
of a data batch has a null key, no headers, and a value that frames one metadata
record, as Kafka's ``MetadataRecordSerde`` (``AbstractApiMessageSerde``) writes it::

    frameVersion: unsigned varint   always 1 (0 was KRaft's 2.8 preview, never readable)
    apiKey:       unsigned varint   the record type, the spec's ``apiKey``
    version:      unsigned varint   the record's version
    body:         the record, in the flexible encoding of that version

KRaft's ``BatchBuilder`` writes each batch with the Raft leader epoch as its
partition leader epoch, the append time as both base and max timestamp (CreateTime,
every record's timestamp delta 0), no producer id, and no transactional or control
flag. Control batches (leader changes, snapshot headers and footers, voter sets)
share the log; they belong to the Raft layer and :func:`read_metadata_batches` skips
them.

Spec: ``shared/kafka-spec/metadata/*.json`` for the records;
``docs/implementation.html`` ("Record Batch", "Record") for the batch around them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import msgspec

from odradek.protocol.codec import encode, read_message
from odradek.protocol.primitives import Buffer, DecodeError, read_uvarint, uvarint_bytes
from odradek.protocol.records.batch import RecordBatch, encode_batch, iter_batches, make_attributes
from odradek.protocol.records.compression import Compression
from odradek.protocol.records.record import Record

from .records import UnknownRecordTypeError, VersionedRecord, record_class

#: The only frame version Kafka writes or reads.
FRAME_VERSION = 1
_INT16_MAX = 0x7FFF


class MetadataParseError(DecodeError):
    """A record value that is not a well-formed framed metadata record."""


def encode_record(record: VersionedRecord) -> bytes:
    """The framed bytes of one metadata record: the value of its log record."""
    return b"".join(
        (
            uvarint_bytes(FRAME_VERSION),
            uvarint_bytes(record.api_key),
            uvarint_bytes(record.version),
            encode(record.message, record.version),
        )
    )


def _read_short(buf: Buffer, pos: int, what: str) -> tuple[int, int]:
    try:
        value, pos = read_uvarint(buf, pos)
    except DecodeError as exc:
        raise MetadataParseError(f"error while reading {what}: {exc}") from exc
    if value > _INT16_MAX:
        raise MetadataParseError(f"value for {what} was too large")
    return value, pos


def decode_record(value: Buffer) -> VersionedRecord:
    """Decode a framed metadata record; anything malformed raises :class:`MetadataParseError`."""
    view = memoryview(value)
    frame_version, pos = _read_short(view, 0, "frame version")
    if frame_version == 0:
        raise MetadataParseError(
            "could not deserialize metadata record with frame version 0 (KRaft preview)"
        )
    if frame_version != FRAME_VERSION:
        raise MetadataParseError(
            f"unknown frame version {frame_version} (only {FRAME_VERSION} is supported)"
        )
    api_key, pos = _read_short(view, pos, "type")
    version, pos = _read_short(view, pos, "version")
    try:
        cls = record_class(api_key)
    except UnknownRecordTypeError as exc:
        raise MetadataParseError(str(exc)) from exc
    try:
        message, end = read_message(cls, view, pos, version)
    except DecodeError as exc:
        raise MetadataParseError(
            f"failed to deserialize record with type {api_key}: {exc}"
        ) from exc
    if end != len(view):
        raise MetadataParseError(f"found {len(view) - end} byte(s) of garbage after {api_key}")
    return VersionedRecord(message, version)


class MetadataBatch(msgspec.Struct, frozen=True, kw_only=True):
    """The metadata records of one data batch, with where and when the batch was written."""

    base_offset: int
    leader_epoch: int
    append_time_ms: int
    records: tuple[VersionedRecord, ...]

    @property
    def last_offset(self) -> int:
        return self.base_offset + len(self.records) - 1

    def with_offsets(self) -> Iterator[tuple[int, VersionedRecord]]:
        """Each record with its absolute offset."""
        for delta, record in enumerate(self.records):
            yield self.base_offset + delta, record


def record_batch(
    records: Sequence[VersionedRecord],
    *,
    base_offset: int,
    leader_epoch: int,
    append_time_ms: int,
    compression: int = Compression.NONE,
) -> RecordBatch:
    """The RecordBatch KRaft's ``BatchBuilder`` would write for ``records``."""
    if not records:
        raise ValueError("a metadata batch needs at least one record")
    return RecordBatch.of(
        [
            Record(offset_delta=i, timestamp_delta=0, key=None, value=encode_record(r))
            for i, r in enumerate(records)
        ],
        base_timestamp=append_time_ms,
        base_offset=base_offset,
        attributes=make_attributes(compression),
        partition_leader_epoch=leader_epoch,
    )


def encode_metadata_batch(
    records: Sequence[VersionedRecord],
    *,
    base_offset: int,
    leader_epoch: int,
    append_time_ms: int,
    compression: int = Compression.NONE,
) -> bytes:
    """The bytes of :func:`record_batch`, ready to append to the metadata log."""
    return encode_batch(
        record_batch(
            records,
            base_offset=base_offset,
            leader_epoch=leader_epoch,
            append_time_ms=append_time_ms,
            compression=compression,
        )
    )


def metadata_batch(batch: RecordBatch) -> MetadataBatch:
    """The metadata records of a decoded data batch."""
    if batch.is_control:
        raise ValueError("a control batch holds no metadata records")
    records: list[VersionedRecord] = []
    for record in batch.records:
        if record.value is None:
            raise MetadataParseError(
                f"record at offset {batch.offset_of(record)} of the metadata log has a null value"
            )
        records.append(decode_record(record.value))
    return MetadataBatch(
        base_offset=batch.base_offset,
        leader_epoch=batch.partition_leader_epoch,
        append_time_ms=batch.max_timestamp,
        records=tuple(records),
    )


def read_metadata_batches(buf: Buffer) -> Iterator[MetadataBatch]:
    """The metadata batches of a run of log bytes (a segment, a fetch), control batches skipped."""
    for batch in iter_batches(buf):
        if not batch.is_control:
            yield metadata_batch(batch)
