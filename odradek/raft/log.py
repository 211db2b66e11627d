"""The replicated log as the Raft core sees it: the :class:`RaftLog` protocol.

Kafka's ``ReplicatedLog`` and ``RawSnapshotReader``/``RawSnapshotWriter`` (KIP-595, "Log";
KIP-630, "Snapshots"). The core never touches files: it is given a :class:`RaftLog` and
calls it. Two implementations exist, and both pass the same conformance suite
(``tests/raft/log_conformance.py``):

* :class:`odradek.raft.memory_log.MemoryRaftLog`, for the deterministic simulation; it
  can forget everything written since its last flush, as a crash would;
* :class:`odradek.raft.file_log.FileRaftLog`, on :class:`odradek.storage.log.Log`
  segment files, with snapshots in ``.checkpoint`` files beside them.

**What the log holds.** Whole RecordBatches (magic 2), each stamped with the epoch of the
leader that wrote it; a position is an offset with the epoch of the record before it
(:class:`~odradek.raft.offsets.OffsetAndEpoch`). The log starts at ``start_offset``:
below it the records are summarised by a snapshot whose id is exactly
``(start_offset, epoch)``. Each epoch's records form one contiguous run, so "where does
epoch *e* end" (:meth:`RaftLog.end_offset_for_epoch`) is the question follower and leader
use to find where their logs part (Kafka's leader epoch cache answers it).

**Durability.** Appends and truncations take effect at once for readers, but only
:meth:`RaftLog.flush` makes them survive a crash; ``flushed_offset`` is how far that
goes. The core never flushes: it asks the driver to (:attr:`odradek.raft.ready.Ready.flush_offset`)
before any message that depends on the data goes out. Snapshots are durable when frozen.

Two algorithms on top of the protocol live here, written once for every implementation:
:func:`validate_offset_and_epoch` (the leader's check of a Fetch position) and
:func:`truncate_to_end_offset` (the follower's reply to a diverging epoch).
"""

from __future__ import annotations

from typing import Protocol

from odradek.raft.offsets import OffsetAndEpoch, ValidOffsetAndEpoch


class RawSnapshotWriter(Protocol):
    """Bytes of a snapshot being written, invisible to readers until frozen."""

    @property
    def snapshot_id(self) -> OffsetAndEpoch: ...

    @property
    def is_frozen(self) -> bool: ...

    def size(self) -> int: ...

    def append(self, data: bytes | memoryview) -> None: ...

    def freeze(self) -> None:
        """Make the snapshot durable and visible to :meth:`RaftLog.read_snapshot`."""
        ...

    def abort(self) -> None:
        """Discard a snapshot that will not be finished."""
        ...


