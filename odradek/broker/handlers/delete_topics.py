"""DeleteTopics (key 20): topics removed, decided by the active controller.

Behaviour (Kafka 4's ``KafkaApis``, which forwards the request as it came, and the
controller's ``ControllerApis.deleteTopics``; here
:func:`odradek.controller.topics.delete_topics`):

* the broker decides nothing: the request goes to the active controller at the
  client's version (:mod:`odradek.broker.forwarding`) and its answer comes back;
* with ``delete.topic.enable=false`` (the controller's setting) every topic fails:
  TOPIC_DELETION_DISABLED from v3, INVALID_REQUEST before;
* a name or id given twice is INVALID_REQUEST, as is a topic named by both name and
  id (v6+), or by neither; an unknown name is UNKNOWN_TOPIC_OR_PARTITION, an unknown
  id UNKNOWN_TOPIC_ID;
* each deleted topic becomes a ``RemoveTopicRecord``; the answer is sent once the
  records are committed, and the brokers delete the partitions' logs as they replay
  them (the broker's metadata publisher does, not this handler);
* ``timeout_ms`` bounds the wait for the controller; if the controller cannot be
  reached or does not answer in time every topic gets REQUEST_TIMED_OUT, without
  a message (Kafka's ``getErrorResponse``).

Version notes: v0 was removed in Kafka 4; v5+ carry error messages; v6+ may name
topics by id (``topics``) instead of by name (``topic_names``).

Spec: ``clients/DeleteTopicsRequest.json``, ``clients/DeleteTopicsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.admin_errors import delete_topics_failed
from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import forward
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.delete_topics_response import (
    DeleteTopicsResponse,
)

DELETE_TOPICS = 20


@handles(DELETE_TOPICS, 1, 6)
async def handle_delete_topics(
    ctx: RequestContext, request: DeleteTopicsRequest
) -> DeleteTopicsResponse:
    return await forward(ctx, request, lambda e: delete_topics_failed(request, e))
