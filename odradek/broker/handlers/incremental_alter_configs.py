"""IncrementalAlterConfigs (key 44): set, delete, append to or subtract from config values.

Behaviour (Kafka's ``KafkaApis.handleIncrementalAlterConfigsRequest`` and
``ConfigAdminManager``; the controller's part is
:func:`odradek.controller.configs.incremental_alter_configs`):

* the broker first answers what it can itself (:mod:`odradek.broker.config_admin`):
  repeated resources or keys, null values, BROKER resources naming another broker
  or asking for a change this broker's configuration cannot take, and BROKER_LOGGER
  resources, which it applies at once (:mod:`odradek.broker.loggers`);
* the other resources go to the active controller in one request
  (:mod:`odradek.broker.forwarding`), with ``validate_only`` as given; there each
  resource changes completely or not at all: SET, DELETE, and APPEND / SUBTRACT on
  list keys, validated against the config tables (INVALID_CONFIG), for topics that
  exist (UNKNOWN_TOPIC_OR_PARTITION) and brokers that are registered
  (BROKER_ID_NOT_REGISTERED);
* the answers come back in request order; the controller answers once the config
  records are committed, and if it cannot be reached every forwarded resource gets
  the channel's error (REQUEST_TIMED_OUT);
* a BROKER resource names this broker (``"<node.id>"``) or the cluster-wide default
  (``""``), as ``kafka-configs --entity-type brokers`` sends them.

Version notes: v0 and v1 (flexible) are current.

Spec: ``clients/IncrementalAlterConfigsRequest.json``,
``clients/IncrementalAlterConfigsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.config_admin import preprocess_incremental
from odradek.broker.context import RequestContext
from odradek.broker.handlers.alter_configs import answer_resources
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.clients.incremental_alter_configs_response import (
    AlterConfigsResourceResponse,
    IncrementalAlterConfigsResponse,
)

INCREMENTAL_ALTER_CONFIGS = 44


@handles(INCREMENTAL_ALTER_CONFIGS, 0, 1)
async def handle_incremental_alter_configs(
    ctx: RequestContext, request: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    own = preprocess_incremental(
        ctx.broker.config, ctx.broker.image, request.resources, validate_only=request.validate_only
    )
    responses = await answer_resources(ctx, request, own, AlterConfigsResourceResponse)
    return IncrementalAlterConfigsResponse(responses=responses)
