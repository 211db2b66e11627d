"""Snapshots of the state machine: Kafka's ``.checkpoint`` files and their contents.

KIP-630 and Kafka's ``Snapshots``, ``RecordsSnapshotWriter`` and ``RecordsSnapshotReader``.
A snapshot stands for every committed record below its end offset. Its id is
``(end offset, epoch)``, the epoch being that of the last record it covers, and its file
in the log directory is named after the id, zero-padded as Kafka pads it::

    00000000000000012345-0000000007.checkpoint

A file being written carries ``.checkpoint.part`` and is renamed when frozen;
``.checkpoint.deleted`` marks one on its way out.

The file holds RecordBatches, stamped with the snapshot's epoch, their offsets counting
from 0 (they are positions within the snapshot, not in the log):

1. a control batch with a ``SnapshotHeaderRecord`` (control type 3,
   ``clients/SnapshotHeaderRecord.json``), holding the append time of the last record
   the snapshot covers;
2. data batches: the state machine's records, opaque bytes to this layer;
3. a control batch with a ``SnapshotFooterRecord`` (control type 4).

A follower receives the file byte for byte (FetchSnapshot) and keeps it unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from odradek.protocol.codec import decode, encode
from odradek.protocol.messages.clients.snapshot_footer_record import SnapshotFooterRecord
from odradek.protocol.messages.clients.snapshot_header_record import SnapshotHeaderRecord
from odradek.protocol.primitives import DecodeError
from odradek.protocol.records.batch import encode_batch
from odradek.protocol.records.control import ControlRecordType, control_batch
from odradek.raft.batches import CommittedBatch, data_batch, decode_batches
from odradek.raft.log import RawSnapshotReader, RawSnapshotWriter
from odradek.raft.offsets import OffsetAndEpoch

SUFFIX = ".checkpoint"
PARTIAL_SUFFIX = ".checkpoint.part"
DELETED_SUFFIX = ".checkpoint.deleted"
#: The record versions Kafka writes (ControlRecordUtils).
SNAPSHOT_HEADER_VERSION = 0
SNAPSHOT_FOOTER_VERSION = 0
#: Records are cut into batches of about this size (Kafka's snapshot writers batch too).
SNAPSHOT_BATCH_BYTES = 1024 * 1024

_NAME = re.compile(r"^(\d{20})-(\d{10})(\.checkpoint(?:\.part|\.deleted)?)$")


def snapshot_file_name(snapshot_id: OffsetAndEpoch, suffix: str = SUFFIX) -> str:
    return f"{snapshot_id.offset:020d}-{snapshot_id.epoch:010d}{suffix}"


class SnapshotPath(NamedTuple):
    snapshot_id: OffsetAndEpoch
    partial: bool
    deleted: bool


def parse_snapshot_file_name(name: str) -> SnapshotPath | None:
    """The snapshot a file name stands for, or None if it is not a snapshot file."""
    match = _NAME.match(name)
    if match is None:
        return None
    suffix = match.group(3)
    return SnapshotPath(
        OffsetAndEpoch(int(match.group(1)), int(match.group(2))),
        suffix == PARTIAL_SUFFIX,
        suffix == DELETED_SUFFIX,
    )


class SnapshotWriter:
    """Writes one snapshot through a raw writer: header, the records given, footer.

    Kafka's ``RecordsSnapshotWriter``. Call :meth:`append` with the state machine's
    records (any number of times), then :meth:`freeze`; or :meth:`abort`.
    """

    def __init__(
        self, raw: RawSnapshotWriter, *, last_contained_log_time_ms: int, append_time_ms: int
    ) -> None:
        if raw.size() != 0:
            raise ValueError(f"snapshot {raw.snapshot_id} is not empty")
        self._raw = raw
        self._append_time_ms = append_time_ms
        self._next_offset = 0
        header = SnapshotHeaderRecord(
            version=SNAPSHOT_HEADER_VERSION,
            last_contained_log_timestamp=last_contained_log_time_ms,
        )
        self._write_control(
            ControlRecordType.SNAPSHOT_HEADER, encode(header, SNAPSHOT_HEADER_VERSION)
        )

    @property
    def snapshot_id(self) -> OffsetAndEpoch:
        return self._raw.snapshot_id

    @property
    def last_contained_offset(self) -> int:
        return self._raw.snapshot_id.offset - 1

    @property
    def is_frozen(self) -> bool:
        return self._raw.is_frozen

    def append(self, records: Sequence[bytes]) -> None:
        if self._raw.is_frozen:
            raise ValueError(f"snapshot {self.snapshot_id} is frozen")
        start = 0
        while start < len(records):
            size = 0
            end = start
            while end < len(records) and (
                end == start or size + len(records[end]) <= SNAPSHOT_BATCH_BYTES
            ):
                size += len(records[end])
                end += 1
            chunk = records[start:end]
            self._raw.append(
                data_batch(
                    chunk,
                    base_offset=self._next_offset,
                    epoch=self.snapshot_id.epoch,
                    append_time_ms=self._append_time_ms,
                )
            )
            self._next_offset += len(chunk)
            start = end

    def freeze(self) -> int:
        """Write the footer and make the snapshot durable and visible; returns its size."""
        footer = SnapshotFooterRecord(version=SNAPSHOT_FOOTER_VERSION)
        self._write_control(
            ControlRecordType.SNAPSHOT_FOOTER, encode(footer, SNAPSHOT_FOOTER_VERSION)
        )
        self._raw.freeze()
        return self._raw.size()

    def abort(self) -> None:
        self._raw.abort()

    def _write_control(self, control_type: int, value: bytes) -> None:
        batch = control_batch(
            control_type,
            value,
            timestamp=self._append_time_ms,
            base_offset=self._next_offset,
            partition_leader_epoch=self.snapshot_id.epoch,
        )
        self._raw.append(encode_batch(batch))
        self._next_offset += 1


@dataclass(frozen=True, slots=True)
class SnapshotContents:
    """A snapshot, decoded: what ``handle_load_snapshot`` hands the state machine."""

    snapshot_id: OffsetAndEpoch
    last_contained_log_time_ms: int
    batches: tuple[CommittedBatch, ...]

    @property
    def records(self) -> list[bytes]:
        """Every data record, in order."""
        return [record for batch in self.batches for record in batch.records]


def read_snapshot(reader: RawSnapshotReader) -> SnapshotContents:
    """Decode a whole snapshot, checking that it opens with a header and ends with a footer."""
    data = reader.read(0, reader.size())
    try:
        batches = decode_batches(data)
    except DecodeError as exc:
        raise DecodeError(f"snapshot {reader.snapshot_id} is corrupt: {exc}") from exc
    if not batches or not batches[0].control_records:
        raise DecodeError(f"snapshot {reader.snapshot_id} does not start with a header")
    header_type, header_value = batches[0].control_records[0]
    if header_type != ControlRecordType.SNAPSHOT_HEADER:
        raise DecodeError(f"snapshot {reader.snapshot_id} starts with control type {header_type}")
    header = decode(
        SnapshotHeaderRecord, header_value, SNAPSHOT_HEADER_VERSION, allow_trailing=True
    )
    footer = batches[-1].control_records if len(batches) > 1 else ()
    if not footer or footer[0].type != ControlRecordType.SNAPSHOT_FOOTER:
        raise DecodeError(f"snapshot {reader.snapshot_id} does not end with a footer")
    return SnapshotContents(
        reader.snapshot_id,
        header.last_contained_log_timestamp,
        tuple(b for b in batches[1:-1] if not b.is_control),
    )
