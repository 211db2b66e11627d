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

The forwarding and the reassembly in request order are the same for
IncrementalAlterConfigs, which uses :func:`answer_resources` from here.

Version notes: v0-v2 are current; v2 is flexible.

Spec: ``clients/AlterConfigsRequest.json``, ``clients/AlterConfigsResponse.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from odradek.broker.apis import handles
from odradek.broker.config_admin import Resource, preprocess_legacy, reassemble
from odradek.broker.context import RequestContext
from odradek.broker.forwarding import answered, forward
from odradek.controller.result import ApiError
from odradek.protocol.messages.clients.alter_configs_request import AlterConfigsRequest
from odradek.protocol.messages.clients.alter_configs_response import (
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)

ALTER_CONFIGS = 33

R = TypeVar("R", bound=Resource)
R_co = TypeVar("R_co", bound=Resource, covariant=True)
T_co = TypeVar("T_co", covariant=True)


class ConfigsRequest(Protocol[R_co]):
    """What AlterConfigs and IncrementalAlterConfigs requests have in common."""

    def __init__(self, *, resources: list[R_co], validate_only: bool) -> None: ...

    @property
    def resources(self) -> Sequence[R_co]: ...

    @property
    def validate_only(self) -> bool: ...


class ResourceResponse(Protocol[T_co]):
    """The response entry of one resource (each config-altering API has its own class)."""

    def __call__(
        self, *, error_code: int, error_message: str | None, resource_type: int, resource_name: str
    ) -> T_co: ...


@handles(ALTER_CONFIGS, 0, 2)
async def handle_alter_configs(
    ctx: RequestContext, request: AlterConfigsRequest
) -> AlterConfigsResponse:
    own = preprocess_legacy(ctx.broker.config, ctx.broker.image, request.resources)
    responses = await answer_resources(ctx, request, own, AlterConfigsResourceResponse)
    return AlterConfigsResponse(responses=responses)


async def answer_resources(
    ctx: RequestContext,
    request: ConfigsRequest[R],
    own: Mapping[int, ApiError],
    response: ResourceResponse[T_co],
) -> list[T_co]:
    """Every resource's response entry, in request order (AlterConfigs and its incremental kin).

    ``own`` holds the answers the broker gave itself, by index; the other resources go
    to the active controller in one request of the client's type, with its
    ``validate_only``, and take its answers, or the channel's error if it could not be
    reached.
    """
    resources = request.resources
    remaining = [r for i, r in enumerate(resources) if i not in own]
    forwarded: dict[tuple[int, str], ApiError] = {}
    if remaining:
        to_controller = type(request)(resources=remaining, validate_only=request.validate_only)
        answer: Any = await forward(ctx, to_controller, lambda error: error)
        if isinstance(answer, ApiError):
            forwarded = {(r.resource_type, r.resource_name): answer for r in remaining}
        else:
            forwarded = {
                (r.resource_type, r.resource_name): answered(r.error_code, r.error_message)
                for r in answer.responses
            }
    return [
        response(
            error_code=error.code,
            error_message=error.message,
            resource_type=r.resource_type,
            resource_name=r.resource_name,
        )
        for r, error in zip(resources, reassemble(resources, own, forwarded), strict=True)
    ]
