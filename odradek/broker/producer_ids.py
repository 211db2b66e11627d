"""Producer ids for idempotent producers, handed out one by one from blocks the controller grants.

Every idempotent producer needs a producer id no other producer in the cluster has
ever had: the partition logs tell producers apart by it, to drop retried batches
and keep sequence numbers in order. The active controller owns the counter and
grants blocks of ids to brokers (AllocateProducerIds, KIP-730; a
``ProducerIdsRecord`` in the metadata log makes each grant durable); a broker hands
out the ids of its block one at a time (Kafka's ``RPCProducerIdManager``). Ids of a
block that a broker never handed out are simply lost when it restarts: there are
2^63 of them.

Kafka fetches the next block in the background once 90% of the current one is
used, and answers COORDINATOR_LOAD_IN_PROGRESS (a retriable error) to producers
that come while no block is at hand. Here the request that finds the block used
up waits for the next one, and requests arriving meanwhile wait for the same
fetch; a producer is told to retry only when the controller refused or could not
be reached, and then no new fetch is tried for :data:`RETRY_BACKOFF_MS` (Kafka's
``ProducerIdManager.RetryBackoffMs``), so a controller outage is not hammered.

A grant is checked as Kafka checks it: an error code (STALE_BROKER_EPOCH while the
broker's registration is not yet replayed, BROKER_ID_NOT_REGISTERED, ...), a block
that starts below the current one, or an empty or overflowing range is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.clients.allocate_producer_ids_response import (
    AllocateProducerIdsResponse,
)

if TYPE_CHECKING:
    from odradek.broker.broker import ControllerChannel

ALLOCATE_PRODUCER_IDS = 67
ALLOCATE_PRODUCER_IDS_VERSION = 0
RETRY_BACKOFF_MS = 50
_INT64_MAX = 2**63 - 1

log = logging.getLogger(__name__)


class ProducerIdManager:
    """One broker's supply of producer ids."""

    def __init__(
        self,
        node_id: int,
        controller: ControllerChannel,
        broker_epoch: Callable[[], int],
        time_ms: Callable[[], int],
    ) -> None:
        self.node_id = node_id
        self.controller = controller
        self.broker_epoch = broker_epoch
        self.time_ms = time_ms
        #: The next id to hand out and the end (exclusive) of the current block.
        self._next = 0
        self._end = 0
        self._fetching: trio.Event | None = None
        self._retry_at_ms = 0

    @property
    def remaining(self) -> int:
        """Ids left in the current block."""
        return self._end - self._next

    async def next_producer_id(self) -> int:
        """An id never handed out before; COORDINATOR_LOAD_IN_PROGRESS if none is at hand."""
        if self._next >= self._end:
            if self._fetching is not None:
                await self._fetching.wait()
            else:
                await self._fetch_block()
            if self._next >= self._end:
                raise KafkaError(
                    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
                    "Producer ID block is full. Waiting for next block",
                )
        producer_id = self._next
        self._next += 1
        return producer_id

    async def _fetch_block(self) -> None:
        if self.time_ms() < self._retry_at_ms:
            return
        done = self._fetching = trio.Event()
        try:
            request = AllocateProducerIdsRequest(
                broker_id=self.node_id, broker_epoch=self.broker_epoch()
            )
            try:
                response = await self.controller.call(
                    ALLOCATE_PRODUCER_IDS, ALLOCATE_PRODUCER_IDS_VERSION, request
                )
            except KafkaError as error:
                log.warning("asking the controller for producer ids failed: %s", error)
                self._retry_at_ms = self.time_ms() + RETRY_BACKOFF_MS
                return
            if not self._accept(response):
                self._retry_at_ms = self.time_ms() + RETRY_BACKOFF_MS
        finally:
            self._fetching = None
            done.set()

    def _accept(self, response: AllocateProducerIdsResponse) -> bool:
        if response.error_code != ErrorCode.NONE:
            log.warning("the controller refused producer ids: error %d", response.error_code)
            return False
        start, length = response.producer_id_start, response.producer_id_len
        if start < self._end:
            log.error(
                "producer id block %d+%d is not above the current block, which ends at %d",
                start,
                length,
                self._end,
            )
            return False
        if start < 0 or length <= 0 or start > _INT64_MAX - length:
            log.error("producer id block %d+%d is not a valid range", start, length)
            return False
        self._next, self._end = start, start + length
        return True
