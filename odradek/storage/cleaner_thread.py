"""Compaction off the event loop: what a pass takes from its log, and how it hands back.

Kafka runs its cleaner on threads of its own (``LogCleaner.CleanerThread``) and takes the
log's lock only to swap segments in (``UnifiedLog.replaceSegments``); see
``docs/design.html``, "Log Compaction". Here one trio task owns each log, so a pass
(:class:`odradek.storage.cleaner.Cleaner`) is cut along the same line:

1. **On the event loop**, a :class:`CleaningSnapshot` is taken: the segment list, the last
   batch of every active producer, the config, the positions the key map starts from, with
   every file the thread will read already open. The log is marked as being cleaned
   (:meth:`Log.start_cleaning <odradek.storage.log.Log.start_cleaning>`): until the pass
   ends no segment file is closed, so no descriptor the thread holds is reused.
2. **In a worker thread** (``trio.to_thread.run_sync``) the key map is built and one group
   of segments at a time is copied into a ``.cleaned`` segment. The thread reads inactive
   segments only, whose files nothing changes unless the log is truncated or loses
   segments, and writes files nobody else knows of.
3. **Back on the loop**, after each group, :meth:`CleaningSnapshot.swap` puts the cleaned
   segment in place, unless :attr:`Log.generation <odradek.storage.log.Log.generation>`
   moved since the snapshot (truncation, retention or DeleteRecords deleting segments,
   deletion or closing of the log). Then the output is deleted, the checkpoint stays,
   and the next pass starts over. An error the thread meets after such a change (it may
   have read a file being cut) ends the pass the same way.

Appends, reads and rolls go on meanwhile: they touch the active segment, never the ones
being cleaned. A cancelled pass (shutdown) stops at the next batch, deletes its
``.cleaned`` files and leaves the log as it was; a crash leaves ``.cleaned`` files, which
loading deletes (:mod:`odradek.storage.recovery`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar

import trio

from odradek.storage import log_files
from odradek.storage.segment import LogSegment
from odradek.storage.segments import collect_aborted
from odradek.storage.txn_index import AbortedTxn

if TYPE_CHECKING:
    from odradek.storage.cleaner import Cleaner
    from odradek.storage.log import Log

T = TypeVar("T")


@dataclass(frozen=True)
class DirtySegment:
    """A segment of the dirty range, as the key map reads it."""

    segment: LogSegment
    #: Where in the file the first dirty offset's batch can be searched from.
    start_position: int
    #: The base offset of the next dirty segment, or the first uncleanable offset.
    next_start: int


@dataclass(frozen=True)
class SegmentGroup:
    """Consecutive segments whose cleaned output becomes one segment."""

    segments: tuple[LogSegment, ...]
    #: Per segment, the offset after it: the base of the next one in the group, or for
    #: the last, the offset after its last batch.
    upper_offsets: tuple[int, ...]
    #: The modification time the cleaned segment keeps (time retention may fall back on it).
    last_modified_ms: int


class CleaningSnapshot:
    """One pass's view of its log, taken and used on the log's owner (see the module doc)."""

    def __init__(self, log: Log, first_dirty: int, first_uncleanable: int) -> None:
        self.log = log
        self.first_dirty = first_dirty
        self.first_uncleanable = first_uncleanable
        self.config = log.config
        self.generation = log.generation
        self.producers = log.last_records_of_active_producers()
        #: Every segment, the active one included: an aborted transaction's entry is in
        #: the transaction index of the segment holding its marker, which may be any.
        self.segments = list(log.segments)
        self._bases = [s.base_offset for s in self.segments]
        for segment in log.segments.range(0, first_uncleanable):
            segment.open_files()
        dirty = log.segments.range(first_dirty, first_uncleanable)
        self.dirty = [
            DirtySegment(
                segment,
                segment.offset_index.lookup(first_dirty).position,
                dirty[i + 1].base_offset if i + 1 < len(dirty) else first_uncleanable,
            )
            for i, segment in enumerate(dirty)
        ]

    def unchanged(self) -> bool:
        """Whether the log is still as the snapshot (and the swaps since) left it."""
        return self.log.generation == self.generation and not self.log.closed

    def aborted_transactions(self, start_offset: int, upper_bound_offset: int) -> list[AbortedTxn]:
        """As :meth:`Log.collect_aborted_transactions`, over the snapshot's segments."""
        floor = max(0, bisect.bisect_right(self._bases, start_offset) - 1)
        return collect_aborted(self.segments[floor:], start_offset, upper_bound_offset)

    def groups(self, end_offset: int) -> list[SegmentGroup]:
        """The segments holding offsets below ``end_offset``, grouped for the copy."""
        segments = self.segments[: bisect.bisect_left(self._bases, end_offset)]
        groups = []
        for members in group_segments_by_size(
            segments,
            self.config.segment_bytes,
            self.config.segment_index_bytes,
            self.first_uncleanable,
        ):
            uppers = [s.base_offset for s in members[1:]]
            uppers.append(members[-1].read_next_offset())
            groups.append(
                SegmentGroup(tuple(members), tuple(uppers), members[-1].last_modified_ms())
            )
        return groups

    def open_output(self, group: SegmentGroup) -> LogSegment:
        """A new, empty ``.cleaned`` segment at the group's base offset."""
        directory = self.log.directory
        base = group.segments[0].base_offset
        for name in (
            log_files.log_file,
            log_files.offset_index_file,
            log_files.time_index_file,
            log_files.txn_index_file,
        ):
            name(directory, base, log_files.CLEANED_SUFFIX).unlink(missing_ok=True)
        return LogSegment.open(
            directory,
            base,
            self.config,
            self.log.time_ms,
            exists=False,
            suffix=log_files.CLEANED_SUFFIX,
        )

    def swap(self, group: SegmentGroup, cleaned: LogSegment) -> bool:
        """Put ``cleaned`` in place of the group, or delete it if the log changed."""
        if not self.unchanged():
            cleaned.delete_files()
            return False
        cleaned.set_last_modified_ms(group.last_modified_ms)
        # From here on the cleaned files are the only copy of part of the log: a failure
        # must leave them for the next load to finish the swap, never delete them.
        self.log.replace_segments([cleaned], list(group.segments))
        self.generation = self.log.generation
        return True