class RawSnapshotReader(Protocol):
    @property
    def snapshot_id(self) -> OffsetAndEpoch: ...

    def size(self) -> int: ...

    def read(self, position: int, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` from ``position`` (not aligned to batches)."""
        ...


class RaftLog(Protocol):
    @property
    def start_offset(self) -> int:
        """The first offset held; everything below is covered by the earliest snapshot."""
        ...

    @property
    def end_offset(self) -> int:
        """The offset the next record gets."""
        ...

    @property
    def flushed_offset(self) -> int:
        """Offsets below this survive a crash."""
        ...

    @property
    def last_fetched_epoch(self) -> int:
        """The epoch of the last record, else of the latest snapshot, else 0."""
        ...

    def end_offset_for_epoch(self, epoch: int) -> OffsetAndEpoch:
        """Where ``epoch`` ends in this log, with Kafka's ``endOffsetForEpoch`` rules.

        * ``epoch`` is the latest epoch: ``(end_offset, epoch)``;
        * a later epoch follows it: the start of the next epoch, with the largest epoch
          at or below ``epoch`` that the log holds (or ``epoch`` itself if it holds none,
          or the earliest snapshot's epoch if that run starts at the log start);
        * ``epoch`` is past every epoch held: ``(end_offset, last_fetched_epoch)``.
        """
        ...

    def epoch_of_offset(self, offset: int) -> int | None:
        """The epoch of the record at ``offset``, or None if the log does not hold it."""
        ...

    def initialize_leader_epoch(self, epoch: int) -> None:
        """Record that ``epoch`` starts at the end offset (on becoming leader)."""
        ...

    def append_as_leader(self, batches: bytes, epoch: int) -> tuple[int, int]:
        """Append batches the leader built (offsets from ``end_offset``, stamped ``epoch``).

        Returns the first and last offset written.
        """
        ...

    def append_as_follower(self, batches: bytes | memoryview) -> tuple[int, int]:
        """Append batches fetched from the leader, as they are (their CRCs are checked)."""
        ...

    def read(self, start_offset: int, max_bytes: int) -> bytes:
        """Whole batches from ``start_offset`` (a batch boundary), at least one if any.

        May return fewer bytes than there are (a read stops at a segment's end).
        """
        ...

    def truncate_to(self, offset: int) -> None:
        """Remove every batch at or past ``offset``."""
        ...

    def truncate_to_latest_snapshot(self) -> bool:
        """Drop the whole log and start it at the latest snapshot, if that is ahead of it.

        True if it did: the snapshot is later than the log's last record (epoch first).
        """
        ...

    def flush(self, offset: int) -> None:
        """Make everything below ``offset`` durable (truncations included)."""
        ...

    def update_high_watermark(self, offset: int) -> None:
        """The committed offset, which bounds :meth:`delete_before_snapshot`."""
        ...

    def latest_snapshot_id(self) -> OffsetAndEpoch | None: ...

    def earliest_snapshot_id(self) -> OffsetAndEpoch | None: ...

    def create_snapshot(self, snapshot_id: OffsetAndEpoch) -> RawSnapshotWriter | None:
        """A writer for a new snapshot, or None if that snapshot already exists."""
        ...

    def read_snapshot(self, snapshot_id: OffsetAndEpoch) -> RawSnapshotReader | None: ...

    def delete_before_snapshot(self, snapshot_id: OffsetAndEpoch) -> bool:
        """Move the log start up to the snapshot and delete what it makes redundant.

        Older snapshots go too. Returns whether the log start moved.
        """
        ...


def validate_offset_and_epoch(log: RaftLog, offset: int, epoch: int) -> ValidOffsetAndEpoch:
    """Is ``(offset, epoch)``, a follower's end, a position on this (the leader's) log?

    Kafka's ``ReplicatedLog.validateOffsetAndEpoch``. Below the log start (or at it with
    another epoch, or with an epoch older than the earliest snapshot) the follower must
    fetch the latest snapshot. Otherwise the position is valid if this log holds
    ``epoch`` up to at least ``offset``; if not, the follower diverged and must truncate
    to where this log's run of ``epoch`` (or the nearest earlier epoch) ends.
    """
    start = log.start_offset
    if start == 0 and offset == 0:
        return ValidOffsetAndEpoch.valid(OffsetAndEpoch(0, 0))
    earliest = log.earliest_snapshot_id()
    if earliest is not None and (
        offset < start or (offset == start and epoch != earliest.epoch) or epoch < earliest.epoch
    ):
        latest = log.latest_snapshot_id()
        assert latest is not None
        return ValidOffsetAndEpoch.snapshot(latest)
    end = log.end_offset_for_epoch(epoch)
    if end.epoch != epoch or end.offset < offset:
        return ValidOffsetAndEpoch.diverging(end)
    return ValidOffsetAndEpoch.valid(OffsetAndEpoch(offset, epoch))


def truncate_to_end_offset(log: RaftLog, leader_end: OffsetAndEpoch) -> int:
    """Truncate where the leader says our logs part; returns the new end offset.

    Kafka's ``ReplicatedLog.truncateToEndOffset``. ``leader_end`` is where the leader's
    run of some epoch ends. If this log holds that epoch too, the logs agree up to the
    smaller of the two ends; if not, up to where this log's nearest earlier epoch ends
    (the next Fetch will narrow it further if needed).
    """
    if leader_end.epoch == 0:
        offset = min(leader_end.offset, log.end_offset)
    else:
        local = log.end_offset_for_epoch(leader_end.epoch)
        if local.epoch == leader_end.epoch:
            offset = min(local.offset, leader_end.offset)
        else:
            offset = local.offset
    log.truncate_to(offset)
    return offset
