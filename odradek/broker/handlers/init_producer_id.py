"""InitProducerId (key 22): a producer id and epoch for an idempotent producer.

An idempotent producer (``enable.idempotence``, the default of current clients)
asks any broker for a producer id once, then numbers its batches per partition so
that the leaders can drop retried duplicates and refuse gaps.

Behaviour (Kafka's ``KafkaApis.handleInitProducerIdRequest`` and
``TransactionCoordinator.handleInitProducerId``):

* ``producer_id`` and ``producer_epoch`` (v3+) are both -1 or both set; one
  without the other is INVALID_REQUEST;
* without a transactional id, the answer is a fresh producer id
  (:mod:`odradek.broker.producer_ids`) with epoch 0, whatever id and epoch the
  request carries: an idempotent producer bumps its epoch itself (KIP-360), and
  asks for a new id only when its epoch would overflow or its state is lost. When
  no id can be had from the controller, the answer is
  COORDINATOR_LOAD_IN_PROGRESS, which clients retry;
* with a transactional id: an empty one is INVALID_REQUEST, a transaction timeout
  that is not positive or exceeds ``transaction.max.timeout.ms``
  INVALID_TRANSACTION_TIMEOUT; anything else is COORDINATOR_NOT_AVAILABLE, because
  this broker runs no transaction coordinator yet: it is what Kafka answers while
  no coordinator is available, and clients go back to FindCoordinator and retry
  until their ``max.block.ms``, rather than getting an id without the fencing and
  transaction state a transactional producer relies on;
* errors carry producer id -1 and epoch -1.

Version notes: v0-v5 are current; v2+ are flexible; v3 added the producer id and
epoch of KIP-360; v4 may answer PRODUCER_FENCED, which only a transaction
coordinator gives.

Spec: ``clients/InitProducerIdRequest.json``, ``clients/InitProducerIdResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.init_producer_id_request import InitProducerIdRequest
from odradek.protocol.messages.clients.init_producer_id_response import InitProducerIdResponse

INIT_PRODUCER_ID = 22
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1


def _error(code: ErrorCode) -> InitProducerIdResponse:
    return InitProducerIdResponse(
        error_code=code, producer_id=NO_PRODUCER_ID, producer_epoch=NO_PRODUCER_EPOCH
    )


@handles(INIT_PRODUCER_ID, 0, 5)
async def handle_init_producer_id(
    ctx: RequestContext, request: InitProducerIdRequest
) -> InitProducerIdResponse:
    if (request.producer_id == NO_PRODUCER_ID) != (request.producer_epoch == NO_PRODUCER_EPOCH):
        return _error(ErrorCode.INVALID_REQUEST)
    transactional_id = request.transactional_id
    if transactional_id is None:
        try:
            producer_id = await ctx.broker.producer_ids.next_producer_id()
        except KafkaError as error:
            return _error(error.code)
        return InitProducerIdResponse(producer_id=producer_id, producer_epoch=0)
    if not transactional_id:
        return _error(ErrorCode.INVALID_REQUEST)
    timeout_ms = request.transaction_timeout_ms
    if not 0 < timeout_ms <= ctx.broker.config.get("transaction.max.timeout.ms"):
        return _error(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    return _error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
