"""AllocateProducerIds: consecutive blocks of 1000, never handed out twice."""

from __future__ import annotations

from odradek.controller.producer_ids import BLOCK_SIZE, allocate_producer_ids
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.metadata.producer_ids_record import ProducerIdsRecord
from tests.controller.support import applied, cluster, messages


def test_blocks_follow_each_other() -> None:
    image = cluster([1, 2])
    starts = []
    for broker_id in (1, 2, 1):
        epoch = image.cluster.brokers[broker_id].epoch
        result = allocate_producer_ids(
            image, AllocateProducerIdsRequest(broker_id=broker_id, broker_epoch=epoch)
        )
        assert result.response.error_code == 0
        assert result.response.producer_id_len == BLOCK_SIZE == 1000
        starts.append(result.response.producer_id_start)
        assert messages(result) == [
            ProducerIdsRecord(
                broker_id=broker_id,
                broker_epoch=epoch,
                next_producer_id=result.response.producer_id_start + 1000,
            )
        ]
        image = applied(image, result)
    assert starts == [0, 1000, 2000]
    assert image.producer_ids.next_producer_id == 3000


def test_stale_broker_epoch() -> None:
    image = cluster([1])
    result = allocate_producer_ids(image, AllocateProducerIdsRequest(broker_id=1, broker_epoch=-1))
    assert result.records == []
    assert result.response.error_code == ErrorCode.STALE_BROKER_EPOCH
