"""Log compaction: keep the latest record of every key (``cleanup.policy=compact``).

Kafka's ``LogCleaner``, ``Cleaner``, ``LogCleanerManager`` and ``CleanedTransactionMetadata``
(``docs/design.html``, "Log Compaction"). A compacted log has a *clean* head (already
compacted: at most one record per key) followed by a *dirty* tail. A cleaning pass:

1. **Chooses the range.** The dirty section starts at the checkpointed offset
   (``cleaner-offset-checkpoint``). It ends at the *first uncleanable offset*: the active
   segment, the last stable offset (open transactions are never cleaned, so every record
   seen here is decided), and any segment with records newer than
   ``min.compaction.lag.ms``. A log is picked when its dirty bytes are more than
   ``min.cleanable.dirty.ratio`` of the log, or when a dirty segment is older than
   ``max.compaction.lag.ms``.
2. **Maps keys.** Reading the dirty range gives, for each key, the offset of its last
   record (an :class:`OffsetMap`; records of aborted transactions are skipped).
3. **Copies.** Every segment up to the end of the mapped range is rewritten, grouped so
   the outputs stay within ``segment.bytes``: a record survives if no later record has its
   key. A batch whose records all survive is copied byte for byte; otherwise it is
   rebuilt with the survivors, keeping its base offset, last offset delta, producer id,
   epoch and base sequence.
4. **Swaps.** The output goes to ``.cleaned`` files, fsync'd, renamed ``.swap``, the old
   segments renamed ``.deleted``, and the ``.swap`` suffix dropped
   (:meth:`odradek.storage.log.Log.replace_segments`); a crash at any point leaves either
   the old segments or the complete new one (:mod:`odradek.storage.recovery`).

On a running node steps 2 and 3 run in a worker thread and each swap back on the event
loop, checked against changes to the log meanwhile (:mod:`odradek.storage.cleaner_thread`).

Deletes and transactions follow Kafka:

* A *tombstone* (a record with a null value) is kept for ``delete.retention.ms`` after the
  pass that first sees it in the clean section: that pass stamps the batch's *delete
  horizon* (its base timestamp, with attribute bit 6 set) and a later pass past the horizon
  drops it. The same horizon delays dropping transaction markers.
* Records of aborted transactions are removed regardless of keys. A COMMIT or ABORT marker
  is kept until no batch of its transaction remains, and then until its horizon.
* The last batch of each active producer is kept (emptied if need be) so its sequence
  numbers survive, and so is the batch ending the cleaned range, so offsets stay known.

A pass that fails for any reason other than a change to its log meanwhile (a corrupt
batch in a segment, say) does not stop the cleaner: as Kafka's ``CleanerThread`` does,
the error is logged and the partition is marked *uncleanable* in its log dir, and the
other logs go on being cleaned. Kafka keeps that mark in memory until the log leaves the
log dir (deleted, moved, or the dir failed), so a restart or a new log for the partition
tries again; so does :meth:`LogCleaner.forget`. The count per log dir is Kafka's
``uncleanable-partitions-count`` gauge (:meth:`LogCleaner.uncleanable_partitions_count`).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import trio

from odradek.protocol.primitives import DecodeError
from odradek.protocol.records.batch import RecordBatch, decode_batch, encode_batch
from odradek.protocol.records.batch_header import (
    COMPRESSION_MASK,
    CONTROL_FLAG,
    DELETE_HORIZON_FLAG,
    LOG_OVERHEAD,
    NO_PRODUCER_ID,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_FLAG,
)
from odradek.protocol.records.control import ControlRecordType
from odradek.protocol.records.record import Record
from odradek.storage.checkpoints import (
    CLEANER_OFFSET_CHECKPOINT,
    TopicPartition,
    read_offset_checkpoint,
    write_offset_checkpoint,
)
from odradek.storage.cleaner_thread import (
    CleaningSnapshot,
    DirtySegment,
    SegmentGroup,
    run_pass,
    run_pass_in_thread,
)
from odradek.storage.control_batch import control_type
from odradek.storage.errors import CorruptRecordError
from odradek.storage.file_records import (
    ATTRIBUTES,
    BASE_OFFSET,
    BASE_SEQUENCE,
    BASE_TIMESTAMP,
    BATCH_LENGTH,
    LAST_OFFSET_DELTA,
    MAX_TIMESTAMP,
    PARTITION_LEADER_EPOCH,
    PRODUCER_EPOCH,
    PRODUCER_ID,
)
from odradek.storage.log import Log
from odradek.storage.segment import BatchPlacement, LogSegment
from odradek.storage.txn_index import AbortedTxn, TransactionIndex

logger = logging.getLogger(__name__)

#: ``log.cleaner.dedupe.buffer.size`` (128 MiB) over Kafka's 24 bytes per map slot.
DEFAULT_MAX_MAP_ENTRIES = 128 * 1024 * 1024 // 24
#: ``log.cleaner.io.buffer.load.factor``
DEFAULT_LOAD_FACTOR = 0.9
#: How much of a segment the copy reads at once (``log.cleaner.io.buffer.size`` is per
#: buffer; batches larger than this are read whole).
READ_CHUNK = 1 << 20


class OffsetMap:
    """Key to the offset of its last record, bounded like Kafka's dedupe buffer.

    Kafka stores MD5 hashes in a fixed buffer; a dict of the keys themselves gives the
    same answers without the (negligible) chance of a hash collision.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_MAP_ENTRIES) -> None:
        self.max_entries = max_entries
        self._offsets: dict[bytes, int] = {}
        self.latest_offset = -1

    def __len__(self) -> int:
        return len(self._offsets)

    def put(self, key: bytes, offset: int) -> None:
        self._offsets[key] = offset
        self.latest_offset = offset

    def get(self, key: bytes) -> int:
        return self._offsets.get(key, -1)

    def update_latest_offset(self, offset: int) -> None:
        self.latest_offset = offset

    def clear(self) -> None:
        self._offsets.clear()
        self.latest_offset = -1


