"""Opening a log from its directory: finishing interrupted swaps, recovery, producer state.

Kafka's ``LogLoader`` and ``UnifiedLog.rebuildProducerState``. Loading goes in passes:

1. Leftovers are cleared: ``.deleted`` files (removals that a crash interrupted) and
   ``.cleaned`` files (a compaction that never finished) are deleted.
2. A compaction that got as far as ``.swap`` files is completed: the swap files hold the
   whole cleaned segment, so the original segments they replace (the offsets they cover)
   are deleted and the swap files renamed into place.
3. Every ``.log`` file becomes a segment; an index without its log is deleted.
4. After an unclean shutdown, every segment from the recovery point on is *recovered*:
   each batch's CRC is checked, the indexes are rebuilt from the log, and the log is cut
   at the first invalid batch (a torn write or corruption); any later segment is deleted,
   for nothing after a hole can be trusted. After a clean shutdown (the marker written by
   :mod:`odradek.storage.log_manager`) nothing is scanned: the indexes were trimmed and
   flushed on close, so the time taken does not grow with the data.
5. The leader epoch cache is truncated to the recovered log, and the producer state is
   rebuilt from the newest usable ``.snapshot`` plus the batches after it.

The recovery point is the offset below which the log is known to be on disk (the last
flush). It is checkpointed per log dir, so an unclean restart re-reads only what may not
have been flushed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from odradek.protocol.records.batch_header import (
    CONTROL_FLAG,
    LOG_OVERHEAD,
    NO_PRODUCER_ID,
    TRANSACTIONAL_FLAG,
)
from odradek.storage import log_files
from odradek.storage.config import LogConfig
from odradek.storage.control_batch import read_end_txn_marker
from odradek.storage.file_records import (
    ATTRIBUTES,
    BASE_OFFSET,
    BASE_SEQUENCE,
    BATCH_LENGTH,
    LAST_OFFSET_DELTA,
    MAX_TIMESTAMP,
    PRODUCER_EPOCH,
    PRODUCER_ID,
    FileRecords,
)
from odradek.storage.leader_epochs import LeaderEpochFileCache
from odradek.storage.mmap_index import CorruptIndexError
from odradek.storage.producer_state import (
    AppendOrigin,
    CompletedTxn,
    ProducerAppendInfo,
    ProducerStateManager,
)
from odradek.storage.segment import LogOffsetMetadata, LogSegment
from odradek.storage.segments import LogSegments


@dataclass(frozen=True)
class LoadedLogOffsets:
    log_start_offset: int
    recovery_point: int
    next_offset_metadata: LogOffsetMetadata


@dataclass
class LogLoader:
    directory: Path
    config: LogConfig
    time_ms: Callable[[], int]
    had_clean_shutdown: bool
    segments: LogSegments
    log_start_offset_checkpoint: int
    recovery_point_checkpoint: int
    leader_epochs: LeaderEpochFileCache
    producer_state: ProducerStateManager

    def load(self) -> LoadedLogOffsets:
        swapped_in = self._complete_interrupted_swaps()
        self._load_segment_files(swapped_in)
        recovery_point, next_offset = self._recover_log()
        # The active segment takes appends again: its indexes get their full size back.
        self.segments.active.resize_indexes(self.config.segment_index_bytes)
        # The checkpoint may be older than the log after a crash; the log decides.
        self.leader_epochs.truncate_from_end(next_offset)
        first = self.segments.first()
        assert first is not None
        log_start_offset = max(self.log_start_offset_checkpoint, first.base_offset)
        self.leader_epochs.truncate_from_start(self.log_start_offset_checkpoint)
        if not self.producer_state.is_empty():
            raise RuntimeError("producer state must be empty before the log is loaded")
        self.producer_state.remove_stray_snapshots(self.segments.base_offsets())
        rebuild_producer_state(
            self.producer_state,
            self.segments,
            log_start_offset,
            next_offset,
            self.time_ms(),
            reload_from_clean_shutdown=self.had_clean_shutdown,
        )
        active = self.segments.active
        return LoadedLogOffsets(
            log_start_offset,
            recovery_point,
            LogOffsetMetadata(next_offset, active.base_offset, active.size),
        )

    def _new_segment(self, base_offset: int) -> LogSegment:
        return LogSegment.open(
            self.directory,
            base_offset,
            self.config,
            self.time_ms,
            exists=False,
            roll_jitter_ms=self.config.random_segment_jitter(),
        )

    # -- passes 1 and 2: leftovers and swaps ------------------------------------------

    def _complete_interrupted_swaps(self) -> set[int]:
        """Delete temporary files, finish any swap; returns the base offsets swapped in."""
        swap_files: list[Path] = []
        cleaned_files: list[Path] = []
        min_cleaned = None
        for entry in os.scandir(self.directory):
            if not entry.is_file():
                continue
            name = entry.name
            path = Path(entry.path)
            if name.endswith(log_files.DELETED_SUFFIX):
                path.unlink(missing_ok=True)
            elif name.endswith(log_files.CLEANED_SUFFIX):
                offset = log_files.offset_from_name(name)
                min_cleaned = offset if min_cleaned is None else min(min_cleaned, offset)
                cleaned_files.append(path)
            elif name.endswith(log_files.SWAP_SUFFIX):
                swap_files.append(path)
        # Swap files at or past a .cleaned file belong to an operation that never finished
        # writing its outputs; only those below it are complete.
        valid_swaps = []
        for path in swap_files:
            if min_cleaned is not None and log_files.offset_from_name(path.name) >= min_cleaned:
                path.unlink(missing_ok=True)
            else:
                valid_swaps.append(path)
        for path in cleaned_files:
            path.unlink(missing_ok=True)

        swapped_in: set[int] = set()
        min_swap = max_swap = None
        for path in valid_swaps:
            if not path.name.endswith(log_files.LOG_SUFFIX + log_files.SWAP_SUFFIX):
                continue
            base = log_files.offset_from_name(path.name)
            records = FileRecords.open(path, create=False)
            try:
                next_offset = base
                for _, fields in records.raw_batches(0):
                    next_offset = fields[BASE_OFFSET] + fields[LAST_OFFSET_DELTA] + 1
            finally:
                records.close()
            swapped_in.add(base)
            min_swap = base if min_swap is None else min(min_swap, base)
            max_swap = next_offset if max_swap is None else max(max_swap, next_offset)
        if min_swap is not None and max_swap is not None:
            # The originals that the swap replaces: every segment file in its offset range.
            for entry in os.scandir(self.directory):
                name = entry.name
                if (
                    entry.is_file()
                    and not name.endswith(log_files.SWAP_SUFFIX)
                    and log_files.is_offset_named(name)
                    and min_swap <= log_files.offset_from_name(name) < max_swap
                ):
                    os.unlink(entry.path)
        for path in valid_swaps:
            log_files.rename_with_suffix(path, log_files.SWAP_SUFFIX, "")
        if valid_swaps:
            log_files.fsync_dir(self.directory)
        return swapped_in

    # -- pass 3: segments -------------------------------------------------------------

    def _load_segment_files(self, must_recover: set[int]) -> None:
        names = sorted(e.name for e in os.scandir(self.directory) if e.is_file())
        present = set(names)
        for name in names:
            if not log_files.is_offset_named(name):
                continue
            base = log_files.offset_from_name(name)
            prefix = log_files.offset_prefix(base)
            if name.endswith(
                (log_files.INDEX_SUFFIX, log_files.TIME_INDEX_SUFFIX, log_files.TXN_INDEX_SUFFIX)
            ):
                if prefix + log_files.LOG_SUFFIX not in present:
                    os.unlink(self.directory / name)
            elif name.endswith(log_files.LOG_SUFFIX):
                time_index_new = prefix + log_files.TIME_INDEX_SUFFIX not in present
                segment = LogSegment.open(
                    self.directory,
                    base,
                    self.config,
                    self.time_ms,
                    exists=True,
                    roll_jitter_ms=self.config.random_segment_jitter(),
                )
                if base in must_recover or prefix + log_files.INDEX_SUFFIX not in present:
                    self._recover_segment(segment, self._recovery_state())
                else:
                    try:
                        segment.sanity_check(time_index_new)
                    except (FileNotFoundError, CorruptIndexError):
                        self._recover_segment(segment, self._recovery_state())
                self.segments.add(segment)

    def _recovery_state(self) -> ProducerStateManager:
        """A producer state of its own for recovering segments (the log's stays empty)."""
        return ProducerStateManager(
            self.directory,
            self.producer_state.topic_partition,
            self.producer_state.producer_id_expiration_ms,
        )

    def _recover_segment(self, segment: LogSegment, state: ProducerStateManager) -> int:
        """Recover one segment with ``state`` rebuilt up to its base offset.

        Recovering segments in order, one state serves them all: the state the previous
        segment's recovery left already ends at this segment's base offset, so the
        rebuild keeps it instead of loading the snapshot just written.
        """
        rebuild_producer_state(
            state,
            self.segments,
            self.log_start_offset_checkpoint,
            segment.base_offset,
            self.time_ms(),
            reload_from_clean_shutdown=False,
        )
        truncated = segment.recover(state, self.leader_epochs)
        # Saves replaying this segment again when recovering the next one. Not fsync'd:
        # snapshots carry a CRC, and one lost in a crash only means replaying the log.
        state.take_snapshot(sync=False)
        return truncated

    # -- pass 4: recovery -------------------------------------------------------------

    def _recover_log(self) -> tuple[int, int]:
        """Returns ``(recovery point, next offset)``."""
        if not self.had_clean_shutdown:
            unflushed = self.segments.range(self.recovery_point_checkpoint, 2**63 - 1)
            state = self._recovery_state()
            for i, segment in enumerate(unflushed):
                try:
                    truncated = self._recover_segment(segment, state)
                except OSError:
                    truncated = segment.truncate_to(segment.base_offset)
                if truncated > 0:
                    self._remove_and_delete(unflushed[i + 1 :])
                    break
        log_end_offset = self._delete_segments_if_log_start_greater_than_log_end()
        if not self.segments:
            self.segments.add(self._new_segment(self.log_start_offset_checkpoint))
        if self.had_clean_shutdown and log_end_offset is not None:
            return log_end_offset, log_end_offset
        if log_end_offset is None:
            log_end_offset = self.segments.active.read_next_offset()
        return min(self.recovery_point_checkpoint, log_end_offset), log_end_offset

    def _delete_segments_if_log_start_greater_than_log_end(self) -> int | None:
        if not self.segments:
            return None
        log_end_offset = self.segments.active.read_next_offset()
        if log_end_offset >= self.log_start_offset_checkpoint:
            return log_end_offset
        # The log lost its tail below the start offset (files removed by hand): start over.
        self._remove_and_delete(list(self.segments))
        self.leader_epochs.clear_and_flush()
        self.producer_state.truncate_fully_and_start_at(self.log_start_offset_checkpoint)
        return None

    def _remove_and_delete(self, segments: list[LogSegment]) -> None:
        for segment in segments:
            self.segments.remove(segment.base_offset)
            segment.delete_files()
            self.producer_state.delete_snapshot(segment.base_offset)


def rebuild_producer_state(
    state: ProducerStateManager,
    segments: LogSegments,
    log_start_offset: int,
    last_offset: int,
    now_ms: int,
    *,
    reload_from_clean_shutdown: bool,
) -> None:
    """Bring ``state`` to ``last_offset``: newest snapshot, then replay the batches after it.

    As in Kafka: with no snapshot at all after a clean shutdown there is nothing to replay
    (a log that never had producer ids), so empty snapshots are written at the last two
    segment bases and at ``last_offset`` to keep later loads cheap. The snapshots written
    here are not fsync'd: each carries a CRC, and one lost in a crash only means more of
    the log is replayed next time.
    """
    offsets_to_snapshot: list[int] = []
    if segments:
        active_base = segments.active.base_offset
        lower = segments.lower(active_base)
        if lower is not None:
            offsets_to_snapshot.append(lower.base_offset)
        offsets_to_snapshot.append(active_base)
    offsets_to_snapshot.append(last_offset)
    if state.latest_snapshot_offset() is None and reload_from_clean_shutdown:
        for offset in offsets_to_snapshot:
            state.update_map_end_offset(offset)
            state.take_snapshot(sync=False)
        return
    was_empty = state.is_empty() and state.map_end_offset >= last_offset
    state.truncate_and_reload(log_start_offset, last_offset, now_ms)
    if last_offset > state.map_end_offset and not was_empty:
        for segment in segments.range(state.map_end_offset, last_offset):
            start = max(segment.base_offset, state.map_end_offset, log_start_offset)
            state.update_map_end_offset(start)
            if segment.base_offset in offsets_to_snapshot:
                state.take_snapshot(sync=False)
            found = segment.translate_offset(start)
            if found is None:
                continue
            end = segment.size
            if segments.floor(last_offset) is segment:
                at_last = segment.translate_offset(last_offset)
                if at_last is not None:
                    end = at_last.position
            _load_producers_from_segment(state, segment, found.position, end)
    state.update_map_end_offset(last_offset)
    state.take_snapshot(sync=False)


def _load_producers_from_segment(
    state: ProducerStateManager, segment: LogSegment, start: int, end: int
) -> None:
    loaded: dict[int, ProducerAppendInfo] = {}
    completed: list[CompletedTxn] = []
    log = segment.log
    for position, fields in log.raw_batches(start, end):
        producer_id = fields[PRODUCER_ID]
        if producer_id == NO_PRODUCER_ID:
            continue
        info = loaded.get(producer_id)
        if info is None:
            info = loaded[producer_id] = state.prepare_update(producer_id, AppendOrigin.REPLICATION)
        base_offset, attributes = fields[BASE_OFFSET], fields[ATTRIBUTES]
        if attributes & CONTROL_FLAG:
            marker = read_end_txn_marker(log.read(position, fields[BATCH_LENGTH] + LOG_OVERHEAD))
            if marker is not None:
                txn = info.append_end_txn_marker(
                    marker.is_abort,
                    marker.coordinator_epoch,
                    fields[PRODUCER_EPOCH],
                    base_offset,
                    fields[MAX_TIMESTAMP],
                )
                if txn is not None:
                    completed.append(txn)
        else:
            base_seq = fields[BASE_SEQUENCE]
            last_seq = -1 if base_seq == -1 else (base_seq + fields[LAST_OFFSET_DELTA]) & 0x7FFFFFFF
            info.append_data_batch(
                fields[PRODUCER_EPOCH],
                base_seq,
                last_seq,
                fields[MAX_TIMESTAMP],
                base_offset,
                base_offset + fields[LAST_OFFSET_DELTA],
                bool(attributes & TRANSACTIONAL_FLAG),
            )
    for info in loaded.values():
        state.update(info)
    for txn in completed:
        state.complete_txn(txn)
