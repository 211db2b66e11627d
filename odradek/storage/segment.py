"""A log segment: one ``.log`` file of batches and the three indexes that go with it.

Kafka's ``LogSegment``. A partition's log is a sequence of segments, each named after its
base offset (a lower bound of every offset in it, and above every offset of the segments
before it). Only the last one, the *active* segment, takes appends; the others are
immutable until retention deletes them or compaction replaces them.

Appending adds the batch bytes to the ``.log`` file with one write and, when more than
``index.interval.bytes`` have been written since the last index entry, one entry in the
offset index (the batch's last offset and position) and one in the time index (the
largest timestamp so far, with the last offset of the batch that carried it). Recovery
(:meth:`LogSegment.recover`) rebuilds the same entries from the file with the same rule,
so an index is a pure function of its log.

Reading translates an offset into a file position (index lookup, then a walk over batch
headers) and returns a byte range starting on a batch boundary: the unit Kafka sends to a
consumer with ``sendfile``. The files of an inactive segment are opened on first use, so
that opening a large log costs one ``stat`` per segment, not one ``open`` and two maps.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from odradek.protocol.primitives import DecodeError
from odradek.protocol.records.batch import decode_batch
from odradek.protocol.records.batch_header import (
    CONTROL_FLAG,
    LOG_OVERHEAD,
    NO_PRODUCER_ID,
    TRANSACTIONAL_FLAG,
)
from odradek.storage import log_files
from odradek.storage.config import LogConfig
from odradek.storage.control_batch import read_end_txn_marker
from odradek.storage.errors import CorruptRecordError
from odradek.storage.file_records import (
    ATTRIBUTES,
    BASE_OFFSET,
    BASE_SEQUENCE,
    BATCH_LENGTH,
    LAST_OFFSET_DELTA,
    MAX_TIMESTAMP,
    PARTITION_LEADER_EPOCH,
    PRODUCER_EPOCH,
    PRODUCER_ID,
    FileRecords,
    FileRegion,
    LogOffsetPosition,
)
from odradek.storage.leader_epochs import LeaderEpochFileCache
from odradek.storage.offset_index import OffsetIndex
from odradek.storage.producer_state import AppendOrigin, CompletedTxn, ProducerStateManager
from odradek.storage.time_index import NO_TIMESTAMP, TimeIndex, TimestampOffset
from odradek.storage.txn_index import AbortedTxn, TransactionIndex, TxnIndexSearchResult


def record_offsets_and_timestamps(batch: bytes) -> list[tuple[int, int]]:
    """``(offset, timestamp)`` of each record of a batch: a time lookup's last step."""
    try:
        decoded = decode_batch(batch, verify_crc=False)
    except DecodeError as exc:
        raise CorruptRecordError(f"undecodable batch: {exc}") from exc
    return [(decoded.offset_of(r), decoded.timestamp_of(r)) for r in decoded.records]


class SegmentOffsetOverflowError(Exception):
    """A batch whose offsets cannot be stored relative to the segment's base offset."""


class LogOffsetMetadata(NamedTuple):
    """An offset with where it lies: the segment base offset and the byte position in it."""

    message_offset: int
    segment_base_offset: int = -1
    relative_position: int = -1

    @property
    def offset_only(self) -> bool:
        return self.segment_base_offset == -1

    def on_older_segment(self, other: LogOffsetMetadata) -> bool:
        return self.segment_base_offset < other.segment_base_offset


class SegmentRead(NamedTuple):
    offset_metadata: LogOffsetMetadata
    region: FileRegion
    #: The first batch is larger than the bytes asked for (``min_one_message`` off).
    first_entry_incomplete: bool


#: One batch of an append: ``(position in the appended bytes, size, last offset, max
#: timestamp)``. A plain tuple: the append path builds one per batch.
BatchPlacement = tuple[int, int, int, int]

INT32_MAX = 0x7FFFFFFF