@dataclass
class _AbortedTxnProgress:
    txn: AbortedTxn
    last_observed_batch_offset: int | None = None


@dataclass
class CleanedTransactionMetadata:
    """Which transactions are in progress as the cleaner walks the log, in offset order.

    Decides when a batch belongs to an aborted transaction (drop it) and when a marker may
    go (no batch of its transaction left), and writes the aborted transactions that
    remain into the cleaned segment's transaction index.
    """

    ongoing_committed: set[int] = field(default_factory=set)
    ongoing_aborted: dict[int, _AbortedTxnProgress] = field(default_factory=dict)
    _aborted_heap: list[tuple[int, int, AbortedTxn]] = field(default_factory=list)
    cleaned_index: TransactionIndex | None = None

    def add_aborted_transactions(self, aborted: Iterable[AbortedTxn]) -> None:
        for txn in aborted:
            heapq.heappush(self._aborted_heap, (txn.first_offset, id(txn), txn))

    def _consume_aborted_up_to(self, offset: int) -> None:
        heap = self._aborted_heap
        while heap and heap[0][0] <= offset:
            txn = heapq.heappop(heap)[2]
            self.ongoing_aborted.setdefault(txn.producer_id, _AbortedTxnProgress(txn))

    def on_control_batch(self, producer_id: int, last_offset: int, kind: int | None) -> bool:
        """Returns whether the control batch may be discarded."""
        self._consume_aborted_up_to(last_offset)
        if kind is None:
            return True  # already emptied by an earlier pass
        if kind == ControlRecordType.ABORT:
            progress = self.ongoing_aborted.pop(producer_id, None)
            if progress is not None and progress.last_observed_batch_offset is not None:
                # Batches of the transaction remain: keep the marker and its index entry.
                if self.cleaned_index is not None:
                    self.cleaned_index.append(progress.txn)
                return False
            return True
        if kind == ControlRecordType.COMMIT:
            if producer_id in self.ongoing_committed:
                self.ongoing_committed.discard(producer_id)
                return False
            return True
        return False

    def on_batch(self, producer_id: int, last_offset: int, transactional: bool) -> bool:
        """Returns whether the data batch belongs to an aborted transaction."""
        self._consume_aborted_up_to(last_offset)
        if not transactional:
            return False
        progress = self.ongoing_aborted.get(producer_id)
        if progress is not None:
            progress.last_observed_batch_offset = last_offset
            return True
        self.ongoing_committed.add(producer_id)
        return False


@dataclass(frozen=True)
class CleanableRange:
    first_dirty_offset: int
    first_uncleanable_offset: int
    #: The checkpointed offset was out of the log's range and had to be reset.
    force_checkpoint: bool


