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
from odradek.broker.config_admin import preprocess_incremental, reassemble
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import answered, forward
from odradek.controller.result import ApiError
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
    broker = ctx.broker
    resources = request.resources
    own = preprocess_incremental(
        broker.config, broker.image, resources, validate_only=request.validate_only
    )
    remaining = [r for i, r in enumerate(resources) if i not in own]
    forwarded: dict[tuple[int, str], ApiError] = {}
    if remaining:
        to_controller = IncrementalAlterConfigsRequest(
            resources=remaining, validate_only=request.validate_only
        )

        def failed(error: ApiError) -> IncrementalAlterConfigsResponse:
            return IncrementalAlterConfigsResponse(
                responses=[
                    AlterConfigsResourceResponse(
                        error_code=error.code,
                        error_message=error.message,
                        resource_type=r.resource_type,
                        resource_name=r.resource_name,
                    )
                    for r in remaining
                ]
            )

        answer = await forward(ctx, to_controller, failed)
        forwarded = {
            (r.resource_type, r.resource_name): answered(r.error_code, r.error_message)
            for r in answer.responses
        }
    return IncrementalAlterConfigsResponse(
        responses=[
            AlterConfigsResourceResponse(
                error_code=error.code,
                error_message=error.message,
                resource_type=r.resource_type,
                resource_name=r.resource_name,
            )
            for r, error in zip(resources, reassemble(resources, own, forwarded), strict=True)
        ]
    )
