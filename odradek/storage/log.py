"""A partition replica's log: appends, reads, rolls, truncation and the offsets around them.

Kafka's ``UnifiedLog`` and ``LocalLog`` (``docs/design.html``, "Persistence" and "Replication";
``docs/implementation.html``, "Log"). One :class:`Log` owns one directory
``<topic>-<partition>/`` of segments (:mod:`odradek.storage.segment`), its leader epoch
cache, its producer state and its ``partition.metadata``. Four offsets frame it::

    log start offset <= last stable offset <= high watermark <= log end offset

* the *log start offset* is the first offset a reader may ask for; retention and
  DeleteRecords move it up;
* the *log end offset* (LEO) is the offset the next batch gets;
* the *high watermark* (HW) is set by the replication layer through
  :meth:`Log.update_high_watermark` and friends: the offset below which every in-sync
  replica has the data, the limit of what consumers see;
* the *last stable offset* (LSO) is the HW, or the first offset of the oldest transaction
  still open or not yet replicated if that is lower: the limit for ``read_committed``.

**Appending.** :meth:`Log.append_as_leader` takes the bytes of one or more whole,
already validated record batches (the produce path checks CRCs and fields,
:mod:`odradek.protocol.records.validate`), stamps the next offsets and the leader epoch
into each batch header, in place (both fields are outside the CRC), checks producer
sequence numbers, and writes the bytes with a single write. :meth:`Log.append_as_follower`
keeps the offsets the leader gave. No record is decoded on either path.

**Reading.** :meth:`Log.read` returns a :class:`FetchDataInfo` whose ``region`` is a byte
range of one segment file that starts on a batch boundary, for ``os.sendfile``; reads do
not cross segments, like Kafka's.

**Durability.** ``flush.messages`` and ``flush.ms`` trigger fsyncs; a roll fsyncs the
segments it closes and moves the recovery point; see :mod:`odradek.storage.recovery`
for what happens after a crash.

A :class:`Log` is not thread-safe: one task owns it. Clocks are injected (``time_ms``), so
tests control time. The one exception is compaction, which reads inactive segments from a
worker thread (:mod:`odradek.storage.cleaner_thread`). For it the log keeps
:attr:`Log.generation`, a counter that every change to the segment list or to the files of
a segment moves, so that the pass can tell, back on the owner, whether its output still
fits the log; and while a pass runs (:meth:`Log.start_cleaning`) no segment file is closed:
closes and expired deletions wait for :meth:`Log.finish_cleaning`.
"""

from __future__ import annotations

import enum
import os
import struct
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import crc32c
import msgspec

from odradek.protocol.records import validate as record_validate
from odradek.protocol.records.batch_header import (
    ATTRIBUTES_OFFSET,
    CONTROL_FLAG,
    CURRENT_MAGIC,
    HEADER_SIZE,
    HEADER_STRUCT,
    LOG_OVERHEAD,
    NO_PRODUCER_ID,
    TRANSACTIONAL_FLAG,
    BatchHeader,
)
from odradek.storage import log_files, retention
from odradek.storage.checkpoints import (
    LEADER_EPOCH_CHECKPOINT,
    PARTITION_METADATA,
    TopicPartition,
    read_partition_metadata,
    write_partition_metadata,
)
from odradek.storage.config import TIMESTAMP_TYPE_LOG_APPEND_TIME, LogConfig
from odradek.storage.control_batch import read_end_txn_marker
from odradek.storage.errors import (
    CorruptRecordError,
    InconsistentTopicIdError,
    InvalidRecordError,
    KafkaStorageError,
    MessageTooLargeError,
    OffsetOutOfRangeError,
    RecordBatchTooLargeError,
    UnexpectedAppendOffsetError,
)
from odradek.storage.file_records import (
    BATCH_LENGTH,
    MAX_TIMESTAMP,
    PARTITION_LEADER_EPOCH,
    FileRegion,
)
from odradek.storage.leader_epochs import UNDEFINED_EPOCH_OFFSET, LeaderEpochFileCache
from odradek.storage.producer_state import (
    AppendOrigin,
    BatchMetadata,
    CompletedTxn,
    ProducerAppendInfo,
    ProducerStateManager,
)
from odradek.storage.recovery import LogLoader, rebuild_producer_state
from odradek.storage.segment import (
    BatchPlacement,
    LogOffsetMetadata,
    LogSegment,
    SegmentRead,
    record_offsets_and_timestamps,
)
from odradek.storage.segments import LogSegments, collect_aborted
from odradek.storage.txn_index import AbortedTxn

#: ListOffsets special timestamps (``clients/ListOffsetsRequest.json``).
LIST_OFFSETS_LATEST = -1
LIST_OFFSETS_EARLIEST = -2
LIST_OFFSETS_MAX_TIMESTAMP = -3
LIST_OFFSETS_EARLIEST_LOCAL = -4

_MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD
_OFFSET_LENGTH_EPOCH = struct.Struct(">qii")
_HEADER_UNPACK = HEADER_STRUCT.unpack_from
# Looking a member up on an Enum class goes through EnumType.__getattr__ (slow in 3.11):
# the append path compares against these instead.
_CLIENT = AppendOrigin.CLIENT
_REPLICATION = AppendOrigin.REPLICATION
_RAFT_LEADER = AppendOrigin.RAFT_LEADER


def system_time_ms() -> int:
    return time.time_ns() // 1_000_000


class FetchIsolation(enum.Enum):
    """How far a read may go: Kafka's ``FetchIsolation``."""

    LOG_END = "log_end"  # followers: everything
    HIGH_WATERMARK = "high_watermark"  # consumers with read_uncommitted
    TXN_COMMITTED = "txn_committed"  # consumers with read_committed: up to the LSO


class AppendInfo(msgspec.Struct, gc=False):
    """What an append did (Kafka's ``LogAppendInfo``).

    One is made per append: a msgspec struct is built in C, and holding only numbers it
    needs no tracking by the garbage collector.
    """

    first_offset: int
    last_offset: int
    max_timestamp: int
    offset_of_max_timestamp: int
    #: The broker's append time for LogAppendTime topics, else -1.
    log_append_time: int
    log_start_offset: int
    valid_bytes: int
    last_leader_epoch: int | None
    #: A producer retry of a batch already in the log: nothing was written, and the
    #: offsets are those the batch got the first time.
    duplicate: bool = False


