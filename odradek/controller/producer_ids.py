"""AllocateProducerIds: handing out blocks of producer ids to brokers.

Brokers assign producer ids to idempotent and transactional producers from blocks
the controller grants (``shared/kafka-spec/clients/AllocateProducerIdsRequest.json``,
KIP-730). Each grant is a ``ProducerIdsRecord`` naming the first id of the *next*
block, so ids are never handed out twice, even across controller failover. Blocks
hold :data:`BLOCK_SIZE` ids and the first block starts at 0.

Mirrors Kafka's ``ProducerIdControlManager`` and ``ProducerIdsBlock``.
"""

from __future__ import annotations

from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.clients.allocate_producer_ids_response import (
    AllocateProducerIdsResponse,
)
from odradek.protocol.messages.metadata.producer_ids_record import ProducerIdsRecord

from .heartbeats import check_broker_epoch
from .result import ControllerResult

#: Producer ids per block (Kafka's ``ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE``).
BLOCK_SIZE = 1000
_INT64_MAX = 2**63 - 1


def allocate_producer_ids(
    image: MetadataImage, request: AllocateProducerIdsRequest
) -> ControllerResult[AllocateProducerIdsResponse]:
    """The next block of producer ids for the requesting broker."""
    try:
        check_broker_epoch(image, request.broker_id, request.broker_epoch)
        first = max(image.producer_ids.next_producer_id, 0)
        if first > _INT64_MAX - BLOCK_SIZE:
            raise KafkaError(
                ErrorCode.UNKNOWN_SERVER_ERROR,
                "Exhausted all producerIds as the next block's end producerId has exceeded "
                "the int64 type limit",
            )
    except KafkaError as exc:
        return ControllerResult([], AllocateProducerIdsResponse(error_code=exc.code))
    record = ProducerIdsRecord(
        broker_id=request.broker_id,
        broker_epoch=request.broker_epoch,
        next_producer_id=first + BLOCK_SIZE,
    )
    return ControllerResult(
        [VersionedRecord(record, 0)],
        AllocateProducerIdsResponse(producer_id_start=first, producer_id_len=BLOCK_SIZE),
    )
