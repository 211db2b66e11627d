"""AlterConfigs (key 33, legacy): replace the whole dynamic config set of resources.

Behaviour (Kafka's ``KafkaApis.handleAlterConfigsRequest`` and ``ConfigAdminManager``;
the controller's part is :func:`odradek.controller.configs.legacy_alter_configs`):

* each resource's configs become exactly the ones given: keys not named are
  deleted, which is why clients moved to IncrementalAlterConfigs (KIP-339);
* the broker first answers what it can itself (:mod:`odradek.broker.config_admin`):
  repeated resources or keys, null values, BROKER resources naming another broker
  or a set this broker's configuration cannot take, and resource types this API
  does not know (BROKER_LOGGER included: INVALID_REQUEST "Unknown resource type 8");
* the other resources go to the active controller in one request, with
  ``validate_only`` as given (:mod:`odradek.broker.forwarding`); each changes
  completely or not at all; the answer comes once the records are committed, and
  if the controller cannot be reached every forwarded resource gets the channel's
  error (REQUEST_TIMED_OUT);
* the answers come back in request order.

Version notes: v0-v2 are current; v2 is flexible.

Spec: ``clients/AlterConfigsRequest.json``, ``clients/AlterConfigsResponse.json``.
"""

from __future__ import annotations

from odradek.broker.apis import handles
from odradek.broker.config_admin import preprocess_legacy, reassemble
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import answered, forward
from odradek.controller.result import ApiError
from odradek.protocol.messages.clients.alter_configs_request import AlterConfigsRequest
from odradek.protocol.messages.clients.alter_configs_response import (
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)

ALTER_CONFIGS = 33


@handles(ALTER_CONFIGS, 0, 2)
async def handle_alter_configs(
    ctx: RequestContext, request: AlterConfigsRequest
) -> AlterConfigsResponse:
    broker = ctx.broker
    resources = request.resources
    own = preprocess_legacy(broker.config, broker.image, resources)
    remaining = [r for i, r in enumerate(resources) if i not in own]
    forwarded: dict[tuple[int, str], ApiError] = {}
    if remaining:
        to_controller = AlterConfigsRequest(
            resources=remaining, validate_only=request.validate_only
        )

        def failed(error: ApiError) -> AlterConfigsResponse:
            return AlterConfigsResponse(
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
    return AlterConfigsResponse(
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
