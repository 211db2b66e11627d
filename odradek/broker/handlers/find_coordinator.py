"""FindCoordinator (key 10): which broker coordinates a group (or a transactional id).

Behaviour (Kafka's ``KafkaApis.handleFindCoordinatorRequest`` and ``getCoordinator``):

* a GROUP key (type 0) lives in partition ``partition_for(key)`` of
  ``__consumer_offsets``, and its coordinator is that partition's leader, named by
  its endpoint on the listener the request came in on;
* while ``__consumer_offsets`` does not exist, the broker asks the controller to
  create it and answers COORDINATOR_NOT_AVAILABLE, as it does while the partition
  has no live leader: clients retry;
* a TRANSACTION key (type 1) is COORDINATOR_NOT_AVAILABLE: this broker runs no
  transaction coordinator, and Kafka answers so when it cannot name one;
* a SHARE key (type 2) is INVALID_REQUEST: before v6 it does not exist, and no
  share coordinator runs here; any other key type is INVALID_REQUEST too.

Version notes: v1 adds the key type; v4+ look up a batch of keys
(``coordinator_keys``) and answer each on its own, with no top-level error; before
v4 an error answer carries node -1, host "" and port -1 (Kafka's ``Node.noNode``).

Spec: ``clients/FindCoordinatorRequest.json``, ``clients/FindCoordinatorResponse.json``.
"""

from __future__ import annotations

from typing import NamedTuple

from odradek.broker.apis import handles
from odradek.broker.context import RequestContext
from odradek.broker.groups.offsets_topic import OFFSETS_TOPIC
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.find_coordinator_request import FindCoordinatorRequest
from odradek.protocol.messages.clients.find_coordinator_response import (
    Coordinator,
    FindCoordinatorResponse,
)

FIND_COORDINATOR = 10
BATCHED_VERSION = 4

GROUP = 0
TRANSACTION = 1
SHARE = 2


class _Found(NamedTuple):
    error: ErrorCode
    node_id: int = -1
    host: str = ""
    port: int = -1


@handles(FIND_COORDINATOR, 0, 6)
async def handle_find_coordinator(
    ctx: RequestContext, request: FindCoordinatorRequest
) -> FindCoordinatorResponse:
    if ctx.api_version >= BATCHED_VERSION:
        coordinators = []
        for key in request.coordinator_keys:
            found = _coordinator(ctx, request.key_type, key)
            coordinators.append(
                Coordinator(
                    key=key,
                    node_id=found.node_id,
                    host=found.host,
                    port=found.port,
                    error_code=found.error,
                    error_message=None if found.error is ErrorCode.NONE else found.error.message,
                )
            )
        return FindCoordinatorResponse(coordinators=coordinators)
    found = _coordinator(ctx, request.key_type, request.key)
    return FindCoordinatorResponse(
        error_code=found.error,
        error_message=None if found.error is ErrorCode.NONE else found.error.message,
        node_id=found.node_id,
        host=found.host,
        port=found.port,
    )


def _coordinator(ctx: RequestContext, key_type: int, key: str) -> _Found:
    if key_type == TRANSACTION:
        return _Found(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    if key_type != GROUP:
        return _Found(ErrorCode.INVALID_REQUEST)
    broker = ctx.broker
    image = broker.image
    topic = image.topics.get_by_name(OFFSETS_TOPIC)
    if topic is None:
        broker.groups.ensure_offsets_topic()
        return _Found(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    registration = topic.partitions.get(broker.groups.coordinator_partition(key))
    if registration is None or registration.leader < 0:
        return _Found(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    leader = image.cluster.broker(registration.leader)
    endpoint = (
        None if leader is None or leader.fenced else leader.listeners.get(ctx.client.listener)
    )
    if endpoint is None:
        return _Found(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    return _Found(ErrorCode.NONE, registration.leader, endpoint.host, endpoint.port)
