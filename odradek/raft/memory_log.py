"""A :class:`~odradek.raft.log.RaftLog` in memory, for the deterministic simulation.

Kafka's ``MockLog`` (``raft/src/test``), with the one property the simulation leans on:
:meth:`MemoryRaftLog.lose_unflushed` puts the log back to what it held at its last
:meth:`~MemoryRaftLog.flush`, as a machine that lost power would find its disk. Appends
*and* truncations since that flush are undone. Snapshots are durable once frozen; moving
the log start to a snapshot and truncating to the latest snapshot are durable at once
(they follow a durable snapshot, as Kafka's segment deletion does).

The log holds real RecordBatch bytes (CRC-checked on follower appends) and keeps its
epochs the way Kafka's leader epoch cache does: the start offset of each epoch's run,
dropped from the end on truncation and from the front when the log start moves.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from odradek.protocol.primitives import Buffer, DecodeError
from odradek.raft.batches import BatchInfo, split_batches
from odradek.raft.offsets import OffsetAndEpoch
from odradek.storage.errors import (
    CorruptRecordError,
    InvalidRecordError,
    OffsetOutOfRangeError,
    UnexpectedAppendOffsetError,
)


@dataclass(slots=True)
class _Contents:
    batches: list[BatchInfo]
    start: int


class _EpochCache:
    """Epoch -> first offset, in increasing order of both (Kafka's LeaderEpochFileCache)."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[tuple[int, int]] = []

    @property
    def latest_epoch(self) -> int | None:
        return self.entries[-1][0] if self.entries else None

    def assign(self, epoch: int, start_offset: int) -> None:
        entries = self.entries
        if entries and entries[-1][0] == epoch and start_offset >= entries[-1][1]:
            return
        while entries and (entries[-1][0] >= epoch or entries[-1][1] >= start_offset):
            entries.pop()
        entries.append((epoch, start_offset))

    def truncate_from_end(self, end_offset: int) -> None:
        while self.entries and self.entries[-1][1] >= end_offset:
            self.entries.pop()

    def truncate_from_start(self, start_offset: int) -> None:
        last_removed = None
        while self.entries and self.entries[0][1] <= start_offset:
            last_removed = self.entries.pop(0)
        if last_removed is not None:
            self.entries.insert(0, (last_removed[0], start_offset))

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int] | None:
        """``(epoch, end offset)``, or None where Kafka's cache answers "undefined"."""
        if epoch < 0 or not self.entries:
            return None
        if self.entries[-1][0] == epoch:
            return epoch, log_end_offset
        higher = next((e for e in self.entries if e[0] > epoch), None)
        if higher is None:
            return None
        floor = [e for e in self.entries if e[0] <= epoch]
        if not floor:
            return epoch, higher[1]
        return floor[-1][0], higher[1]


def _split(batches: Buffer, *, verify_crc: bool) -> list[BatchInfo]:
    try:
        return split_batches(batches, verify_crc=verify_crc)
    except DecodeError as exc:
        raise CorruptRecordError(str(exc)) from exc


class _MemorySnapshotWriter:
    def __init__(self, log: MemoryRaftLog, snapshot_id: OffsetAndEpoch) -> None:
        self._log = log
        self._id = snapshot_id
        self._buffer = bytearray()
        self._frozen = False

    @property
    def snapshot_id(self) -> OffsetAndEpoch:
        return self._id

    @property
    def is_frozen(self) -> bool:
        return self._frozen

    def size(self) -> int:
        return len(self._buffer)

    def append(self, data: bytes | memoryview) -> None:
        if self._frozen:
            raise ValueError(f"snapshot {self._id} is frozen")
        self._buffer += data

    def freeze(self) -> None:
        if not self._frozen:
            self._frozen = True
            self._log._snapshots[self._id] = bytes(self._buffer)

    def abort(self) -> None:
        self._frozen = True


class _MemorySnapshotReader:
    def __init__(self, snapshot_id: OffsetAndEpoch, data: bytes) -> None:
        self._id = snapshot_id
        self._data = data

    @property
    def snapshot_id(self) -> OffsetAndEpoch:
        return self._id

    def size(self) -> int:
        return len(self._data)

    def read(self, position: int, max_bytes: int) -> bytes:
        return self._data[position : position + max_bytes]


