"""CreatePartitions (key 37): more partitions for existing topics, decided by the controller.

Behaviour (Kafka 4's ``KafkaApis``, which forwards the request as it came, and the
controller's ``ControllerApis.createPartitions``; here
:func:`odradek.controller.partitions.create_partitions`):

* the broker decides nothing: the request goes to the active controller at the
  client's version (:mod:`odradek.broker.forwarding`) and its answer comes back;
* a topic named twice is INVALID_REQUEST; an unknown one UNKNOWN_TOPIC_OR_PARTITION;
  a count that does not grow the topic INVALID_PARTITIONS; a manual assignment
  that names unknown brokers, repeats one, or does not match the topic's
  replication factor INVALID_REPLICA_ASSIGNMENT;
* new partitions get the replication factor of the topic's first partition and are
  placed like a new topic's; ``validate_only`` checks and creates nothing;
* the answer is sent once the partition records are committed; if the controller
  cannot be reached or does not answer within its timeout every topic gets
  REQUEST_TIMED_OUT (Kafka's ``getErrorResponse``).

Version notes: all versions (0-3) are current; v2+ are flexible.

Spec: ``clients/CreatePartitionsRequest.json``, ``clients/CreatePartitionsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.admin_errors import create_partitions_failed
from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import forward
from odradek.protocol.messages.clients.create_partitions_request import CreatePartitionsRequest
from odradek.protocol.messages.clients.create_partitions_response import (
    CreatePartitionsResponse,
)

CREATE_PARTITIONS = 37


@handles(CREATE_PARTITIONS, 0, 3)
async def handle_create_partitions(
    ctx: RequestContext, request: CreatePartitionsRequest
) -> CreatePartitionsResponse:
    return await forward(ctx, request, lambda e: create_partitions_failed(request, e))
