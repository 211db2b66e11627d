"""CreateTopics (key 19): new topics, decided by the active controller.

Behaviour (Kafka 4's ``KafkaApis``, which forwards the request as it came, and the
controller's ``ControllerApis.createTopics`` and ``ReplicationControlManager``;
here :func:`odradek.controller.topics.create_topics`):

* the broker decides nothing: the request goes to the active controller at the
  client's version (:mod:`odradek.broker.forwarding`) and its answer comes back;
* each topic succeeds or fails on its own: a name given twice is INVALID_REQUEST,
  an illegal or colliding name INVALID_TOPIC_EXCEPTION, an existing one
  TOPIC_ALREADY_EXISTS, a bad count or factor INVALID_PARTITIONS /
  INVALID_REPLICATION_FACTOR, a bad assignment INVALID_REPLICA_ASSIGNMENT, a bad
  config INVALID_CONFIG; ``__cluster_metadata`` may never be created;
* ``validate_only`` runs every check and creates nothing;
* ``timeout_ms`` is how long the request may wait for the controller to decide; the
  answer is sent once the topic records are committed to the metadata log, and if
  the controller cannot be reached or does not answer in time every topic gets
  REQUEST_TIMED_OUT (Kafka's ``getErrorResponse``);
* the new topics reach this broker's metadata image as the records replicate, so a
  Metadata request right after the answer may not see them yet, as in Kafka.

Version notes: v0-v1 were removed in Kafka 4; v5+ report each new topic's configs,
partition count and replication factor; v7+ its topic id.

Spec: ``clients/CreateTopicsRequest.json``, ``clients/CreateTopicsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.admin_errors import create_topics_failed
from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import forward
from odradek.protocol.messages.clients.create_topics_request import CreateTopicsRequest
from odradek.protocol.messages.clients.create_topics_response import (
    CreateTopicsResponse,
)

CREATE_TOPICS = 19


@handles(CREATE_TOPICS, 2, 7)
async def handle_create_topics(
    ctx: RequestContext, request: CreateTopicsRequest
) -> CreateTopicsResponse:
    return await forward(ctx, request, lambda e: create_topics_failed(request, e))