@dataclass
class CleanerStats:
    """Counts of one cleaning pass (Kafka logs the same after each pass)."""

    messages_read: int = 0
    bytes_read: int = 0
    messages_written: int = 0
    bytes_written: int = 0
    invalid_messages: int = 0


class LogCleaner:
    """Compacts the logs that need it and keeps ``cleaner-offset-checkpoint``."""

    def __init__(
        self,
        *,
        max_map_entries: int = DEFAULT_MAX_MAP_ENTRIES,
        load_factor: float = DEFAULT_LOAD_FACTOR,
    ) -> None:
        self.max_map_entries = max_map_entries
        self.load_factor = load_factor
        #: Per log dir, per partition: the first dirty offset.
        self.checkpoints: dict[Path, dict[TopicPartition, int]] = {}
        #: What the last pass read and kept.
        self.last_stats = CleanerStats()
        #: Per log dir, the partitions whose last pass failed: passed over until forgotten.
        self.uncleanable: dict[Path, set[TopicPartition]] = {}

    # -- checkpoints --------------------------------------------------------------------

    def load_checkpoints(self, log_dirs: Iterable[Path]) -> None:
        for log_dir in log_dirs:
            self.checkpoints[log_dir] = read_offset_checkpoint(log_dir / CLEANER_OFFSET_CHECKPOINT)

    def write_checkpoints(self, log_dirs: Iterable[Path]) -> None:
        for log_dir in log_dirs:
            write_offset_checkpoint(
                log_dir / CLEANER_OFFSET_CHECKPOINT, self.checkpoints.get(log_dir, {})
            )

    def _update_checkpoint(self, log_dir: Path, tp: TopicPartition, offset: int) -> None:
        self.checkpoints.setdefault(log_dir, {})[tp] = offset
        write_offset_checkpoint(log_dir / CLEANER_OFFSET_CHECKPOINT, self.checkpoints[log_dir])

    def forget(self, tp: TopicPartition) -> None:
        """The partition's log left its log dir: drop its checkpoint and uncleanable mark."""
        for offsets in self.checkpoints.values():
            offsets.pop(tp, None)
        for partitions in self.uncleanable.values():
            partitions.discard(tp)

    # -- uncleanable partitions ---------------------------------------------------------

    def mark_uncleanable(self, log_dir: Path, tp: TopicPartition) -> None:
        self.uncleanable.setdefault(log_dir, set()).add(tp)

    def is_uncleanable(self, log_dir: Path, tp: TopicPartition) -> bool:
        return tp in self.uncleanable.get(log_dir, ())

    def uncleanable_partitions_count(self, log_dir: Path) -> int:
        """Kafka's ``uncleanable-partitions-count`` gauge of ``log_dir``."""
        return len(self.uncleanable.get(log_dir, ()))

    def _failed(self, log_dir: Path, tp: TopicPartition, exc: Exception) -> None:
        logger.warning(
            "unexpected error cleaning the log of %s in %s; marking it uncleanable",
            tp,
            log_dir,
            exc_info=exc,
        )
        self.mark_uncleanable(log_dir, tp)

    def first_dirty_offset(self, log_dir: Path, tp: TopicPartition) -> int | None:
        return self.checkpoints.get(log_dir, {}).get(tp)

    # -- choosing -----------------------------------------------------------------------

    def cleanable_range(
        self, log: Log, last_clean_offset: int | None, now_ms: int
    ) -> CleanableRange:
        """Kafka's ``cleanableOffsets``: the dirty range a pass may clean."""
        start = log.log_start_offset
        checkpoint = start if last_clean_offset is None else last_clean_offset
        force = False
        if checkpoint < start or checkpoint > log.log_end_offset:
            # Truncated below the checkpoint, or the checkpoint went past a lost tail.
            checkpoint, force = start, True
        first_dirty = checkpoint
        bounds = [log.last_stable_offset, log.active_segment.base_offset]
        lag = max(log.config.min_compaction_lag_ms, 0)
        if lag > 0:
            for segment in log.segments.non_active_from(first_dirty):
                if segment.largest_timestamp() > now_ms - lag:
                    bounds.append(segment.base_offset)
                    break
        uncleanable = max(first_dirty, min(bounds))
        # Cleaning rewrites whole segments, so it stops at the base of the segment holding
        # the first uncleanable offset: that segment, where the high watermark and the LSO
        # point, keeps its byte positions.
        following = log.segments.non_active_from(uncleanable)
        segment_base = (following[0] if following else log.active_segment).base_offset
        return CleanableRange(first_dirty, max(first_dirty, segment_base), force)

    @staticmethod
    def _dirty_ratio(log: Log, rng: CleanableRange) -> tuple[float, int]:
        """``(dirty bytes / all bytes, dirty bytes)`` of the log for a cleanable range."""
        first_dirty, end = rng.first_dirty_offset, rng.first_uncleanable_offset
        clean = sum(s.size for s in log.segments.range(-1, first_dirty))
        dirty = sum(s.size for s in log.segments.range(min(first_dirty, end), end))
        total = clean + dirty
        return (dirty / total if total else 0.0), dirty

    def _needs_compaction_now(self, log: Log, first_dirty: int, now_ms: int) -> bool:
        """A dirty segment older than ``max.compaction.lag.ms`` forces a pass."""
        lag = max(log.config.max_compaction_lag_ms, 0)
        if lag >= now_ms:
            return False
        timestamps = [
            t
            for s in log.segments.non_active_from(first_dirty)
            if (t := s.first_batch_timestamp()) is not None and t > 0
        ]
        return bool(timestamps) and min(timestamps) < now_ms - lag

    def dirty_ratio(self, log: Log, log_dir: Path, tp: TopicPartition, now_ms: int) -> float:
        rng = self.cleanable_range(log, self.first_dirty_offset(log_dir, tp), now_ms)
        return self._dirty_ratio(log, rng)[0]

    def clean_filthiest(
        self,
        logs: Mapping[TopicPartition, Log],
        log_dir_of: Mapping[TopicPartition, Path],
        now_ms: int,
    ) -> TopicPartition | None:
        """Clean the dirtiest log that qualifies; then apply retention to compact+delete logs.

        Returns the partition cleaned, or None if none was (or its pass failed, which
        marks it uncleanable).
        """
        tp = self.filthiest(logs, log_dir_of, now_ms)
        if tp is not None:
            try:
                self.clean(logs[tp], log_dir_of[tp], tp, now_ms)
            except Exception as exc:
                self._failed(log_dir_of[tp], tp, exc)
                tp = None
        self._retention(logs, log_dir_of)
        return tp

    async def clean_filthiest_in_thread(
        self,
        logs: Mapping[TopicPartition, Log],
        log_dir_of: Mapping[TopicPartition, Path],
        now_ms: int,
    ) -> TopicPartition | None:
        """As :meth:`clean_filthiest`, copying in a worker thread while the loop goes on.

        Returns the partition cleaned, or None if none was (or its pass was thrown away,
        or failed and marked it uncleanable). Cancellation is not a failure: it propagates.
        """
        tp = self.filthiest(logs, log_dir_of, now_ms)
        if tp is not None:
            log, log_dir = logs[tp], log_dir_of[tp]
            try:
                end = await self.clean_in_thread(log, log_dir, tp, now_ms)
            except Exception as exc:
                # A log deleted meanwhile is forgotten: its mark would outlive it.
                if logs.get(tp) is log:
                    self._failed(log_dir, tp, exc)
                end = None
            if end is None:
                tp = None
        self._retention(logs, log_dir_of)
        return tp

    def _retention(
        self, logs: Mapping[TopicPartition, Log], log_dir_of: Mapping[TopicPartition, Path]
    ) -> None:
        # Kafka's ``deletableLogs``: the compacted logs with ``delete`` too, but for the
        # uncleanable ones; a failure here marks the partition as a failed pass would.
        for tp, replica_log in list(logs.items()):
            if not (replica_log.config.compact and replica_log.config.delete):
                continue
            log_dir = log_dir_of[tp]
            if self.is_uncleanable(log_dir, tp):
                continue
            try:
                replica_log.delete_old_segments()
            except Exception as exc:
                self._failed(log_dir, tp, exc)

    def filthiest(
        self,
        logs: Mapping[TopicPartition, Log],
        log_dir_of: Mapping[TopicPartition, Path],
        now_ms: int,
    ) -> TopicPartition | None:
        """The dirtiest compacted log past its ratio or its ``max.compaction.lag.ms``.

        Partitions marked uncleanable are passed over.
        """
        best: tuple[float, TopicPartition] | None = None
        for tp, log in logs.items():
            if not log.config.compact:
                continue
            log_dir = log_dir_of[tp]
            if self.is_uncleanable(log_dir, tp):
                continue
            rng = self.cleanable_range(log, self.first_dirty_offset(log_dir, tp), now_ms)
            if rng.force_checkpoint:
                self._update_checkpoint(log_dir, tp, rng.first_dirty_offset)
            ratio, dirty = self._dirty_ratio(log, rng)
            urgent = self._needs_compaction_now(log, rng.first_dirty_offset, now_ms)
            qualifies = (urgent and dirty > 0) or ratio > log.config.min_cleanable_dirty_ratio
            if qualifies and (best is None or ratio > best[0]):
                best = (ratio, tp)
        return None if best is None else best[1]

    # -- cleaning -----------------------------------------------------------------------

    def clean(self, log: Log, log_dir: Path, tp: TopicPartition, now_ms: int) -> int:
        """Run one pass over ``log``; returns the new first dirty offset (checkpointed).

        The pass's counts are left in :attr:`last_stats`.
        """
        rng = self.cleanable_range(log, self.first_dirty_offset(log_dir, tp), now_ms)
        cleaner = Cleaner(self._new_map(), now_ms)
        end = cleaner.clean(log, rng.first_dirty_offset, rng.first_uncleanable_offset)
        self.last_stats = cleaner.stats
        self._update_checkpoint(log_dir, tp, end)
        return end

    async def clean_in_thread(
        self, log: Log, log_dir: Path, tp: TopicPartition, now_ms: int
    ) -> int | None:
        """As :meth:`clean`, copying in a worker thread (:mod:`.cleaner_thread`).

        Returns None, checkpointing nothing, when the log changed during the pass and its
        output was thrown away. Cancelling stops the thread and waits for it.
        """
        rng = self.cleanable_range(log, self.first_dirty_offset(log_dir, tp), now_ms)
        cleaner = Cleaner(self._new_map(), now_ms, trio.from_thread.check_cancelled)
        end = await run_pass_in_thread(
            cleaner, log, rng.first_dirty_offset, rng.first_uncleanable_offset
        )
        if end is None:
            return None
        self.last_stats = cleaner.stats
        self._update_checkpoint(log_dir, tp, end)
        return end

    def _new_map(self) -> OffsetMap:
        return OffsetMap(int(self.max_map_entries * self.load_factor))


