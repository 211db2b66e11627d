"""The metadata log on disk: :mod:`odradek.storage` segments plus ``.checkpoint`` snapshots.

Kafka's ``KafkaMetadataLog`` (KIP-595 "Log", KIP-630 "Snapshots";
``docs/ops.html``, "KRaft"). The directory is the partition directory
``<metadata.log.dir>/__cluster_metadata-0/``. It holds, byte for byte as Kafka lays it out:

* the log's segments (``.log``, ``.index``, ``.timeindex``), its
  ``leader-epoch-checkpoint`` and producer snapshots, managed by
  :class:`odradek.storage.log.Log` (batches keep the offsets and epochs the leader
  gave them: :class:`~odradek.storage.producer_state.AppendOrigin` ``RAFT_LEADER``);
* the snapshots, ``<20-digit end offset>-<10-digit epoch>.checkpoint``
  (:mod:`odradek.raft.snapshots`); one being written is ``.checkpoint.part`` and
  is renamed when frozen, after an fsync; one on its way out is ``.checkpoint.deleted``;
* ``quorum-state`` (:mod:`odradek.raft.quorum_state_store`), written by the driver.

On opening, leftover ``.part`` and ``.deleted`` snapshot files are removed, the log
starts at its first segment, every segment is recovered (torn batches at the end are
cut off), and if the latest snapshot is ahead of the log, the log is emptied to start
there. There is no size- or time-based
retention: the log only gets shorter through :meth:`FileRaftLog.delete_before_snapshot`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Self

from odradek.raft.batches import whole_batches
from odradek.raft.config import MAX_BATCH_SIZE_BYTES
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.snapshots import (
    DELETED_SUFFIX,
    PARTIAL_SUFFIX,
    parse_snapshot_file_name,
    snapshot_file_name,
)
from odradek.storage.config import LogConfig
from odradek.storage.log import Log
from odradek.storage.log_files import fsync_dir
from odradek.storage.producer_state import AppendOrigin

#: Kafka's metadata log defaults: 1 GiB segments, batches up to 8 MiB, no retention by
#: size or age (snapshots decide), and deleted files kept a minute for readers in flight.
METADATA_LOG_CONFIG = LogConfig(
    segment_bytes=1024 * 1024 * 1024,
    max_message_bytes=MAX_BATCH_SIZE_BYTES + 1024,
    retention_ms=-1,
    retention_bytes=-1,
    file_delete_delay_ms=60_000,
)


class _FileSnapshotWriter:
    def __init__(self, log: FileRaftLog, snapshot_id: OffsetAndEpoch) -> None:
        self._log = log
        self._id = snapshot_id
        self._path = log.directory / snapshot_file_name(snapshot_id, PARTIAL_SUFFIX)
        self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._size = 0
        self._frozen = False

    @property
    def snapshot_id(self) -> OffsetAndEpoch:
        return self._id

    @property
    def is_frozen(self) -> bool:
        return self._frozen

    def size(self) -> int:
        return self._size

    def append(self, data: bytes | memoryview) -> None:
        if self._fd is None:
            raise ValueError(f"snapshot {self._id} is frozen or aborted")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def freeze(self) -> None:
        if self._fd is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        os.replace(self._path, self._log.directory / snapshot_file_name(self._id))
        fsync_dir(self._log.directory)
        self._frozen = True
        self._log._snapshots.add(self._id)

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._path.unlink(missing_ok=True)


class _FileSnapshotReader:
    def __init__(self, path: Path, snapshot_id: OffsetAndEpoch) -> None:
        self._path = path
        self._id = snapshot_id
        self._size = path.stat().st_size

    @property
    def snapshot_id(self) -> OffsetAndEpoch:
        return self._id

    def size(self) -> int:
        return self._size

    def read(self, position: int, max_bytes: int) -> bytes:
        with self._path.open("rb") as file:
            file.seek(position)
            return file.read(max_bytes)


class FileRaftLog:
    def __init__(self, directory: Path, log: Log, snapshots: set[OffsetAndEpoch]) -> None:
        self.directory = directory
        self.log = log
        self._snapshots = snapshots
        self._high_watermark = log.log_start_offset

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        time_ms: Callable[[], int],
        config: LogConfig = METADATA_LOG_CONFIG,
    ) -> Self:
        """Open (creating if needed) and recover the metadata log in ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        snapshots: set[OffsetAndEpoch] = set()
        for entry in os.scandir(directory):
            parsed = parse_snapshot_file_name(entry.name)
            if parsed is None:
                continue
            if parsed.partial or parsed.deleted:
                os.unlink(entry.path)
            else:
                snapshots.add(parsed.snapshot_id)
        # The log starts at its first segment: a snapshot deletes only whole segments.
        log = Log.open(
            directory,
            config,
            time_ms=time_ms,
            log_start_offset=0,
            recovery_point=0,
            had_clean_shutdown=False,
        )
        raft_log = cls(directory, log, snapshots)
        raft_log.truncate_to_latest_snapshot()
        return raft_log

    # -- offsets -----------------------------------------------------------------------

    @property
    def start_offset(self) -> int:
        return self.log.log_start_offset

    @property
    def end_offset(self) -> int:
        return self.log.log_end_offset

    @property
    def flushed_offset(self) -> int:
        return self.log.recovery_point

    @property
    def last_fetched_epoch(self) -> int:
        latest = self.log.latest_epoch
        if latest is not None:
            return latest
        snapshot = self.latest_snapshot_id()
        return snapshot.epoch if snapshot is not None else 0

    def end_offset_for_epoch(self, epoch: int) -> OffsetAndEpoch:
        found = self.log.end_offset_for_epoch(epoch) if epoch >= 0 else None
        if found is None:
            return OffsetAndEpoch(self.end_offset, self.last_fetched_epoch)
        found_epoch, offset = found
        earliest = self.earliest_snapshot_id()
        if earliest is not None and offset == earliest.offset and found_epoch == epoch:
            return earliest
        return OffsetAndEpoch(offset, found_epoch)

    def epoch_of_offset(self, offset: int) -> int | None:
        if not self.start_offset <= offset < self.end_offset:
            return None
        return self.log.leader_epochs.epoch_for_offset(offset)

    # -- writing -----------------------------------------------------------------------

    def initialize_leader_epoch(self, epoch: int) -> None:
        self.log.maybe_assign_epoch_start_offset(epoch, self.log.log_end_offset)

    def append_as_leader(self, batches: bytes, epoch: int) -> tuple[int, int]:
        info = self.log.append_as_leader(batches, epoch, AppendOrigin.RAFT_LEADER)
        return info.first_offset, info.last_offset

    def append_as_follower(self, batches: bytes | memoryview) -> tuple[int, int]:
        info = self.log.append_as_follower(batches)
        return info.first_offset, info.last_offset

    def truncate_to(self, offset: int) -> None:
        self.log.truncate_to(offset)

    def flush(self, offset: int) -> None:
        self.log.flush(offset)

    def update_high_watermark(self, offset: int) -> None:
        self._high_watermark = offset
        self.log.update_high_watermark(offset)

    def read(self, start_offset: int, max_bytes: int) -> bytes:
        # A read by bytes can end inside a batch; the contract is whole batches.
        data = self.log.read(start_offset, max_bytes).read()
        whole = whole_batches(data)
        return data if len(whole) == len(data) else bytes(whole)

    # -- snapshots ---------------------------------------------------------------------

    def latest_snapshot_id(self) -> OffsetAndEpoch | None:
        return max(self._snapshots, default=None)

    def earliest_snapshot_id(self) -> OffsetAndEpoch | None:
        return min(self._snapshots, default=None)

    def create_snapshot(self, snapshot_id: OffsetAndEpoch) -> _FileSnapshotWriter | None:
        if snapshot_id in self._snapshots:
            return None
        return _FileSnapshotWriter(self, snapshot_id)

    def read_snapshot(self, snapshot_id: OffsetAndEpoch) -> _FileSnapshotReader | None:
        if snapshot_id not in self._snapshots:
            return None
        return _FileSnapshotReader(self.directory / snapshot_file_name(snapshot_id), snapshot_id)

    def truncate_to_latest_snapshot(self) -> bool:
        latest = self.latest_snapshot_id()
        log_epoch = self.log.latest_epoch or 0
        if latest is None or self.start_offset == latest.offset == self.end_offset:
            return False
        ahead = latest.epoch > log_epoch or (
            latest.epoch == log_epoch and latest.offset > self.end_offset
        )
        if not ahead:
            return False
        self.log.truncate_fully_and_start_at(latest.offset)
        self._high_watermark = latest.offset
        self._forget_snapshots_before(latest)
        return True

    def delete_before_snapshot(self, snapshot_id: OffsetAndEpoch) -> bool:
        if snapshot_id not in self._snapshots:
            return False
        offset = snapshot_id.offset
        if not (self.start_offset < offset <= self._high_watermark and offset <= self.end_offset):
            return False
        self.log.update_high_watermark(self._high_watermark)
        self.log.maybe_increment_log_start_offset(offset)
        self.log.delete_old_segments()
        self.log.delete_expired_files()
        self._forget_snapshots_before(snapshot_id)
        return True

    def _forget_snapshots_before(self, snapshot_id: OffsetAndEpoch) -> None:
        for old in sorted(s for s in self._snapshots if s < snapshot_id):
            self._snapshots.discard(old)
            path = self.directory / snapshot_file_name(old)
            doomed = path.with_name(snapshot_file_name(old, DELETED_SUFFIX))
            if path.exists():
                os.replace(path, doomed)
            doomed.unlink(missing_ok=True)

    def close(self) -> None:
        """Flush everything and close the files (a clean shutdown)."""
        self.log.flush()
        self.log.close()