def group_segments_by_size(
    segments: list[LogSegment], max_size: int, max_index_size: int, first_uncleanable: int
) -> list[list[LogSegment]]:
    """Runs of consecutive segments whose cleaned output fits one segment.

    Limits: ``segment.bytes`` of log, ``segment.index.bytes`` of each index, and offsets
    that stay within 2**31 of the group's base offset (relative offsets are 32-bit).
    """
    groups: list[list[LogSegment]] = []
    rest = list(segments)
    while rest:
        first = rest.pop(0)
        group = [first]
        log_size = first.size
        index_size = first.offset_index.size_in_bytes
        time_index_size = first.time_index.size_in_bytes
        while rest:
            candidate = rest[0]
            # The candidate's last offset, bounded by the next segment's base offset.
            last = (rest[1].base_offset if len(rest) > 1 else first_uncleanable) - 1
            if not (
                log_size + candidate.size <= max_size
                and index_size + candidate.offset_index.size_in_bytes <= max_index_size
                and time_index_size + candidate.time_index.size_in_bytes <= max_index_size
                and (candidate.size == 0 or last - first.base_offset <= 0x7FFFFFFF)
            ):
                break
            group.append(rest.pop(0))
            log_size += candidate.size
            index_size += candidate.offset_index.size_in_bytes
            time_index_size += candidate.time_index.size_in_bytes
        groups.append(group)
    return groups


def run_pass(cleaner: Cleaner, log: Log, first_dirty: int, first_uncleanable: int) -> int:
    """A whole pass on the caller's thread; returns the next dirty offset.

    For callers that own the log for the whole pass (tests, tools, start-up).
    """
    if first_uncleanable <= first_dirty:
        return first_dirty
    snapshot = CleaningSnapshot(log, first_dirty, first_uncleanable)
    log.start_cleaning()
    try:
        end_offset = cleaner.build_offset_map(snapshot)
        if end_offset <= first_dirty:
            return first_dirty
        for group in snapshot.groups(end_offset):
            cleaned = snapshot.open_output(group)
            try:
                cleaner.copy(snapshot, group, cleaned)
            except BaseException:
                cleaned.delete_files()
                raise
            snapshot.swap(group, cleaned)
    finally:
        log.finish_cleaning()
    return end_offset


async def run_pass_in_thread(
    cleaner: Cleaner, log: Log, first_dirty: int, first_uncleanable: int
) -> int | None:
    """As :func:`run_pass` with the reading and copying in a worker thread.

    Returns None when the log changed during the pass and its output was thrown away. The
    cleaner should poll ``trio.from_thread.check_cancelled`` (its ``check_cancelled``):
    cancelling the calling task then stops the thread at its next poll, and only then does
    this return, so the caller may close the log right after.
    """
    if first_uncleanable <= first_dirty:
        return first_dirty
    snapshot = CleaningSnapshot(log, first_dirty, first_uncleanable)
    log.start_cleaning()
    try:
        end_offset = await _in_thread(snapshot, partial(cleaner.build_offset_map, snapshot))
        if end_offset <= first_dirty:
            return first_dirty
        _check_unchanged(snapshot)
        for group in snapshot.groups(end_offset):
            _check_unchanged(snapshot)
            cleaned = snapshot.open_output(group)
            try:
                await _in_thread(snapshot, partial(cleaner.copy, snapshot, group, cleaned))
            except BaseException:
                cleaned.delete_files()
                raise
            if not snapshot.swap(group, cleaned):
                return None
    except _LogChanged:
        return None
    finally:
        log.finish_cleaning()
    return end_offset


class _LogChanged(Exception):
    """The log changed under the pass: what it read or wrote no longer fits."""


def _check_unchanged(snapshot: CleaningSnapshot) -> None:
    if not snapshot.unchanged():
        raise _LogChanged


async def _in_thread(snapshot: CleaningSnapshot, work: Callable[[], T]) -> T:
    """``work()`` in a worker thread; an error after the log changed means the change."""
    try:
        return await trio.to_thread.run_sync(work)
    except Exception as exc:
        if snapshot.unchanged():
            raise
        raise _LogChanged from exc
