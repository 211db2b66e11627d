"""Producer id blocks: how brokers get unique producer ids for idempotent producers.

Brokers ask the controller for blocks of producer ids (AllocateProducerIds, KIP-730);
each grant is a ``ProducerIdsRecord`` (``shared/kafka-spec/metadata/
ProducerIdsRecord.json``) naming the first id of the *next* block, so the log only
ever needs to remember one number. -1 means no block was ever handed out.

Mirrors Kafka's ``ProducerIdsImage`` and ``ProducerIdsDelta``.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from odradek.protocol.messages.metadata.producer_ids_record import ProducerIdsRecord

from .records import MetadataReplayError, VersionedRecord


class ProducerIdsImage(msgspec.Struct, frozen=True, kw_only=True):
    """The first producer id of the next block to hand out, or -1 before the first block."""

    next_producer_id: int = -1

    def to_records(self) -> Iterator[VersionedRecord]:
        if self.next_producer_id >= 0:
            yield VersionedRecord(
                ProducerIdsRecord(
                    broker_id=-1, broker_epoch=-1, next_producer_id=self.next_producer_id
                ),
                0,
            )


EMPTY_PRODUCER_IDS = ProducerIdsImage()


class ProducerIdsDelta:
    """The next producer id after some grants."""

    def __init__(self, image: ProducerIdsImage) -> None:
        self.image = image
        self.next_producer_id = image.next_producer_id

    @classmethod
    def from_snapshot(cls, image: ProducerIdsImage, snapshot: ProducerIdsImage) -> ProducerIdsDelta:
        """From ``image`` to ``snapshot``, whose counter is taken as it is (-1 if it has none).

        Kafka's ``finishSnapshot`` keeps the old counter when the snapshot has no
        ProducerIdsRecord; here the image becomes exactly the snapshot's. Snapshots only
        move forward along the log, so the counter does not go back in practice.
        """
        delta = cls(image)
        delta.next_producer_id = snapshot.next_producer_id
        return delta

    def replay_producer_ids(self, record: ProducerIdsRecord) -> None:
        # Ids handed out twice would let two producers share an id: a log that moves
        # the counter backwards is corrupt (Kafka's controller refuses it the same way).
        if 0 <= record.next_producer_id <= self.next_producer_id:
            raise MetadataReplayError(
                f"next producer id {record.next_producer_id} does not advance past "
                f"{self.next_producer_id}"
            )
        self.next_producer_id = record.next_producer_id

    def apply(self) -> ProducerIdsImage:
        return ProducerIdsImage(next_producer_id=self.next_producer_id)