def _not_cancelled() -> None:
    return None


class Cleaner:
    """One cleaning pass (Kafka's ``Cleaner.doClean``).

    :meth:`build_offset_map` and :meth:`copy` only read the snapshot's segments and write
    the cleaned one, so they may run in a worker thread; ``check_cancelled`` is polled
    once per batch there and raises to stop the pass.
    """

    def __init__(
        self,
        offset_map: OffsetMap,
        now_ms: int,
        check_cancelled: Callable[[], None] = _not_cancelled,
    ) -> None:
        self.map = offset_map
        self.now_ms = now_ms
        self.check_cancelled = check_cancelled
        self.stats = CleanerStats()
        self._txn_metadata = CleanedTransactionMetadata()

    def clean(self, log: Log, first_dirty: int, first_uncleanable: int) -> int:
        """Clean ``log`` up to what the map covers, here; returns the next dirty offset."""
        return run_pass(self, log, first_dirty, first_uncleanable)

    # -- pass 1: the key map ------------------------------------------------------------

    def build_offset_map(self, snapshot: CleaningSnapshot) -> int:
        """Map the dirty range's keys; returns the offset after the range the map covers."""
        offset_map = self.map
        offset_map.clear()
        start, end = snapshot.first_dirty, snapshot.first_uncleanable
        txn_metadata = CleanedTransactionMetadata()
        txn_metadata.add_aborted_transactions(snapshot.aborted_transactions(start, end))
        for dirty in snapshot.dirty:
            if self._map_segment(dirty, start, txn_metadata):
                break
        return offset_map.latest_offset + 1

    def _map_segment(
        self, dirty: DirtySegment, start: int, txn_metadata: CleanedTransactionMetadata
    ) -> bool:
        """Add the segment's keys; returns True when the map filled up part way."""
        offset_map = self.map
        check_cancelled = self.check_cancelled
        log = dirty.segment.log
        next_segment_start = dirty.next_start
        for batch_position, fields in log.raw_batches(dirty.start_position):
            check_cancelled()
            base_offset = fields[BASE_OFFSET]
            if base_offset >= next_segment_start:
                break
            last_offset = base_offset + fields[LAST_OFFSET_DELTA]
            producer_id, attributes = fields[PRODUCER_ID], fields[ATTRIBUTES]
            if attributes & CONTROL_FLAG:
                data = log.read(batch_position, fields[BATCH_LENGTH] + LOG_OVERHEAD)
                txn_metadata.on_control_batch(producer_id, last_offset, control_type(data))
            elif not txn_metadata.on_batch(
                producer_id, last_offset, bool(attributes & TRANSACTIONAL_FLAG)
            ):
                batch = _decode(log.read(batch_position, fields[BATCH_LENGTH] + LOG_OVERHEAD))
                for record in batch.records:
                    offset = base_offset + record.offset_delta
                    if record.key is not None and offset >= start:
                        if len(offset_map) >= offset_map.max_entries and (
                            offset_map.get(record.key) < 0
                        ):
                            return True
                        offset_map.put(record.key, offset)
            if last_offset >= start:
                offset_map.update_latest_offset(last_offset)
        # Offsets may have gaps (earlier compactions): the segment covers up to the next.
        offset_map.update_latest_offset(next_segment_start - 1)
        return False

    # -- pass 2: the copy ---------------------------------------------------------------

    def copy(self, snapshot: CleaningSnapshot, group: SegmentGroup, cleaned: LogSegment) -> None:
        """Write the group's surviving batches into ``cleaned``, then trim and fsync it."""
        txn_metadata = self._txn_metadata
        txn_metadata.cleaned_index = cleaned.txn_index
        for segment, upper in zip(group.segments, group.upper_offsets, strict=True):
            txn_metadata.add_aborted_transactions(
                snapshot.aborted_transactions(segment.base_offset, upper)
            )
            self._clean_into(
                segment,
                cleaned,
                snapshot.config.delete_retention_ms,
                txn_metadata,
                snapshot.producers,
                snapshot.first_uncleanable,
            )
        cleaned.on_become_inactive()
        cleaned.flush()

    def _clean_into(
        self,
        source: LogSegment,
        dest: LogSegment,
        delete_retention_ms: int,
        txn_metadata: CleanedTransactionMetadata,
        producers: dict[int, tuple[int | None, int]],
        upper_bound_offset_of_round: int,
    ) -> None:
        log = source.log
        check_cancelled = self.check_cancelled
        out = bytearray()
        placements: list[BatchPlacement] = []
        for position, fields in log.raw_batches(0):
            check_cancelled()
            size = fields[BATCH_LENGTH] + LOG_OVERHEAD
            data = log.read(position, size)
            self.stats.bytes_read += size
            kept = self._filter_batch(
                data,
                fields,
                delete_retention_ms,
                txn_metadata,
                producers,
                upper_bound_offset_of_round,
            )
            if kept is not None:
                last_offset = fields[BASE_OFFSET] + fields[LAST_OFFSET_DELTA]
                placements.append((len(out), len(kept), last_offset, _max_timestamp(kept)))
                out += kept
                self.stats.bytes_written += len(kept)
            if len(out) >= READ_CHUNK:
                dest.append(out, placements)
                out = bytearray()
                placements = []
        if placements:
            dest.append(out, placements)

    def _filter_batch(
        self,
        data: bytes,
        fields: tuple[int, ...],
        delete_retention_ms: int,
        txn_metadata: CleanedTransactionMetadata,
        producers: dict[int, tuple[int | None, int]],
        upper_bound_offset_of_round: int,
    ) -> bytes | None:
        """The batch as it goes into the cleaned segment, or None to drop it."""
        base_offset = fields[BASE_OFFSET]
        attributes = fields[ATTRIBUTES]
        producer_id = fields[PRODUCER_ID]
        last_offset = base_offset + fields[LAST_OFFSET_DELTA]
        is_control = bool(attributes & CONTROL_FLAG)
        horizon = fields[BASE_TIMESTAMP] if attributes & DELETE_HORIZON_FLAG else None
        if is_control:
            can_discard = txn_metadata.on_control_batch(
                producer_id, last_offset, control_type(data)
            )
            # Markers wait for their delete horizon like tombstones do.
            discard_records = can_discard and horizon is not None and horizon <= self.now_ms
        else:
            can_discard = txn_metadata.on_batch(
                producer_id, last_offset, bool(attributes & TRANSACTIONAL_FLAG)
            )
            discard_records = can_discard
        retain_empty = last_offset + 1 == upper_bound_offset_of_round
        if producer_id != NO_PRODUCER_ID and producer_id in producers:
            last_data_offset, epoch = producers[producer_id]
            if last_data_offset is not None:
                retain_empty = retain_empty or last_offset == last_data_offset
            else:
                retain_empty = retain_empty or (is_control and fields[PRODUCER_EPOCH] == epoch)
        if discard_records and not retain_empty:
            return None
        batch = _decode(data)
        self.stats.messages_read += len(batch.records)
        if discard_records:
            retained: list[Record] = []
        elif is_control:
            retained = list(batch.records)
        else:
            retained = [
                r for r in batch.records if self._retain(r, base_offset + r.offset_delta, horizon)
            ]
        self.stats.messages_written += len(retained)
        if retained:
            tombstones = any(r.value is None for r in retained)
            needs_horizon = (tombstones or (can_discard and is_control)) and horizon is None
            if len(retained) == len(batch.records) and not needs_horizon:
                return data
            if needs_horizon:
                horizon = self.now_ms + delete_retention_ms
            return _rebuild(batch, retained, horizon)
        if retain_empty:
            return _empty_batch(fields)
        return None

    def _retain(self, record: Record, offset: int, horizon: int | None) -> bool:
        offset_map = self.map
        if offset > offset_map.latest_offset:
            return True  # beyond the mapped range: nothing newer is known
        if record.key is None:
            self.stats.invalid_messages += 1  # a compacted topic refuses keyless records
            return False
        if offset < offset_map.get(record.key):
            return False
        return record.value is not None or horizon is None or self.now_ms < horizon


