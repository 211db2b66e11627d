"""From the Raft log's committed batches to metadata images: the broker's side of replay.

The Raft layer hands over batches of opaque records (:class:`~odradek.raft.batches.
CommittedBatch`); the metadata layer frames one metadata record in each
(:mod:`odradek.metadata.serde`). This module joins the two: it decodes a committed data
batch into a :class:`~odradek.metadata.serde.MetadataBatch` (control batches -- leader
changes -- carry no metadata and are passed over), and a snapshot into the image it
stands for.

:class:`MetadataPublisher` is the listener a broker registers with its metadata log
replica (Kafka's ``MetadataLoader`` as a ``RaftClient.Listener``, feeding
``BrokerMetadataPublisher``): every committed batch goes through a
:class:`~odradek.metadata.loader.MetadataLoader`, and each image it completes is
published with its delta; so is each snapshot, with the delta from the image before it.
"""

from __future__ import annotations

from collections.abc import Callable

from odradek.metadata.delta import MetadataDelta
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from odradek.metadata.loader import MetadataLoader
from odradek.metadata.serde import MetadataBatch, decode_record
from odradek.raft.batches import CommittedBatch
from odradek.raft.snapshots import SnapshotContents

Publish = Callable[[MetadataDelta, MetadataImage], None]


def metadata_batch_of(batch: CommittedBatch) -> MetadataBatch | None:
    """The metadata records of a committed data batch; None for a control batch."""
    if batch.is_control or not batch.records:
        return None
    return MetadataBatch(
        base_offset=batch.base_offset,
        leader_epoch=batch.epoch,
        append_time_ms=batch.append_time_ms,
        records=tuple(decode_record(value) for value in batch.records),
    )


def snapshot_provenance(snapshot: SnapshotContents) -> MetadataProvenance:
    """Where the state of a snapshot ends: the record before its end offset."""
    return MetadataProvenance(
        last_offset=snapshot.snapshot_id.offset - 1,
        last_epoch=snapshot.snapshot_id.epoch,
        last_log_time_ms=snapshot.last_contained_log_time_ms,
    )


def snapshot_delta(snapshot: SnapshotContents) -> MetadataDelta:
    """The snapshot's records replayed onto the empty image."""
    delta = MetadataDelta(EMPTY_IMAGE)
    delta.replay_all(decode_record(value) for value in snapshot.records)
    return delta


class MetadataPublisher:
    """Replays the committed log into images and publishes each one."""

    def __init__(self, publish: Publish) -> None:
        self.publish = publish
        self.loader = MetadataLoader()

    @property
    def image(self) -> MetadataImage:
        return self.loader.image

    def handle_commit(self, batch: CommittedBatch) -> None:
        metadata = metadata_batch_of(batch)
        if metadata is None:
            return
        for publication in self.loader.load_batch(metadata):
            self.publish(publication.delta, publication.image)

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        # A snapshot replaces everything: the replica was new, or too far behind to be
        # sent the log. The delta published with it also removes what the snapshot no
        # longer has, so the broker deletes the partitions of topics deleted meanwhile.
        publication = self.loader.load_snapshot(
            (decode_record(value) for value in snapshot.records), snapshot_provenance(snapshot)
        )
        self.publish(publication.delta, publication.image)

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        """Who leads the log changes nothing in the image a broker serves from."""
