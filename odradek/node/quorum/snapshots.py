"""Snapshots of the metadata image: when a node writes one, and what it holds.

Kafka's ``SnapshotGenerator`` and ``SnapshotEmitter`` (KIP-630; ``docs/ops.html``,
"KRaft"). Every node -- controller or broker -- writes its own snapshots of the image it
has replayed, so that its log can be trimmed and a replica that is new or far behind can
be sent the snapshot rather than the whole log (FetchSnapshot). A snapshot is due when
either limit has been passed since the last one:

* ``metadata.log.max.record.bytes.between.snapshots`` bytes of committed batches, or
* ``metadata.log.max.snapshot.interval.ms`` milliseconds, if anything was committed
  (0 turns the time limit off).

The snapshot stands for the image up to its last record: its id is the offset after
that record and the record's epoch, its header carries that record's append time, and
its records are the image written as records (:meth:`odradek.metadata.image.
MetadataImage.to_records`), framed as in the log (:mod:`odradek.metadata.serde`).
It is written synchronously, between two events of the log, where the image is exactly
the committed state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from odradek.metadata.image import MetadataImage
from odradek.metadata.serde import encode_record
from odradek.raft.batches import CommittedBatch
from odradek.raft.snapshots import SnapshotContents

if TYPE_CHECKING:
    from odradek.node.quorum.driver import RaftDriver

log = logging.getLogger(__name__)


class SnapshotGenerator:
    """A listener of the log that snapshots ``image()`` when a limit is passed."""

    def __init__(
        self,
        raft: RaftDriver,
        image: Callable[[], MetadataImage],
        *,
        max_bytes: int,
        max_interval_ms: int,
        time_ms: Callable[[], int],
    ) -> None:
        self.raft = raft
        self.image = image
        self.max_bytes = max_bytes
        self.max_interval_ms = max_interval_ms
        self.time_ms = time_ms
        self._bytes = 0
        self._since_ms = time_ms()

    def handle_commit(self, batch: CommittedBatch) -> None:
        self._bytes += batch.size_bytes
        if batch.is_control:
            return
        elapsed = self.time_ms() - self._since_ms
        if self._bytes >= self.max_bytes or (
            self.max_interval_ms > 0 and elapsed >= self.max_interval_ms
        ):
            self.write()

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        self._restart()

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        """Who leads changes nothing in when a snapshot is due."""

    def write(self) -> None:
        """Snapshot the image now (nothing if it is empty or that snapshot exists)."""
        image = self.image()
        provenance = image.provenance
        self._restart()
        if provenance.last_offset < 0:
            return
        writer = self.raft.create_snapshot(
            provenance.next_offset, provenance.last_epoch, provenance.last_log_time_ms
        )
        if writer is None:
            return
        writer.append([encode_record(record) for record in image.to_records()])
        size = writer.freeze()
        log.info("wrote snapshot %s of the metadata (%d bytes)", writer.snapshot_id, size)

    def _restart(self) -> None:
        self._bytes = 0
        self._since_ms = self.time_ms()
