"""From committed batches to published images: what a broker or standby controller runs.

A reader of the metadata log feeds each committed batch to :meth:`MetadataLoader.
load_batch` and gets back the (delta, image) pairs to act on -- usually one per
batch. Metadata transactions (KIP-868, ``BeginTransactionRecord`` /
``EndTransactionRecord`` / ``AbortTransactionRecord``, ``shared/kafka-spec/
metadata/``) may span batches: nothing inside one is published until it ends, and
an aborted one is dropped whole, so no reader ever sees half of a change that the
controller wrote in several batches (bootstrap records, in Kafka). Records before
a transaction starts are published first.

A snapshot (:meth:`MetadataLoader.load_snapshot`) is replayed onto the empty image,
which gives the image it holds; what is published with that image is the delta from
the loader's image to it (:meth:`MetadataDelta.from_snapshot
<odradek.metadata.delta.MetadataDelta.from_snapshot>`), so that whatever the snapshot
no longer has -- a deleted topic, say -- is removed for every reader acting on deltas.

Mirrors Kafka's ``MetadataBatchLoader`` (``org.apache.kafka.image.loader``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from odradek.protocol.messages.metadata.abort_transaction_record import AbortTransactionRecord
from odradek.protocol.messages.metadata.begin_transaction_record import BeginTransactionRecord
from odradek.protocol.messages.metadata.end_transaction_record import EndTransactionRecord

from .delta import MetadataDelta, replay_records
from .image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from .records import MetadataReplayError, VersionedRecord
from .serde import MetadataBatch


class Publication(NamedTuple):
    """A new image and the delta that made it: what a reader acts on."""

    delta: MetadataDelta
    image: MetadataImage


class MetadataLoader:
    """Replays committed batches into images, honouring metadata transactions."""

    def __init__(self, image: MetadataImage = EMPTY_IMAGE) -> None:
        #: The last published image.
        self.image = image
        self._delta = MetadataDelta(image)
        self._replayed = False
        self._in_transaction = False

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    def load_batch(self, batch: MetadataBatch) -> list[Publication]:
        """Replay one committed batch; the images it completes, oldest first."""
        published: list[Publication] = []
        for offset, record in batch.with_offsets():
            message = record.message
            if isinstance(message, BeginTransactionRecord):
                if self._in_transaction:
                    raise MetadataReplayError(
                        f"BeginTransactionRecord at offset {offset} inside a transaction"
                    )
                if self._replayed:
                    published.append(self._publish(offset - 1, batch))
                self._in_transaction = True
            elif isinstance(message, EndTransactionRecord | AbortTransactionRecord):
                if not self._in_transaction:
                    raise MetadataReplayError(
                        f"{type(message).__name__} at offset {offset} outside a transaction"
                    )
                self._in_transaction = False
                if isinstance(message, AbortTransactionRecord):
                    self._delta = MetadataDelta(self.image)
                    self._replayed = False
            else:
                self._delta.replay(message)
                self._replayed = True
        if not self._in_transaction:
            published.append(self._publish(batch.last_offset, batch))
        return published

    def _publish(self, last_offset: int, batch: MetadataBatch) -> Publication:
        provenance = MetadataProvenance(
            last_offset=last_offset,
            last_epoch=batch.leader_epoch,
            last_log_time_ms=batch.append_time_ms,
        )
        delta = self._delta
        self.image = delta.apply(provenance)
        self._delta = MetadataDelta(self.image)
        self._replayed = False
        return Publication(delta, self.image)

    def load_snapshot(
        self, records: Iterable[VersionedRecord], provenance: MetadataProvenance
    ) -> Publication:
        """Replace the image with a snapshot's; the delta says what that changed.

        Records replayed since the last published image (an unfinished transaction) are
        dropped: the snapshot holds the state of the log past them. A snapshot that
        cannot be replayed raises and leaves the loader as it was.
        """
        snapshot = replay_records(EMPTY_IMAGE, records, provenance)
        delta = MetadataDelta.from_snapshot(self.image, snapshot)
        self.image = snapshot
        self._delta = MetadataDelta(snapshot)
        self._replayed = False
        self._in_transaction = False
        return Publication(delta, snapshot)