def _decode(data: bytes) -> RecordBatch:
    try:
        return decode_batch(data, verify_crc=False)
    except DecodeError as exc:
        raise CorruptRecordError(f"cannot compact an undecodable batch: {exc}") from exc


def _rebuild(batch: RecordBatch, retained: list[Record], horizon: int | None) -> bytes:
    """The batch with only ``retained``, re-based on the delete horizon if there is one.

    Offsets keep their deltas (the base offset does not move) and the last offset delta
    is preserved, so the producer's last sequence number survives compaction.
    """
    create_times = [batch.base_timestamp + r.timestamp_delta for r in retained]
    attributes = batch.attributes
    if horizon is not None:
        base_timestamp = horizon
        attributes |= DELETE_HORIZON_FLAG
    else:
        base_timestamp = create_times[0]
        attributes &= ~DELETE_HORIZON_FLAG
    max_timestamp = batch.max_timestamp if attributes & TIMESTAMP_TYPE_MASK else max(create_times)
    records = tuple(
        Record(r.offset_delta, t - base_timestamp, r.key, r.value, r.headers, r.attributes)
        for r, t in zip(retained, create_times, strict=True)
    )
    return encode_batch(
        RecordBatch(
            base_offset=batch.base_offset,
            partition_leader_epoch=batch.partition_leader_epoch,
            attributes=attributes,
            last_offset_delta=batch.last_offset_delta,
            base_timestamp=base_timestamp,
            max_timestamp=max_timestamp,
            producer_id=batch.producer_id,
            producer_epoch=batch.producer_epoch,
            base_sequence=batch.base_sequence,
            records=records,
        )
    )


def _empty_batch(fields: tuple[int, ...]) -> bytes:
    """A batch with no records that keeps the original's offsets and producer fields."""
    attributes = fields[ATTRIBUTES] & (TIMESTAMP_TYPE_MASK | TRANSACTIONAL_FLAG | CONTROL_FLAG)
    return encode_batch(
        RecordBatch(
            base_offset=fields[BASE_OFFSET],
            partition_leader_epoch=fields[PARTITION_LEADER_EPOCH],
            attributes=attributes & ~COMPRESSION_MASK,
            last_offset_delta=fields[LAST_OFFSET_DELTA],
            base_timestamp=-1,
            max_timestamp=fields[MAX_TIMESTAMP],
            producer_id=fields[PRODUCER_ID],
            producer_epoch=fields[PRODUCER_EPOCH],
            base_sequence=fields[BASE_SEQUENCE],
        )
    )


def _max_timestamp(batch: bytes) -> int:
    return int.from_bytes(batch[35:43], "big", signed=True)