class FetchDataInfo(NamedTuple):
    """The result of a read: where it starts and the file bytes to send."""

    fetch_offset_metadata: LogOffsetMetadata
    region: FileRegion
    first_entry_incomplete: bool = False
    aborted_transactions: list[AbortedTxn] | None = None

    def read(self) -> bytes:
        return self.region.read()


class TimestampAndOffset(NamedTuple):
    timestamp: int
    offset: int
    leader_epoch: int | None


_EMPTY_REGION = FileRegion(-1, 0, 0)


class Log:
    """One partition replica's log. Open with :meth:`Log.open`."""

    def __init__(
        self,
        directory: Path,
        config: LogConfig,
        time_ms: Callable[[], int],
        *,
        topic_partition: TopicPartition,
        segments: LogSegments,
        log_start_offset: int,
        recovery_point: int,
        next_offset_metadata: LogOffsetMetadata,
        leader_epochs: LeaderEpochFileCache,
        producer_state: ProducerStateManager,
        topic_id: uuid.UUID | None,
    ) -> None:
        self.directory = directory
        self.config = config
        self.time_ms = time_ms
        self.topic_partition = topic_partition
        self.segments = segments
        self.log_start_offset = log_start_offset
        self.recovery_point = recovery_point
        self._log_end_offset = next_offset_metadata.message_offset
        # Where the log end lies, built on demand: an append only moves the offset (the
        # position is then the active segment's size), for most appends nobody asks.
        self._log_end_metadata: LogOffsetMetadata | None = next_offset_metadata
        self.leader_epochs = leader_epochs
        self.producer_state = producer_state
        self.topic_id = topic_id
        self.last_flush_time = time_ms()
        # The replication layer sets the real HW (from replication-offset-checkpoint or
        # the leader); until then nothing past the log start is known to be replicated.
        self._high_watermark = LogOffsetMetadata(log_start_offset)
        self._first_unstable_offset: LogOffsetMetadata | None = None
        self._pending_deletions: list[tuple[int, LogSegment]] = []
        self._closed = False
        #: Moves whenever segments are removed, replaced or truncated, or the log closes.
        self.generation = 0
        self._cleaning = False
        self._close_handlers_after_cleaning = False
        #: Called with the new high watermark whenever it moves (delayed fetches wake up).
        self.on_high_watermark_updated: Callable[[int], None] | None = None
        self._maybe_increment_first_unstable_offset()

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: Path,
        config: LogConfig | None = None,
        *,
        time_ms: Callable[[], int] = system_time_ms,
        log_start_offset: int = 0,
        recovery_point: int = 0,
        had_clean_shutdown: bool = False,
        topic_id: uuid.UUID | None = None,
        producer_id_expiration_ms: int = 86_400_000,
    ) -> Log:
        """Open (creating if needed) the log in ``directory``, recovering it if needed.

        ``log_start_offset`` and ``recovery_point`` come from the log dir's checkpoints;
        ``had_clean_shutdown`` from its clean-shutdown marker.
        """
        config = config or LogConfig()
        directory.mkdir(parents=True, exist_ok=True)
        topic_partition = TopicPartition.from_dir_name(directory.name)
        segments = LogSegments()
        leader_epochs = LeaderEpochFileCache(directory / LEADER_EPOCH_CHECKPOINT)
        producer_state = ProducerStateManager(
            directory, str(topic_partition), producer_id_expiration_ms
        )
        offsets = LogLoader(
            directory,
            config,
            time_ms,
            had_clean_shutdown,
            segments,
            log_start_offset,
            recovery_point,
            leader_epochs,
            producer_state,
        ).load()
        stored_id = read_partition_metadata(directory / PARTITION_METADATA)
        if stored_id is not None and topic_id is not None and stored_id != topic_id:
            raise InconsistentTopicIdError(
                f"log {directory} belongs to topic id {stored_id}, not {topic_id}"
            )
        if stored_id is None and topic_id is not None:
            write_partition_metadata(directory / PARTITION_METADATA, topic_id)
        return cls(
            directory,
            config,
            time_ms,
            topic_partition=topic_partition,
            segments=segments,
            log_start_offset=offsets.log_start_offset,
            recovery_point=offsets.recovery_point,
            next_offset_metadata=offsets.next_offset_metadata,
            leader_epochs=leader_epochs,
            producer_state=producer_state,
            topic_id=stored_id or topic_id,
        )

    def assign_topic_id(self, topic_id: uuid.UUID) -> None:
        if self.topic_id is not None and self.topic_id != topic_id:
            raise InconsistentTopicIdError(
                f"log {self.directory} belongs to topic id {self.topic_id}, not {topic_id}"
            )
        if self.topic_id is None:
            write_partition_metadata(self.directory / PARTITION_METADATA, topic_id)
            self.topic_id = topic_id

    def update_config(self, config: LogConfig) -> LogConfig:
        old, self.config = self.config, config
        return old

    # -- offsets ------------------------------------------------------------------------

    @property
    def log_end_offset(self) -> int:
        return self._log_end_offset

    @property
    def log_end_offset_metadata(self) -> LogOffsetMetadata:
        metadata = self._log_end_metadata
        if metadata is None:
            active = self.segments.active
            metadata = self._log_end_metadata = LogOffsetMetadata(
                self._log_end_offset, active.base_offset, active.size
            )
        return metadata

    @property
    def high_watermark(self) -> int:
        return self._high_watermark.message_offset

    @property
    def active_segment(self) -> LogSegment:
        return self.segments.active

    @property
    def size(self) -> int:
        return self.segments.size_in_bytes()

    @property
    def unflushed_messages(self) -> int:
        return self.log_end_offset - self.recovery_point

    def _update_log_end_offset(self, end_offset: int) -> None:
        self._log_end_offset = end_offset
        self._log_end_metadata = None
        if self.recovery_point > end_offset:
            self.recovery_point = end_offset

    def update_high_watermark(self, high_watermark: int) -> int:
        """Set the HW, clamped to ``[log start offset, log end offset]``; returns it."""
        if high_watermark < self.log_start_offset:
            metadata = LogOffsetMetadata(self.log_start_offset)
        elif high_watermark >= self.log_end_offset:
            metadata = self.log_end_offset_metadata
        else:
            metadata = LogOffsetMetadata(high_watermark)
        self._update_high_watermark_metadata(metadata)
        return metadata.message_offset

    def maybe_increment_high_watermark(self, new_high_watermark: LogOffsetMetadata) -> int | None:
        """Raise the HW (leader side); returns the old HW if it moved."""
        if new_high_watermark.message_offset > self.log_end_offset:
            raise ValueError(
                f"high watermark {new_high_watermark.message_offset} is past the log end "
                f"offset {self.log_end_offset}"
            )
        old = self._fetch_high_watermark_metadata()
        if old.message_offset < new_high_watermark.message_offset or (
            old.message_offset == new_high_watermark.message_offset
            and old.on_older_segment(new_high_watermark)
        ):
            self._update_high_watermark_metadata(new_high_watermark)
            return old.message_offset
        return None

    def maybe_update_high_watermark(self, high_watermark: int) -> int | None:
        """Follower side: take the leader's HW; returns the new HW if it changed."""
        old = self.high_watermark
        new = self.update_high_watermark(high_watermark)
        return None if new == old else new

    def _update_high_watermark_metadata(self, metadata: LogOffsetMetadata) -> None:
        if metadata.message_offset < 0:
            raise ValueError("the high watermark cannot be negative")
        self._high_watermark = metadata
        self.producer_state.on_high_watermark_updated(metadata.message_offset)
        self._maybe_increment_first_unstable_offset()
        if self.on_high_watermark_updated is not None:
            self.on_high_watermark_updated(metadata.message_offset)

    def _update_high_watermark_with_log_end_offset(self) -> None:
        # After a truncation or roll the HW may sit at or past the end: pin it to the LEO.
        if self.high_watermark >= self.log_end_offset:
            self._update_high_watermark_metadata(self.log_end_offset_metadata)

    def _fetch_high_watermark_metadata(self) -> LogOffsetMetadata:
        metadata = self._high_watermark
        if metadata.offset_only:
            metadata = self._convert_to_offset_metadata(metadata.message_offset)
            self._high_watermark = metadata
        return metadata

    @property
    def first_unstable_offset(self) -> int | None:
        unstable = self._first_unstable_offset
        return None if unstable is None else unstable.message_offset

    @property
    def last_stable_offset(self) -> int:
        unstable = self._first_unstable_offset
        hw = self.high_watermark
        if unstable is not None and unstable.message_offset < hw:
            return unstable.message_offset
        return hw

    def _fetch_last_stable_offset_metadata(self) -> LogOffsetMetadata:
        hw = self._fetch_high_watermark_metadata()
        unstable = self._first_unstable_offset
        if unstable is not None and unstable.message_offset < hw.message_offset:
            if unstable.offset_only:
                unstable = self._convert_to_offset_metadata(unstable.message_offset)
                self._first_unstable_offset = unstable
            return unstable
        return hw

    def _maybe_increment_first_unstable_offset(self) -> None:
        offset = self.producer_state.first_unstable_offset()
        if offset is None:
            self._first_unstable_offset = None
            return
        offset = max(offset, self.log_start_offset)
        current = self._first_unstable_offset
        if current is None or current.message_offset != offset:
            self._first_unstable_offset = LogOffsetMetadata(offset)

    def _convert_to_offset_metadata(self, offset: int) -> LogOffsetMetadata:
        """Where ``offset`` lies in the log; offset-only metadata if outside it."""
        if offset < self.log_start_offset or offset > self.log_end_offset:
            return LogOffsetMetadata(offset)
        try:
            return self._read_local(offset, 1, False, self.log_end_offset_metadata, False)[0]
        except OffsetOutOfRangeError:
            return LogOffsetMetadata(offset)

    # -- appending ----------------------------------------------------------------------

    def append_as_leader(
        self,
        records: bytes | bytearray | memoryview,
        leader_epoch: int,
        origin: AppendOrigin = AppendOrigin.CLIENT,
        header: BatchHeader | None = None,
    ) -> AppendInfo:
        """Append validated batches as the leader: assign offsets and stamp the epoch.

        The offsets are written into ``records`` in place when it is writable (a
        ``bytearray`` or a writable ``memoryview``); otherwise the bytes are copied once.
        From the metadata log's leader (``RAFT_LEADER``) the offsets are already assigned
        and every batch must carry ``leader_epoch``.

        ``header`` is the parsed header of the first batch of ``records``, as
        :func:`~odradek.protocol.records.validate.validate_produce_records` returns it for
        the one batch of a produce request; given, that header is not parsed again.
        """
        return self._append(
            records,
            origin,
            origin is not _RAFT_LEADER,
            leader_epoch,
            True,
            False,
            header,
        )

    def append_as_follower(self, records: bytes | bytearray | memoryview) -> AppendInfo:
        """Append batches fetched from the leader, keeping their offsets and epochs.

        The CRC of each batch is checked here: the bytes come straight off the network.
        """
        return self._append(records, _REPLICATION, False, -1, False, True, None)

    def _append(
        self,
        records: bytes | bytearray | memoryview,
        origin: AppendOrigin,
        assign_offsets: bool,
        leader_epoch: int,
        check_size: bool,
        verify_crc: bool,
        header: tuple[int, ...] | None,
    ) -> AppendInfo:
        # This runs for every produced batch: it keeps to locals, creates no object that a
        # plain append (no producer id, no new epoch, no roll) does not need, and leaves
        # the log end's file position to be worked out when someone asks for it.
        if self._closed:
            raise KafkaStorageError(f"log {self.directory} is closed")
        view: bytearray | memoryview
        if type(records) is bytearray and not verify_crc:
            view = records  # struct packs into and unpacks from a bytearray as it is
        else:
            view = records if type(records) is memoryview else memoryview(records)
            if assign_offsets and view.readonly:
                view = bytearray(view)
        total = len(view)
        config = self.config
        if total > config.segment_bytes:
            raise RecordBatchTooLargeError(
                f"append of {total} bytes exceeds segment.bytes {config.segment_bytes}"
            )
        if header is None:
            if total < HEADER_SIZE:
                if total == 0:
                    raise InvalidRecordError("an append needs at least one record batch")
                raise CorruptRecordError(f"partial batch of {total} bytes", 0)
            header = _HEADER_UNPACK(view, 0)
        log_append_time = -1
        if (
            assign_offsets
            and origin is not _REPLICATION
            and config.message_timestamp_type == TIMESTAMP_TYPE_LOG_APPEND_TIME
        ):
            log_append_time = self.time_ms()
        max_message = config.max_message_bytes
        check_epoch = origin is _RAFT_LEADER
        stamp = assign_offsets and log_append_time < 0
        next_offset = self._log_end_offset
        first_offset = next_offset if assign_offsets else header[0]
        seen_epoch = self.leader_epochs.latest
        # Epochs that start in this append, applied once every batch has passed its checks.
        epoch_starts: list[tuple[int, int]] = []
        placements: list[BatchPlacement] = []
        # (position, size, base offset, header) of the batches with a producer id.
        producer_batches: list[tuple[int, int, int, tuple[int, ...]]] = []
        max_timestamp = -1
        offset_of_max_timestamp = -1
        last_offset = -1
        monotonic = True
        position = 0
        fields = header
        while True:
            (
                base_offset,
                length,
                epoch,
                magic,
                crc,
                _,
                last_delta,
                _,
                batch_max_ts,
                pid,
                _,
                _,
                _,
            ) = fields
            size = length + LOG_OVERHEAD
            end = position + size
            if length < _MIN_BATCH_LENGTH or end > total:
                raise CorruptRecordError(f"batch length {length} does not fit the append", position)
            if magic != CURRENT_MAGIC:
                raise CorruptRecordError(f"batch magic {magic} is not 2", position)
            if check_size and size > max_message:
                raise MessageTooLargeError(
                    f"batch of {size} bytes exceeds max.message.bytes {max_message}"
                )
            if verify_crc and crc32c.crc32c(view[position + ATTRIBUTES_OFFSET : end]) != crc:
                raise CorruptRecordError(f"batch at offset {base_offset} fails its CRC", position)
            if check_epoch and epoch != leader_epoch:
                raise InvalidRecordError(
                    f"batch carries epoch {epoch}, not the leader's {leader_epoch}"
                )
            if stamp:
                # baseOffset and partitionLeaderEpoch lie outside the CRC: stamped in place.
                _OFFSET_LENGTH_EPOCH.pack_into(view, position, next_offset, length, leader_epoch)
                base_offset, epoch = next_offset, leader_epoch
                next_offset += last_delta + 1
            elif assign_offsets:
                # LogAppendTime changes covered bytes (attributes, maxTimestamp): new CRC.
                fields = tuple(
                    record_validate.assign_offsets(
                        view,
                        BatchHeader._make(fields),
                        next_offset,
                        leader_epoch,
                        log_append_time,
                        position,
                    )
                )
                base_offset, epoch, batch_max_ts = next_offset, leader_epoch, log_append_time
                next_offset += last_delta + 1
            if base_offset + last_delta <= last_offset:
                monotonic = False
            last_offset = base_offset + last_delta
            if batch_max_ts > max_timestamp:
                max_timestamp = batch_max_ts
                offset_of_max_timestamp = last_offset
            if epoch != seen_epoch and epoch >= 0:
                epoch_starts.append((epoch, base_offset))
                seen_epoch = epoch
            if pid != NO_PRODUCER_ID:
                producer_batches.append((position, size, base_offset, fields))
            placements.append((position, size, last_offset, batch_max_ts))
            if end == total:
                break
            position = end
            if total - position < HEADER_SIZE:
                raise CorruptRecordError(f"partial batch of {total - position} bytes", position)
            fields = _HEADER_UNPACK(view, position)

        if not assign_offsets:
            if not monotonic:
                raise InvalidRecordError(
                    f"offsets of the append to {self.topic_partition} are not increasing"
                )
            if first_offset < self._log_end_offset:
                raise UnexpectedAppendOffsetError(
                    f"first offset {first_offset} of the append is below the log end offset "
                    f"{self._log_end_offset} of {self.topic_partition}",
                    first_offset,
                    last_offset,
                )
        # The epoch each batch was written in starts the epoch's range in the cache.
        for epoch_start in epoch_starts:
            self.leader_epochs.assign(*epoch_start)

        segment = self.segments.active
        if segment.should_roll(config, max_timestamp, last_offset, total):
            segment = self.roll(first_offset)

        if producer_batches:
            updated: dict[int, ProducerAppendInfo] = {}
            completed: list[CompletedTxn] = []
            duplicate = self._analyze_producer_state(
                view, producer_batches, origin, updated, completed
            )
            if duplicate is not None:
                return AppendInfo(
                    duplicate.first_offset,
                    duplicate.last_offset,
                    duplicate.timestamp,
                    duplicate.last_offset,
                    duplicate.timestamp if log_append_time >= 0 else -1,
                    self.log_start_offset,
                    0,
                    None,
                    duplicate=True,
                )

        segment.append(view, placements)
        end_offset = last_offset + 1
        self._log_end_offset = end_offset
        self._log_end_metadata = None
        if self._high_watermark.message_offset >= end_offset:
            self._update_high_watermark_metadata(self.log_end_offset_metadata)
        self.producer_state.map_end_offset = end_offset
        if producer_batches:
            self._apply_producer_updates(segment, updated, completed)
        if end_offset - self.recovery_point >= config.flush_messages:
            self.flush()
        return AppendInfo(
            first_offset,
            last_offset,
            max_timestamp,
            offset_of_max_timestamp,
            log_append_time,
            self.log_start_offset,
            total,
            epoch if epoch >= 0 else None,
        )

    def _apply_producer_updates(
        self,
        segment: LogSegment,
        updated: dict[int, ProducerAppendInfo],
        completed: list[CompletedTxn],
    ) -> None:
        """Commit what the append's producer batches changed, once they are in the log."""
        producer_state = self.producer_state
        # Only a transaction that starts or ends can move the first unstable offset.
        transactions_changed = bool(completed)
        for info in updated.values():
            producer_state.update(info)
            if info.started_transactions:
                transactions_changed = True
        for txn in completed:
            segment.update_txn_index(txn, producer_state.last_stable_offset(txn))
            producer_state.complete_txn(txn)
        if transactions_changed:
            self._maybe_increment_first_unstable_offset()

    def _analyze_producer_state(
        self,
        view: bytearray | memoryview,
        producer_batches: list[tuple[int, int, int, tuple[int, ...]]],
        origin: AppendOrigin,
        updated: dict[int, ProducerAppendInfo],
        completed: list[CompletedTxn],
    ) -> BatchMetadata | None:
        """Check each producer batch; returns the earlier batch if this one is a retry."""
        state = self.producer_state
        check_duplicates = origin is _CLIENT
        for position, size, base_offset, fields in producer_batches:
            (
                _,
                _,
                _,
                _,
                _,
                attributes,
                delta,
                _,
                max_timestamp,
                producer_id,
                producer_epoch,
                base_sequence,
                _,
            ) = fields
            last_sequence = -1 if base_sequence < 0 else (base_sequence + delta) & 0x7FFFFFFF
            if check_duplicates:
                entry = state.producers.get(producer_id)
                if entry is not None:
                    duplicate = entry.find_duplicate(producer_epoch, base_sequence, last_sequence)
                    if duplicate is not None:
                        return duplicate
            info = updated.get(producer_id)
            if info is None:
                info = updated[producer_id] = state.prepare_update(producer_id, origin)
            if attributes & CONTROL_FLAG:
                marker = read_end_txn_marker(view[position : position + size])
                if marker is not None:
                    txn = info.append_end_txn_marker(
                        marker.is_abort,
                        marker.coordinator_epoch,
                        producer_epoch,
                        base_offset,
                        max_timestamp,
                    )
                    if txn is not None:
                        completed.append(txn)
            else:
                info.append_data_batch(
                    producer_epoch,
                    base_sequence,
                    last_sequence,
                    max_timestamp,
                    base_offset,
                    base_offset + delta,
                    bool(attributes & TRANSACTIONAL_FLAG),
                )
        return None

    def roll(self, expected_next_offset: int | None = None) -> LogSegment:
        """Start a new active segment at ``max(expected_next_offset, log end offset)``.

        The old active segment gets its final time index entry and is trimmed; a producer
        snapshot is written at the new base offset; then the closed segments are fsync'd
        and the recovery point moves to the new base offset.
        """
        new_offset = max(expected_next_offset or 0, self.log_end_offset)
        active = self.segments.active
        if new_offset in self.segments:
            if active.base_offset == new_offset and active.size == 0:
                # An empty active segment whose index filled up (index too small): replace.
                new_segment = self._create_and_delete_segment(new_offset, active)
                self._update_log_end_offset(self.log_end_offset)
                return new_segment
            raise KafkaStorageError(
                f"cannot roll {self.topic_partition} at {new_offset}: a segment starts there"
            )
        if new_offset < active.base_offset:
            raise KafkaStorageError(
                f"cannot roll {self.topic_partition} at {new_offset}, below the active "
                f"segment {active.base_offset}"
            )
        for path in (
            log_files.log_file(self.directory, new_offset),
            log_files.offset_index_file(self.directory, new_offset),
            log_files.time_index_file(self.directory, new_offset),
            log_files.txn_index_file(self.directory, new_offset),
        ):
            path.unlink(missing_ok=True)
        active.on_become_inactive()
        new_segment = self._new_segment(new_offset)
        self.segments.add(new_segment)
        self._update_log_end_offset(self.log_end_offset)
        # A snapshot at the new base lets recovery start from this segment alone.
        self.producer_state.update_map_end_offset(new_offset)
        self.producer_state.take_snapshot()
        self._update_high_watermark_with_log_end_offset()
        self.flush(new_offset)
        return new_segment

    def _new_segment(self, base_offset: int) -> LogSegment:
        return LogSegment.open(
            self.directory,
            base_offset,
            self.config,
            self.time_ms,
            exists=False,
            roll_jitter_ms=self.config.random_segment_jitter(),
        )

    def _create_and_delete_segment(self, new_offset: int, old: LogSegment) -> LogSegment:
        self.generation += 1
        if new_offset == old.base_offset:
            old.change_file_suffixes("", log_files.DELETED_SUFFIX)
        new_segment = self._new_segment(new_offset)
        self.segments.add(new_segment)
        if new_offset != old.base_offset:
            self.segments.remove(old.base_offset)
        self._schedule_deletion([old])
        return new_segment

    # -- reading ------------------------------------------------------------------------

    def read(
        self,
        start_offset: int,
        max_length: int,
        isolation: FetchIsolation = FetchIsolation.LOG_END,
        min_one_message: bool = True,
    ) -> FetchDataInfo:
        """Read from ``start_offset`` up to ``max_length`` bytes, within ``isolation``.

        With ``min_one_message`` the first batch is returned whole even if it is larger
        than ``max_length`` (so a consumer always makes progress). Raises
        :class:`OffsetOutOfRangeError` below the log start offset or past the log end.
        """
        if start_offset < self.log_start_offset:
            raise OffsetOutOfRangeError(
                f"offset {start_offset} of {self.topic_partition} is below the log start "
                f"offset {self.log_start_offset}"
            )
        if isolation is FetchIsolation.LOG_END:
            max_offset = self.log_end_offset_metadata
        elif isolation is FetchIsolation.HIGH_WATERMARK:
            max_offset = self._fetch_high_watermark_metadata()
        else:
            max_offset = self._fetch_last_stable_offset_metadata()
        metadata, region, incomplete, aborted = self._read_local(
            start_offset,
            max_length,
            min_one_message,
            max_offset,
            isolation is FetchIsolation.TXN_COMMITTED,
        )
        return FetchDataInfo(metadata, region, incomplete, aborted)

    def _read_local(
        self,
        start_offset: int,
        max_length: int,
        min_one_message: bool,
        max_offset: LogOffsetMetadata,
        include_aborted: bool,
    ) -> tuple[LogOffsetMetadata, FileRegion, bool, list[AbortedTxn] | None]:
        end_offset = self._log_end_offset
        segment = self.segments.floor(start_offset)
        if start_offset > end_offset or segment is None:
            raise OffsetOutOfRangeError(
                f"offset {start_offset} of {self.topic_partition} is past the log end "
                f"offset {end_offset}"
            )
        empty_aborted: list[AbortedTxn] | None = [] if include_aborted else None
        if start_offset == max_offset.message_offset:
            return max_offset, _EMPTY_REGION, False, empty_aborted
        if start_offset > max_offset.message_offset:
            return (
                self._convert_to_offset_metadata(start_offset),
                _EMPTY_REGION,
                False,
                empty_aborted,
            )
        while segment is not None:
            if segment.base_offset < max_offset.segment_base_offset:
                max_position: int | None = segment.size
            elif (
                segment.base_offset == max_offset.segment_base_offset and not max_offset.offset_only
            ):
                max_position = max_offset.relative_position
            else:
                max_position = None
            found = segment.read(start_offset, max_length, max_position, min_one_message)
            if found is not None:
                aborted = None
                if include_aborted:
                    aborted = self._aborted_transactions_for(start_offset, segment, found)
                return found.offset_metadata, found.region, found.first_entry_incomplete, aborted
            segment = self.segments.higher(segment.base_offset)
        # Every offset from start_offset on was removed (compaction): an empty read.
        return self.log_end_offset_metadata, _EMPTY_REGION, False, empty_aborted

    def _aborted_transactions_for(
        self, start_offset: int, segment: LogSegment, found: SegmentRead
    ) -> list[AbortedTxn]:
        upper = segment.fetch_upper_bound_offset(
            found.offset_metadata.relative_position, found.region.size
        )
        if upper is None:
            higher = self.segments.higher(segment.base_offset)
            upper = higher.base_offset if higher is not None else self.log_end_offset
        return self._collect_aborted(start_offset, upper, segment)

    def _collect_aborted(
        self, start_offset: int, upper_bound_offset: int, starting: LogSegment
    ) -> list[AbortedTxn]:
        return collect_aborted(
            self.segments.iter_from(starting.base_offset), start_offset, upper_bound_offset
        )

    def collect_aborted_transactions(
        self, start_offset: int, upper_bound_offset: int
    ) -> list[AbortedTxn]:
        """Aborted transactions overlapping ``[start_offset, upper_bound_offset)``."""
        segment = self.segments.floor(start_offset) or self.segments.first()
        if segment is None:
            return []
        return self._collect_aborted(start_offset, upper_bound_offset, segment)

    def fetch_offset_by_timestamp(self, target_timestamp: int) -> TimestampAndOffset | None:
        """ListOffsets: the first offset whose record timestamp is >= ``target_timestamp``.

        Also answers the special timestamps: -2 (earliest), -4 (earliest local, the same
        without tiered storage), -1 (latest) and -3 (the record with the largest
        timestamp). None when no record is that recent.
        """
        cache = self.leader_epochs
        if target_timestamp in (LIST_OFFSETS_EARLIEST, LIST_OFFSETS_EARLIEST_LOCAL):
            earliest = cache.earliest_entry()
            epoch = (
                earliest.epoch
                if earliest is not None and earliest.start_offset <= self.log_start_offset
                else None
            )
            return TimestampAndOffset(-1, self.log_start_offset, epoch)
        if target_timestamp == LIST_OFFSETS_LATEST:
            return TimestampAndOffset(-1, self.log_end_offset, cache.latest_epoch())
        segments = list(self.segments)
        if target_timestamp == LIST_OFFSETS_MAX_TIMESTAMP:
            latest = max(segments, key=lambda s: s.max_timestamp_so_far)
            timestamp, offset = latest.max_timestamp_and_offset_so_far()
            if timestamp < 0:
                return None
            position = latest.offset_index.lookup(offset).position
            log = latest.log
            for batch_position, fields in log.raw_batches(position):
                if fields[MAX_TIMESTAMP] == timestamp:
                    batch = log.read(batch_position, fields[BATCH_LENGTH] + LOG_OVERHEAD)
                    for record_offset, record_timestamp in record_offsets_and_timestamps(batch):
                        if record_timestamp == timestamp:
                            epoch = (
                                fields[PARTITION_LEADER_EPOCH]
                                if fields[PARTITION_LEADER_EPOCH] >= 0
                                else None
                            )
                            return TimestampAndOffset(timestamp, record_offset, epoch)
            return None
        for segment in segments:
            if segment.largest_timestamp() >= target_timestamp:
                found = segment.find_offset_by_timestamp(target_timestamp, self.log_start_offset)
                if found is not None:
                    timestamp, offset, epoch = found
                    return TimestampAndOffset(timestamp, offset, epoch if epoch >= 0 else None)
                return None
        return None

    def end_offset_for_epoch(self, leader_epoch: int) -> tuple[int, int] | None:
        """OffsetsForLeaderEpoch: ``(epoch, end offset)``, or None if unknown."""
        epoch, offset = self.leader_epochs.end_offset_for(leader_epoch, self.log_end_offset)
        return None if offset == UNDEFINED_EPOCH_OFFSET else (epoch, offset)

    @property
    def latest_epoch(self) -> int | None:
        return self.leader_epochs.latest_epoch()

    def maybe_assign_epoch_start_offset(self, leader_epoch: int, start_offset: int) -> None:
        """Record a new leader epoch at ``start_offset`` (on becoming leader)."""
        self.leader_epochs.assign(leader_epoch, start_offset)

    # -- flushing -----------------------------------------------------------------------

    def flush(self, offset: int | None = None, *, include_offset: bool = False) -> None:
        """fsync the segments holding offsets below ``offset`` (default: everything).

        The recovery point moves to ``offset``. With ``include_offset`` the segment
        holding ``offset`` itself is flushed too (used to persist an empty active segment
        at shutdown).
        """
        if offset is None:
            offset = self.log_end_offset
        flush_offset = offset + 1 if include_offset else offset
        if flush_offset <= self.recovery_point:
            return
        current = self.recovery_point
        to_flush = self.segments.range(current, flush_offset)
        for segment in to_flush:
            segment.flush()
        if any(s.base_offset >= current for s in to_flush):
            log_files.fsync_dir(self.directory)
        if offset > self.recovery_point:
            self.recovery_point = offset
            self.last_flush_time = self.time_ms()

    def maybe_flush(self, now_ms: int | None = None) -> bool:
        """Flush if ``flush.ms`` has passed since the last flush; returns whether it did."""
        now = self.time_ms() if now_ms is None else now_ms
        if self.unflushed_messages > 0 and now - self.last_flush_time >= self.config.flush_ms:
            self.flush()
            return True
        return False

    # -- truncation ---------------------------------------------------------------------

    def truncate_to(self, target_offset: int) -> bool:
        """Remove every batch at or past ``target_offset`` (a follower diverged).

        Truncation works on whole batches. Returns whether anything was removed. The
        recovery point drops with the log end; the log dir's checkpoint must follow
        before new data is trusted to it (:meth:`LogManager.truncate_to
        <odradek.storage.log_manager.LogManager.truncate_to>` does both).
        """
        if target_offset < 0:
            raise ValueError(f"cannot truncate {self.topic_partition} to {target_offset}")
        if target_offset >= self.log_end_offset:
            # An epoch entry at the end may have no data (a leader that wrote nothing).
            self.leader_epochs.truncate_from_end(self.log_end_offset)
            return False
        first = self.segments.first()
        assert first is not None
        if first.base_offset > target_offset:
            self.truncate_fully_and_start_at(target_offset)
            return True
        deletable = [s for s in self.segments if s.base_offset > target_offset]
        self.generation += 1  # the segment that becomes active is cut below
        self._remove_and_delete_segments(deletable)
        active = self.segments.active
        # Batches go whole: a batch straddling the target takes the end down to its base.
        found = active.translate_offset(target_offset)
        new_end = target_offset
        if found is not None:
            new_end = min(target_offset, active.log.base_offset_at(found.position))
        active.truncate_to(target_offset)
        self._update_log_end_offset(new_end)
        target_offset = new_end
        for segment in deletable:
            self.producer_state.delete_snapshot(segment.base_offset)
        self.leader_epochs.truncate_from_end(target_offset)
        self.log_start_offset = min(target_offset, self.log_start_offset)
        self._rebuild_producer_state(target_offset)
        if self.high_watermark >= self.log_end_offset:
            self._update_high_watermark_metadata(self.log_end_offset_metadata)
        return True

    def truncate_fully_and_start_at(
        self, new_offset: int, log_start_offset: int | None = None
    ) -> None:
        """Delete all data and restart the log at ``new_offset`` (a follower far behind)."""
        existing = list(self.segments)
        self._remove_and_delete_segments(existing[:-1])
        self._create_and_delete_segment(new_offset, existing[-1])
        self._update_log_end_offset(new_offset)
        self.leader_epochs.clear_and_flush()
        self.producer_state.truncate_fully_and_start_at(new_offset)
        self.log_start_offset = new_offset if log_start_offset is None else log_start_offset
        self._rebuild_producer_state(new_offset)
        self.update_high_watermark(self.log_end_offset)

    def _rebuild_producer_state(self, last_offset: int) -> None:
        rebuild_producer_state(
            self.producer_state,
            self.segments,
            self.log_start_offset,
            last_offset,
            self.time_ms(),
            reload_from_clean_shutdown=False,
        )
        self._maybe_increment_first_unstable_offset()

    # -- the start of the log -----------------------------------------------------------

    def maybe_increment_log_start_offset(self, new_log_start_offset: int) -> bool:
        """Move the log start offset up (DeleteRecords, retention); returns whether it moved.

        The offset may not pass the high watermark. Segments wholly below it are deleted
        by the next :meth:`delete_old_segments`.
        """
        if new_log_start_offset > self.high_watermark:
            raise OffsetOutOfRangeError(
                f"cannot move the log start offset of {self.topic_partition} to "
                f"{new_log_start_offset}, past the high watermark {self.high_watermark}"
            )
        if new_log_start_offset <= self.log_start_offset:
            return False
        self._update_log_start_offset(new_log_start_offset)
        self.leader_epochs.truncate_from_start(new_log_start_offset)
        self.producer_state.on_log_start_offset_incremented(new_log_start_offset)
        self._maybe_increment_first_unstable_offset()
        return True

    def _update_log_start_offset(self, offset: int) -> None:
        self.log_start_offset = offset
        if self.high_watermark < offset:
            self.update_high_watermark(offset)
        if self.recovery_point < offset:
            self.recovery_point = offset

    def delete_old_segments(self) -> int:
        """Apply retention (see :mod:`odradek.storage.retention`); returns segments deleted."""
        return retention.delete_old_segments(self, self.time_ms())

    def delete_segments(self, deletable: list[LogSegment]) -> int:
        """Delete ``deletable`` (a prefix of the log) and move the log start offset past it."""
        if not deletable:
            return 0
        to_delete = deletable
        if len(self.segments) == len(deletable):
            # A log always has an active segment: start a new one before deleting them all.
            new_segment = self.roll()
            if deletable[-1].base_offset == new_segment.base_offset:
                to_delete = deletable[:-1]
        if to_delete:
            higher = self.segments.higher(to_delete[-1].base_offset)
            assert higher is not None
            self.maybe_increment_log_start_offset(higher.base_offset)
            self._remove_and_delete_segments(to_delete)
        for segment in deletable:
            self.producer_state.delete_snapshot(segment.base_offset)
        return len(deletable)

    # -- segment files ------------------------------------------------------------------

    def _remove_and_delete_segments(self, segments: list[LogSegment]) -> None:
        self.generation += 1
        for segment in segments:
            self.segments.remove(segment.base_offset)
        self._schedule_deletion(segments)

    def _schedule_deletion(self, segments: list[LogSegment]) -> None:
        """Rename the segments ``.deleted`` and remove them after ``file.delete.delay.ms``.

        The files stay open until then, so that reads already handed out (file regions on
        their descriptors) can complete; a restart deletes leftover ``.deleted`` files.
        """
        due = self.time_ms() + self.config.file_delete_delay_ms
        for segment in segments:
            if not segment.suffix.endswith(log_files.DELETED_SUFFIX):
                segment.change_file_suffixes("", log_files.DELETED_SUFFIX)
            self._pending_deletions.append((due, segment))

    def delete_expired_files(self, now_ms: int | None = None) -> int:
        """Remove the ``.deleted`` files whose delay has passed; returns how many segments."""
        if self._cleaning:
            return 0  # a compaction thread may still read them
        now = self.time_ms() if now_ms is None else now_ms
        due = [(t, s) for t, s in self._pending_deletions if t <= now]
        if not due:
            return 0
        self._pending_deletions = [(t, s) for t, s in self._pending_deletions if t > now]
        for _, segment in due:
            segment.delete_files()
        return len(due)

    def replace_segments(
        self, new_segments: list[LogSegment], old_segments: list[LogSegment]
    ) -> None:
        """Swap cleaned segments in for the originals, in a crash-safe order (compaction).

        The new segments carry the ``.cleaned`` suffix. Each goes ``.cleaned`` to
        ``.swap`` (from then on a restart completes the swap), the originals are removed
        and renamed ``.deleted``, and the ``.swap`` suffix is dropped.
        """
        self.generation += 1
        new_sorted = sorted(new_segments, key=lambda s: s.base_offset)
        old_sorted = sorted(
            (s for s in old_segments if s.base_offset in self.segments),
            key=lambda s: s.base_offset,
        )
        for segment in reversed(new_sorted):
            segment.change_file_suffixes(log_files.CLEANED_SUFFIX, log_files.SWAP_SUFFIX)
        log_files.fsync_dir(self.directory)
        for segment in reversed(new_sorted):
            self.segments.add(segment)
        new_bases = {s.base_offset for s in new_sorted}
        first_new = new_sorted[0].base_offset
        for segment in old_sorted:
            if segment.base_offset != first_new:
                self.segments.remove(segment.base_offset)
            self._schedule_deletion([segment])
            if segment.base_offset not in new_bases:
                self.producer_state.delete_snapshot(segment.base_offset)
        for segment in new_sorted:
            segment.change_file_suffixes(log_files.SWAP_SUFFIX, "")
        log_files.fsync_dir(self.directory)

    # -- producers ----------------------------------------------------------------------

    def remove_expired_producers(self, now_ms: int | None = None) -> None:
        self.producer_state.remove_expired_producers(self.time_ms() if now_ms is None else now_ms)

    def last_records_of_active_producers(self) -> dict[int, tuple[int | None, int]]:
        """Producer id to ``(last data offset or None, epoch)``, for compaction."""
        result = {}
        for pid, entry in self.producer_state.producers.items():
            last = entry.last_data_offset
            result[pid] = (last if last >= 0 else None, entry.producer_epoch)
        return result

    def close(self) -> None:
        """Close cleanly: snapshot producer state at the end, trim and close every file.

        Call :meth:`flush` first for durability; the log manager does both and then
        writes the clean-shutdown marker.
        """
        if self._closed:
            return
        if self._cleaning:
            raise KafkaStorageError(f"cannot close {self.topic_partition} during compaction")
        self.generation += 1
        self.producer_state.take_snapshot()
        for segment in self.segments:
            segment.close()
        for _, segment in self._pending_deletions:
            segment.delete_files()
        self._pending_deletions = []
        self._closed = True

    def close_handlers(self) -> None:
        """Release every file without writing (the directory is failing or being deleted).

        During a compaction pass the files are released when it finishes.
        """
        self.generation += 1
        self._closed = True
        if self._cleaning:
            self._close_handlers_after_cleaning = True
            return
        for segment in self.segments:
            segment.close_handlers()
        for _, segment in self._pending_deletions:
            segment.close_handlers()

    # -- compaction in a worker thread ------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def cleaning(self) -> bool:
        """Whether a compaction pass may be reading the segment files."""
        return self._cleaning

    def start_cleaning(self) -> None:
        """From now until :meth:`finish_cleaning`, keep every segment file open."""
        if self._closed:
            raise KafkaStorageError(f"cannot compact {self.topic_partition}: it is closed")
        if self._cleaning:
            raise KafkaStorageError(f"{self.topic_partition} is already being compacted")
        self._cleaning = True

    def finish_cleaning(self) -> None:
        """The pass is over: release the files a deletion left open for it."""
        self._cleaning = False
        if self._close_handlers_after_cleaning:
            self._close_handlers_after_cleaning = False
            self.close_handlers()

    def delete(self) -> None:
        """Delete every file of the log and its directory."""
        if self._cleaning:
            raise KafkaStorageError(f"cannot delete {self.topic_partition} during compaction")
        self.generation += 1
        for segment in list(self.segments):
            segment.delete_files()
        self.segments.clear()
        for _, segment in self._pending_deletions:
            segment.delete_files()
        self._pending_deletions = []
        self.leader_epochs.clear()
        self._closed = True
        for entry in os.scandir(self.directory):
            os.unlink(entry.path)
        os.rmdir(self.directory)

    def __repr__(self) -> str:
        return (
            f"Log({self.topic_partition}, start={self.log_start_offset}, "
            f"hw={self.high_watermark}, lso={self.last_stable_offset}, "
            f"end={self.log_end_offset}, dir={self.directory})"
        )
