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

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import forward
from odradek.controller.result import ApiError
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.delete_topics_response import (
    DeletableTopicResult,
    DeleteTopicsResponse,
)
from odradek.protocol.primitives import ZERO_UUID

DELETE_TOPICS = 20


@handles(DELETE_TOPICS, 1, 6)
async def handle_delete_topics(
    ctx: RequestContext, request: DeleteTopicsRequest
) -> DeleteTopicsResponse:
    def failed(error: ApiError) -> DeleteTopicsResponse:
        named = [(name, ZERO_UUID) for name in request.topic_names]
        return DeleteTopicsResponse(
            responses=[
                DeletableTopicResult(name=name, topic_id=topic_id, error_code=error.code)
                for name, topic_id in [*named, *((t.name, t.topic_id) for t in request.topics)]
            ]
        )

    return await forward(ctx, request, failed)