class MemoryRaftLog:
    def __init__(self) -> None:
        self._batches: list[BatchInfo] = []
        self._bases: list[int] = []
        self._start = 0
        self._epochs = _EpochCache()
        self._snapshots: dict[OffsetAndEpoch, bytes] = {}
        self._high_watermark = 0
        self._durable = _Contents([], 0)
        #: The lowest offset any truncation removed since the owner last cleared it
        #: (None if none did): the simulation checks committed records never go.
        self.lowest_truncation: int | None = None

    # -- offsets -----------------------------------------------------------------------

    @property
    def start_offset(self) -> int:
        return self._start

    @property
    def end_offset(self) -> int:
        return self._batches[-1].last_offset + 1 if self._batches else self._start

    @property
    def flushed_offset(self) -> int:
        durable = self._durable
        return durable.batches[-1].last_offset + 1 if durable.batches else durable.start

    @property
    def last_fetched_epoch(self) -> int:
        latest = self._epochs.latest_epoch
        if latest is not None:
            return latest
        snapshot = self.latest_snapshot_id()
        return snapshot.epoch if snapshot is not None else 0

    def end_offset_for_epoch(self, epoch: int) -> OffsetAndEpoch:
        found = self._epochs.end_offset_for(epoch, self.end_offset)
        if found is None:
            return OffsetAndEpoch(self.end_offset, self.last_fetched_epoch)
        found_epoch, offset = found
        earliest = self.earliest_snapshot_id()
        if earliest is not None and offset == earliest.offset and found_epoch == epoch:
            # The epoch lies before everything the log holds: the snapshot ends it.
            return earliest
        return OffsetAndEpoch(offset, found_epoch)

    def epoch_of_offset(self, offset: int) -> int | None:
        if not self._start <= offset < self.end_offset:
            return None
        index = bisect.bisect_right(self._bases, offset) - 1
        if index < 0:
            return None
        return self._batches[index].epoch

    def epochs(self) -> list[tuple[int, int]]:
        """The epoch cache: ``(epoch, start offset)`` pairs."""
        return list(self._epochs.entries)

    # -- writing -----------------------------------------------------------------------

    def initialize_leader_epoch(self, epoch: int) -> None:
        self._epochs.assign(epoch, self.end_offset)

    def append_as_leader(self, batches: bytes, epoch: int) -> tuple[int, int]:
        infos = _split(batches, verify_crc=False)
        for info in infos:
            if info.epoch != epoch:
                raise InvalidRecordError(
                    f"batch at {info.base_offset} has epoch {info.epoch}, not {epoch}"
                )
        return self._append(infos)

    def append_as_follower(self, batches: bytes | memoryview) -> tuple[int, int]:
        return self._append(_split(batches, verify_crc=True))

    def _append(self, infos: list[BatchInfo]) -> tuple[int, int]:
        if not infos:
            raise InvalidRecordError("an append needs at least one batch")
        expected = self.end_offset
        for info in infos:
            if info.base_offset != expected:
                raise UnexpectedAppendOffsetError(
                    f"batch at offset {info.base_offset} does not follow the end {expected}",
                    infos[0].base_offset,
                    infos[-1].last_offset,
                )
            expected = info.last_offset + 1
        for info in infos:
            if info.epoch != self._epochs.latest_epoch:
                self._epochs.assign(info.epoch, info.base_offset)
            self._batches.append(info)
            self._bases.append(info.base_offset)
        return infos[0].base_offset, infos[-1].last_offset

    def truncate_to(self, offset: int) -> None:
        if offset < self._start:
            raise OffsetOutOfRangeError(
                f"cannot truncate to {offset}, below the log start {self._start}"
            )
        end = self.end_offset
        if offset >= end:
            self._epochs.truncate_from_end(end)
            return
        # Whole batches go: one that straddles the offset takes the end to its base.
        index = bisect.bisect_right(self._bases, offset - 1) if offset > 0 else 0
        if index > 0 and self._batches[index - 1].last_offset >= offset:
            index -= 1
        new_end = self._batches[index].base_offset if index < len(self._batches) else offset
        del self._batches[index:]
        del self._bases[index:]
        self._epochs.truncate_from_end(new_end)
        if self.lowest_truncation is None or new_end < self.lowest_truncation:
            self.lowest_truncation = new_end

    def flush(self, offset: int) -> None:
        if offset > self.end_offset:
            raise OffsetOutOfRangeError(f"cannot flush to {offset}, past the end {self.end_offset}")
        kept = [b for b in self._batches if b.last_offset < offset]
        self._durable = _Contents(kept, self._start)

    def lose_unflushed(self) -> None:
        """Forget every change since the last flush, as a crash would."""
        self._batches = list(self._durable.batches)
        self._bases = [b.base_offset for b in self._batches]
        self._start = self._durable.start
        self._epochs = _EpochCache()
        for info in self._batches:
            if info.epoch != self._epochs.latest_epoch:
                self._epochs.assign(info.epoch, info.base_offset)
        self._epochs.truncate_from_start(self._start)
        self._high_watermark = min(self._high_watermark, self.end_offset)

    def update_high_watermark(self, offset: int) -> None:
        self._high_watermark = offset

    # -- reading -----------------------------------------------------------------------

    def read(self, start_offset: int, max_bytes: int) -> bytes:
        end = self.end_offset
        if start_offset < self._start or start_offset > end:
            raise OffsetOutOfRangeError(f"offset {start_offset} is outside [{self._start}, {end}]")
        if start_offset == end:
            return b""
        index = bisect.bisect_right(self._bases, start_offset) - 1
        index = max(index, 0)
        parts: list[bytes] = []
        size = 0
        for info in self._batches[index:]:
            if parts and size + len(info.data) > max_bytes:
                break
            parts.append(info.data)
            size += len(info.data)
        return b"".join(parts)

    def batches(self) -> list[BatchInfo]:
        """Every batch held, in order (for checks and tests)."""
        return list(self._batches)

    def batches_from(self, offset: int) -> list[BatchInfo]:
        """The batches from the one holding ``offset`` on."""
        index = max(bisect.bisect_right(self._bases, offset) - 1, 0)
        return self._batches[index:]

    # -- snapshots ---------------------------------------------------------------------

    def latest_snapshot_id(self) -> OffsetAndEpoch | None:
        return max(self._snapshots, default=None)

    def earliest_snapshot_id(self) -> OffsetAndEpoch | None:
        return min(self._snapshots, default=None)

    def snapshot_ids(self) -> list[OffsetAndEpoch]:
        return sorted(self._snapshots)

    def create_snapshot(self, snapshot_id: OffsetAndEpoch) -> _MemorySnapshotWriter | None:
        if snapshot_id in self._snapshots:
            return None
        return _MemorySnapshotWriter(self, snapshot_id)

    def read_snapshot(self, snapshot_id: OffsetAndEpoch) -> _MemorySnapshotReader | None:
        data = self._snapshots.get(snapshot_id)
        return None if data is None else _MemorySnapshotReader(snapshot_id, data)

    def truncate_to_latest_snapshot(self) -> bool:
        latest = self.latest_snapshot_id()
        log_epoch = self._epochs.latest_epoch or 0
        if latest is None or self._start == latest.offset == self.end_offset:
            return False
        if not (
            latest.epoch > log_epoch
            or (latest.epoch == log_epoch and latest.offset > self.end_offset)
        ):
            return False
        if self.end_offset > latest.offset and (
            self.lowest_truncation is None or latest.offset < self.lowest_truncation
        ):
            self.lowest_truncation = latest.offset
        self._batches.clear()
        self._bases.clear()
        self._epochs = _EpochCache()
        self._start = latest.offset
        self._high_watermark = latest.offset
        self._forget_snapshots_before(latest)
        self._durable = _Contents([], self._start)
        return True

    def delete_before_snapshot(self, snapshot_id: OffsetAndEpoch) -> bool:
        if snapshot_id not in self._snapshots:
            return False
        offset = snapshot_id.offset
        if not (self._start < offset <= self._high_watermark and offset <= self.end_offset):
            return False
        # Batches wholly below the snapshot go; one straddling it stays.
        first = bisect.bisect_left(self._bases, offset)
        if first > 0 and self._batches[first - 1].last_offset >= offset:
            first -= 1
        del self._batches[:first]
        del self._bases[:first]
        self._start = offset
        self._epochs.truncate_from_start(offset)
        self._forget_snapshots_before(snapshot_id)
        durable = [b for b in self._durable.batches if b.last_offset >= offset]
        self._durable = _Contents(durable, offset)
        return True

    def _forget_snapshots_before(self, snapshot_id: OffsetAndEpoch) -> None:
        for old in [s for s in self._snapshots if s < snapshot_id]:
            del self._snapshots[old]