class LogSegment:
    def __init__(
        self,
        directory: Path,
        base_offset: int,
        config: LogConfig,
        time_ms: Callable[[], int],
        *,
        log: FileRecords | None,
        size: int,
        roll_jitter_ms: int = 0,
        suffix: str = "",
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.suffix = suffix
        self.index_interval_bytes = config.index_interval_bytes
        self.max_index_size = config.segment_index_bytes
        self.roll_jitter_ms = roll_jitter_ms
        self._time_ms = time_ms
        self._log = log
        self._size_when_closed = size
        self._offset_index: OffsetIndex | None = None
        self._time_index: TimeIndex | None = None
        self.txn_index = TransactionIndex(
            log_files.txn_index_file(directory, base_offset, suffix), base_offset
        )
        self.created = time_ms()
        # Timestamp of the first batch: the clock for time-based rolling (None: not read).
        self.rolling_based_timestamp: int | None = None
        # Largest timestamp in the segment (None: not known yet, the time index has it) and
        # the last offset of its batch. Two ints, not a tuple: appends update them.
        self._max_timestamp: int | None = None
        self._offset_of_max_timestamp = base_offset
        self.bytes_since_last_index_entry = 0

    @classmethod
    def open(
        cls,
        directory: Path,
        base_offset: int,
        config: LogConfig,
        time_ms: Callable[[], int],
        *,
        exists: bool,
        suffix: str = "",
        roll_jitter_ms: int = 0,
    ) -> LogSegment:
        """Open an existing segment lazily, or create a new one (files made at once)."""
        log_path = log_files.log_file(directory, base_offset, suffix)
        if exists:
            return cls(
                directory,
                base_offset,
                config,
                time_ms,
                log=None,
                size=log_path.stat().st_size,
                roll_jitter_ms=roll_jitter_ms,
                suffix=suffix,
            )
        log = FileRecords.open(log_path, create=True, preallocate_bytes=config.initial_file_size())
        segment = cls(
            directory,
            base_offset,
            config,
            time_ms,
            log=log,
            size=0,
            roll_jitter_ms=roll_jitter_ms,
            suffix=suffix,
        )
        # The index files exist from the start, preallocated, as Kafka creates them.
        segment.resize_indexes(config.segment_index_bytes)
        return segment

    # -- lazily opened files ----------------------------------------------------------

    @property
    def log(self) -> FileRecords:
        log = self._log
        if log is None:
            log = self._log = FileRecords.open(self.log_path, create=False)
        return log

    @property
    def offset_index(self) -> OffsetIndex:
        index = self._offset_index
        if index is None:
            index = self._offset_index = OffsetIndex(
                log_files.offset_index_file(self.directory, self.base_offset, self.suffix),
                self.base_offset,
                self.max_index_size,
            )
        return index

    @property
    def time_index(self) -> TimeIndex:
        index = self._time_index
        if index is None:
            index = self._time_index = TimeIndex(
                log_files.time_index_file(self.directory, self.base_offset, self.suffix),
                self.base_offset,
                self.max_index_size,
            )
        return index

    def open_files(self) -> None:
        """Open the log file and the offset index now rather than on first use.

        For a reader in another thread: opening goes by path, which a rename on the owner's
        side (``.deleted``, a directory deletion) could pull away mid-open.
        """
        _ = self.log, self.offset_index

    @property
    def offset_index_path(self) -> Path:
        return log_files.offset_index_file(self.directory, self.base_offset, self.suffix)

    @property
    def time_index_path(self) -> Path:
        return log_files.time_index_file(self.directory, self.base_offset, self.suffix)

    @property
    def log_path(self) -> Path:
        return log_files.log_file(self.directory, self.base_offset, self.suffix)

    @property
    def size(self) -> int:
        log = self._log
        return self._size_when_closed if log is None else log.size

    # -- appending --------------------------------------------------------------------

    def append(
        self,
        data: bytes | bytearray | memoryview,
        placements: list[BatchPlacement],
    ) -> None:
        """Write the batches of ``data`` (one write) and index them.

        ``placements`` describe each batch, in order. The index rule is the one recovery
        uses: an entry for a batch when more than ``index.interval.bytes`` were written
        since the last entry.
        """
        if not placements:
            return
        last_offset = placements[-1][2]
        if not 0 <= last_offset - self.base_offset <= INT32_MAX:
            raise SegmentOffsetOverflowError(
                f"offset {last_offset} does not fit segment {self.base_offset}"
            )
        log = self._log or self.log
        physical = log.size
        if physical == 0:
            self.rolling_based_timestamp = placements[0][3]
        log.append(data)
        max_timestamp = self._max_timestamp
        if max_timestamp is None:
            max_timestamp = self.max_timestamp_and_offset_so_far()[0]
        offset_of_max = self._offset_of_max_timestamp
        interval = self.index_interval_bytes
        since = self.bytes_since_last_index_entry
        for position, size, batch_last_offset, batch_max_timestamp in placements:
            if batch_max_timestamp > max_timestamp:
                max_timestamp = batch_max_timestamp
                offset_of_max = batch_last_offset
            if since > interval:
                offset_index = self._offset_index or self.offset_index
                time_index = self._time_index or self.time_index
                # A multi-batch append can fill an index that had room when the roll check
                # ran; the batches past it stay reachable by scanning from the last entry.
                if (
                    offset_index.entries < offset_index.max_entries
                    and time_index.entries < time_index.max_entries - 1
                ):
                    offset_index.append(batch_last_offset, physical + position)
                    if max_timestamp > time_index.last_entry[0]:
                        time_index.maybe_append(max_timestamp, offset_of_max)
                    since = 0
            since += size
        self.bytes_since_last_index_entry = since
        self._max_timestamp = max_timestamp
        self._offset_of_max_timestamp = offset_of_max

    def update_txn_index(self, completed: CompletedTxn, last_stable_offset: int) -> None:
        if completed.is_aborted:
            self.txn_index.append(
                AbortedTxn(
                    completed.producer_id,
                    completed.first_offset,
                    completed.last_offset,
                    last_stable_offset,
                )
            )

    def max_timestamp_and_offset_so_far(self) -> TimestampOffset:
        timestamp = self._max_timestamp
        if timestamp is None:
            timestamp, self._offset_of_max_timestamp = self.time_index.last_entry
            self._max_timestamp = timestamp
        return TimestampOffset(timestamp, self._offset_of_max_timestamp)

    @property
    def max_timestamp_so_far(self) -> int:
        timestamp = self._max_timestamp
        return self.max_timestamp_and_offset_so_far()[0] if timestamp is None else timestamp

    # -- reading ----------------------------------------------------------------------

    def translate_offset(self, offset: int, starting_position: int = 0) -> LogOffsetPosition | None:
        """The first batch whose last offset is >= ``offset``, or None past the end."""
        mapping = self.offset_index.lookup(offset)
        return self.log.search_for_offset_with_size(
            offset, max(mapping.position, starting_position)
        )

    def read(
        self,
        start_offset: int,
        max_size: int,
        max_position: int | None = None,
        min_one_message: bool = False,
    ) -> SegmentRead | None:
        """Batches from the one holding ``start_offset``, up to ``max_size`` bytes.

        ``max_position`` bounds what may be exposed (the high watermark's position); None
        means nothing may be. Returns None if ``start_offset`` is past the segment's end.
        """
        if max_size < 0:
            raise ValueError(f"invalid max size {max_size}")
        found = self.translate_offset(start_offset)
        if found is None:
            return None
        start_position = found.position
        metadata = LogOffsetMetadata(start_offset, self.base_offset, start_position)
        adjusted = max(max_size, found.size) if min_one_message else max_size
        log = self.log
        if adjusted == 0 or max_position is None:
            return SegmentRead(metadata, FileRegion(log.fd, start_position, 0), False)
        fetch_size = min(max_position - start_position, adjusted)
        return SegmentRead(metadata, log.region(start_position, fetch_size), adjusted < found.size)

    def fetch_upper_bound_offset(self, start_position: int, fetch_size: int) -> int | None:
        return self.offset_index.fetch_upper_bound_offset(start_position, fetch_size)

    def collect_aborted_txns(
        self, fetch_offset: int, upper_bound_offset: int
    ) -> TxnIndexSearchResult:
        return self.txn_index.collect_aborted_txns(fetch_offset, upper_bound_offset)

    def read_next_offset(self) -> int:
        """The offset after the last batch (scans from the last offset-index entry)."""
        log = self.log
        start = self.offset_index.lookup(self.offset_index.last_offset).position
        next_offset = self.base_offset
        for _, fields in log.raw_batches(start):
            next_offset = fields[BASE_OFFSET] + fields[LAST_OFFSET_DELTA] + 1
        return next_offset

    def find_offset_by_timestamp(
        self, timestamp: int, starting_offset: int
    ) -> tuple[int, int, int] | None:
        """``(timestamp, offset, leader epoch)`` of the first record at or after ``timestamp``.

        The batch is found from its header; only that batch's records are decoded.
        """
        entry = self.time_index.lookup(timestamp)
        position = self.offset_index.lookup(max(entry.offset, starting_offset)).position
        log = self.log
        for batch_position, fields in log.raw_batches(position):
            if (
                fields[MAX_TIMESTAMP] >= timestamp
                and fields[BASE_OFFSET] + fields[LAST_OFFSET_DELTA] >= starting_offset
            ):
                batch = log.read(batch_position, fields[BATCH_LENGTH] + LOG_OVERHEAD)
                for record_offset, record_timestamp in record_offsets_and_timestamps(batch):
                    if record_timestamp >= timestamp and record_offset >= starting_offset:
                        return record_timestamp, record_offset, fields[PARTITION_LEADER_EPOCH]
        return None

    def time_waited_for_roll(self, now_ms: int, message_timestamp: int) -> int:
        if self.rolling_based_timestamp is None:
            self._load_first_batch_timestamp()
        first = self.rolling_based_timestamp
        if first is not None and first >= 0:
            return message_timestamp - first
        return now_ms - self.created

    def _load_first_batch_timestamp(self) -> None:
        if self.rolling_based_timestamp is None:
            for _, fields in self.log.raw_batches(0):
                self.rolling_based_timestamp = fields[MAX_TIMESTAMP]
                break

    def first_batch_timestamp(self) -> int | None:
        """The first batch's timestamp if it has one (used by ``max.compaction.lag.ms``)."""
        self._load_first_batch_timestamp()
        first = self.rolling_based_timestamp
        return first if first is not None and first >= 0 else None

    def should_roll(
        self,
        config: LogConfig,
        max_timestamp_in_messages: int,
        max_offset_in_messages: int,
        messages_size: int,
    ) -> bool:
        """Kafka's roll rule: the segment is full, old, out of index room or of offsets.

        The clock is read only when the segment's age cannot be told from timestamps.
        """
        log = self._log
        size = self._size_when_closed if log is None else log.size
        if size > config.segment_bytes - messages_size:
            return True
        if size > 0:
            first = self.rolling_based_timestamp
            if first is not None and first >= 0:
                waited = max_timestamp_in_messages - first  # the usual case, inlined
            else:
                waited = self.time_waited_for_roll(self._time_ms(), max_timestamp_in_messages)
            if waited > config.segment_ms - self.roll_jitter_ms:
                return True
        offset_index = self._offset_index or self.offset_index
        time_index = self._time_index or self.time_index
        return (
            offset_index.entries >= offset_index.max_entries
            or time_index.entries >= time_index.max_entries - 1
            or not 0 <= max_offset_in_messages - self.base_offset <= INT32_MAX
        )

    def largest_timestamp(self) -> int:
        """The largest record timestamp, or the file's modification time if none has one."""
        timestamp = self.max_timestamp_so_far
        return timestamp if timestamp >= 0 else self.last_modified_ms()

    def last_modified_ms(self) -> int:
        return self.log_path.stat().st_mtime_ns // 1_000_000

    def set_last_modified_ms(self, ms: int) -> None:
        ns = ms * 1_000_000
        for path in (self.log_path, self.offset_index_path, self.time_index_path):
            if path.exists():
                os.utime(path, ns=(ns, ns))

    # -- maintenance ------------------------------------------------------------------

    def resize_indexes(self, size: int) -> None:
        self.offset_index.resize(size)
        self.time_index.resize(size)

    def on_become_inactive(self) -> None:
        """Record the final time index entry and trim the files (the segment rolls)."""
        self.time_index.maybe_append(*self.max_timestamp_and_offset_so_far(), skip_full_check=True)
        self.offset_index.trim_to_valid_size()
        self.time_index.trim_to_valid_size()
        self.log.trim()

    def recover(
        self,
        producer_state: ProducerStateManager,
        leader_epochs: LeaderEpochFileCache | None,
    ) -> int:
        """Rebuild the indexes from the log and cut it at the first invalid batch.

        Every batch's CRC is checked; producer state and the leader epoch cache are
        replayed from the batches. Returns the number of bytes truncated.
        """
        # The indexes are rewritten through their files and mapped again when next used.
        self._close_indexes()
        self.txn_index.reset()
        log = self.log
        self._max_timestamp = None
        max_timestamp, offset_of_max_timestamp = NO_TIMESTAMP, self.base_offset
        valid_bytes = 0
        last_index_entry = 0
        interval = self.index_interval_bytes
        index_room = max(0, min(self.max_index_size // 8, self.max_index_size // 12 - 1))
        # Entries are collected (flat: offset, position, offset, ...; timestamp, offset, ...),
        # then the index files made to hold exactly them.
        offset_entries: list[int] = []
        time_entries: list[int] = []
        last_indexed_timestamp = NO_TIMESTAMP
        # Without a cache to feed, no epoch counts as new.
        latest_epoch = INT32_MAX if leader_epochs is None else leader_epochs.latest_epoch()
        if latest_epoch is None:
            latest_epoch = -1
        # The base offset field is outside the CRC: offsets that go backwards or leave the
        # segment's range mark the batch as invalid like a CRC mismatch would.
        next_expected = self.base_offset
        max_last_offset = self.base_offset + INT32_MAX
        try:
            # The batches come a block at a time, CRCs checked: this loop does only what
            # each batch adds to the indexes, the epoch cache and the producer state.
            for block in log.checked_batch_blocks():
                for position, fields in block:
                    (base_offset, length, epoch, _, _, _, delta, _, batch_max_ts, pid, _, _, _) = (
                        fields
                    )
                    last_offset = base_offset + delta
                    if base_offset < next_expected or last_offset > max_last_offset or delta < 0:
                        raise CorruptRecordError(f"batch at {position} is out of order", position)
                    next_expected = last_offset + 1
                    if batch_max_ts > max_timestamp:
                        max_timestamp, offset_of_max_timestamp = batch_max_ts, last_offset
                    # The same rule as append: an entry once more than the interval was written.
                    if valid_bytes - last_index_entry > interval and index_room:
                        offset_entries += (last_offset, valid_bytes)
                        index_room -= 1
                        if max_timestamp > last_indexed_timestamp:
                            time_entries += (max_timestamp, offset_of_max_timestamp)
                            last_indexed_timestamp = max_timestamp
                        last_index_entry = valid_bytes
                    valid_bytes = position + length + LOG_OVERHEAD
                    if epoch > latest_epoch:
                        assert leader_epochs is not None
                        leader_epochs.assign(epoch, base_offset)
                        latest_epoch = epoch
                    if pid != NO_PRODUCER_ID:
                        self._replay_producer_batch(producer_state, position, fields)
        except CorruptRecordError:
            pass  # everything from the bad batch on is cut below
        # A segment closed normally ends with its largest timestamp in the time index.
        if max_timestamp > last_indexed_timestamp:
            time_entries += (max_timestamp, offset_of_max_timestamp)
        base = self.base_offset
        OffsetIndex.write_file(
            self.offset_index_path, OffsetIndex.pack_entries(base, offset_entries)
        )
        TimeIndex.write_file(self.time_index_path, TimeIndex.pack_entries(base, time_entries))
        if next_expected > self.base_offset:
            producer_state.update_map_end_offset(next_expected)
        truncated = log.size - valid_bytes
        log.truncate_to(valid_bytes)
        self._max_timestamp = max_timestamp
        self._offset_of_max_timestamp = offset_of_max_timestamp
        self.bytes_since_last_index_entry = valid_bytes - last_index_entry
        return truncated

    def _close_indexes(self) -> None:
        if self._offset_index is not None:
            self._offset_index.close_handler()
            self._offset_index = None
        if self._time_index is not None:
            self._time_index.close_handler()
            self._time_index = None

    def _replay_producer_batch(
        self, producer_state: ProducerStateManager, position: int, fields: tuple[int, ...]
    ) -> None:
        producer_id = fields[PRODUCER_ID]
        info = producer_state.prepare_update(producer_id, AppendOrigin.REPLICATION)
        base_offset, attributes = fields[BASE_OFFSET], fields[ATTRIBUTES]
        last_offset = base_offset + fields[LAST_OFFSET_DELTA]
        completed = None
        if attributes & CONTROL_FLAG:
            batch = self.log.read(position, fields[BATCH_LENGTH] + LOG_OVERHEAD)
            marker = read_end_txn_marker(batch)
            if marker is not None:
                completed = info.append_end_txn_marker(
                    marker.is_abort,
                    marker.coordinator_epoch,
                    fields[PRODUCER_EPOCH],
                    base_offset,
                    fields[MAX_TIMESTAMP],
                )
        else:
            base_seq = fields[BASE_SEQUENCE]
            last_seq = -1 if base_seq == -1 else (base_seq + fields[LAST_OFFSET_DELTA]) & 0x7FFFFFFF
            info.append_data_batch(
                fields[PRODUCER_EPOCH],
                base_seq,
                last_seq,
                fields[MAX_TIMESTAMP],
                base_offset,
                last_offset,
                bool(attributes & TRANSACTIONAL_FLAG),
            )
        producer_state.update(info)
        if completed is not None:
            self.update_txn_index(completed, producer_state.last_stable_offset(completed))
            producer_state.complete_txn(completed)

    def truncate_to(self, offset: int) -> int:
        """Remove every batch with offsets >= ``offset``; returns the bytes removed.

        Truncation is at batch granularity: a batch that straddles ``offset`` goes whole.
        The indexes grow back to their full size, for the segment is active again.
        """
        mapping = self.translate_offset(offset)
        offset_index = self.offset_index
        time_index = self.time_index
        offset_index.truncate_to(offset)
        time_index.truncate_to(offset)
        self.txn_index.truncate_to(offset)
        offset_index.resize(self.max_index_size)
        time_index.resize(self.max_index_size)
        removed = 0 if mapping is None else self.log.truncate_to(mapping.position)
        if self.log.size == 0:
            self.created = self._time_ms()
            self.rolling_based_timestamp = None
        self.bytes_since_last_index_entry = 0
        self._max_timestamp = None
        if self.max_timestamp_so_far >= 0:
            self._max_timestamp, self._offset_of_max_timestamp = self._read_largest_timestamp()
        return removed

    def _read_largest_timestamp(self) -> TimestampOffset:
        last_entry = self.time_index.last_entry
        position = self.offset_index.lookup(last_entry.offset).position
        timestamp, offset = self.log.largest_timestamp_after(position)
        if timestamp > last_entry.timestamp:
            return TimestampOffset(timestamp, offset)
        return last_entry

    def sanity_check(self, time_index_newly_created: bool) -> None:
        if not self.offset_index_path.exists():
            raise FileNotFoundError(self.offset_index_path)
        if time_index_newly_created:
            self.time_index.resize(0)
        self.txn_index.sanity_check()

    def flush(self) -> None:
        self.log.flush()
        self.offset_index.flush()
        self.time_index.flush()
        self.txn_index.flush()

    def change_file_suffixes(self, old_suffix: str, new_suffix: str) -> None:
        """Rename the segment's files, e.g. ``.cleaned`` to ``.swap`` to none (compaction).

        Open descriptors and maps stay valid across a rename, so nothing is reopened.
        """
        if not self.suffix.endswith(old_suffix):
            raise ValueError(f"segment {self.base_offset} has suffix {self.suffix!r}")
        suffix = self.suffix[: len(self.suffix) - len(old_suffix)] + new_suffix
        directory, base = self.directory, self.base_offset
        for name in (log_files.log_file, log_files.offset_index_file, log_files.time_index_file):
            old_path = name(directory, base, self.suffix)
            if old_path.exists():
                os.replace(old_path, name(directory, base, suffix))
        self.txn_index.rename_to(log_files.txn_index_file(directory, base, suffix))
        self.suffix = suffix
        if self._log is not None:
            self._log.path = self.log_path
        if self._offset_index is not None:
            self._offset_index.path = self.offset_index_path
        if self._time_index is not None:
            self._time_index.path = self.time_index_path

    def close(self) -> None:
        """Close cleanly: write the final time index entry and trim the indexes."""
        if self._max_timestamp is not None and self._time_index is not None:
            self._time_index.maybe_append(
                self._max_timestamp, self._offset_of_max_timestamp, skip_full_check=True
            )
        if self._offset_index is not None:
            self._offset_index.close()
        if self._time_index is not None:
            self._time_index.close()
        if self._log is not None:
            self._log.trim()
            self._size_when_closed = self._log.size
            self._log.close()
            self._log = None
        self._offset_index = None
        self._time_index = None
        self.txn_index.close()

    def close_handlers(self) -> None:
        """Release files without writing anything (the segment is being deleted)."""
        if self._offset_index is not None:
            self._offset_index.close_handler()
        if self._time_index is not None:
            self._time_index.close_handler()
        if self._log is not None:
            self._size_when_closed = self._log.size
            self._log.close()
            self._log = None
        self._offset_index = None
        self._time_index = None
        self.txn_index.close()

    def delete_files(self) -> None:
        self.close_handlers()
        for path in (
            self.log_path,
            self.offset_index_path,
            self.time_index_path,
            log_files.txn_index_file(self.directory, self.base_offset, self.suffix),
        ):
            path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"LogSegment(base_offset={self.base_offset}, size={self.size}, dir={self.directory})"
