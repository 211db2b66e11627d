"""The requests the active controller decides: registrations, heartbeats, admin changes, ISRs.

Each handler passes its request to the controller
(:meth:`~odradek.node.controller_service.ControllerService.call`), which answers once
the records of its decision are committed; the decision itself lives in
:mod:`odradek.controller`. What a handler adds is the answer when there is no
decision (Kafka's ``getErrorResponse`` of each request type):

* NOT_CONTROLLER, when this node's controller is not the active one: a broker that
  sees it finds the active controller and sends the request again;
* the error of a :class:`~odradek.protocol.errors.KafkaError` the controller raised
  for the request as a whole.

Brokers send BrokerRegistration and BrokerHeartbeat (:mod:`odradek.node.broker_lifecycle`),
AlterPartition (ISR changes) and AllocateProducerIds; every controller sends
ControllerRegistration (:mod:`odradek.node.controller_registration`); CreateTopics,
DeleteTopics, CreatePartitions, AlterConfigs, IncrementalAlterConfigs and UpdateFeatures
come forwarded from a broker at the client's version (:mod:`odradek.broker.forwarding`), or
straight from an admin client with ``--bootstrap-controller``. The versions served
cover every version the broker accepts for the requests it forwards.

Mirrors the corresponding handlers of Kafka's ``ControllerApis``. Specs:
``shared/kafka-spec/clients/<Name>Request.json`` and ``<Name>Response.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from odradek.broker.admin_errors import (
    alter_configs_failed,
    create_partitions_failed,
    create_topics_failed,
    delete_topics_failed,
    incremental_alter_configs_failed,
    update_features_failed,
)
from odradek.controller.quorum_controller import NotActiveError
from odradek.controller.result import ApiError
from odradek.node.controller_apis.registry import ControllerRequestContext, handles
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.clients.allocate_producer_ids_response import (
    AllocateProducerIdsResponse,
)
from odradek.protocol.messages.clients.alter_configs_request import AlterConfigsRequest
from odradek.protocol.messages.clients.alter_configs_response import (
    AlterConfigsResponse,
)
from odradek.protocol.messages.clients.alter_partition_request import AlterPartitionRequest
from odradek.protocol.messages.clients.alter_partition_response import AlterPartitionResponse
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_heartbeat_response import BrokerHeartbeatResponse
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
)
from odradek.protocol.messages.clients.broker_registration_response import (
    BrokerRegistrationResponse,
)
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
)
from odradek.protocol.messages.clients.controller_registration_response import (
    ControllerRegistrationResponse,
)
from odradek.protocol.messages.clients.create_partitions_request import CreatePartitionsRequest
from odradek.protocol.messages.clients.create_partitions_response import (
    CreatePartitionsResponse,
)
from odradek.protocol.messages.clients.create_topics_request import CreateTopicsRequest
from odradek.protocol.messages.clients.create_topics_response import (
    CreateTopicsResponse,
)
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.delete_topics_response import (
    DeleteTopicsResponse,
)
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.clients.incremental_alter_configs_response import (
    IncrementalAlterConfigsResponse,
)
from odradek.protocol.messages.clients.update_features_request import UpdateFeaturesRequest
from odradek.protocol.messages.clients.update_features_response import UpdateFeaturesResponse

CREATE_TOPICS = 19
DELETE_TOPICS = 20
ALTER_CONFIGS = 33
CREATE_PARTITIONS = 37
INCREMENTAL_ALTER_CONFIGS = 44
ALTER_PARTITION = 56
UPDATE_FEATURES = 57
BROKER_REGISTRATION = 62
BROKER_HEARTBEAT = 63
ALLOCATE_PRODUCER_IDS = 67
CONTROLLER_REGISTRATION = 70

R = TypeVar("R")


def not_controller(active_controller_id: int) -> ApiError:
    """NOT_CONTROLLER, with Kafka's text naming the active controller if one is known."""
    if active_controller_id < 0:
        return ApiError(ErrorCode.NOT_CONTROLLER, "No controller appears to be active.")
    return ApiError(
        ErrorCode.NOT_CONTROLLER,
        f"The active controller appears to be node {active_controller_id}.",
    )


async def decide(ctx: ControllerRequestContext, request: Any, failed: Callable[[ApiError], R]) -> R:
    """The active controller's answer to ``request``, or ``failed(error)`` if it has none."""
    try:
        response: R = await ctx.controller.call(ctx.api_key, ctx.api_version, request)
    except NotActiveError:
        return failed(not_controller(ctx.apis.active_controller_id()))
    except KafkaError as error:
        return failed(ApiError.of(error))
    return response


@handles(BROKER_REGISTRATION, 0, 4)
async def broker_registration(
    ctx: ControllerRequestContext, request: BrokerRegistrationRequest
) -> BrokerRegistrationResponse:
    return await decide(ctx, request, lambda e: BrokerRegistrationResponse(error_code=e.code))


@handles(BROKER_HEARTBEAT, 0, 1)
async def broker_heartbeat(
    ctx: ControllerRequestContext, request: BrokerHeartbeatRequest
) -> BrokerHeartbeatResponse:
    return await decide(ctx, request, lambda e: BrokerHeartbeatResponse(error_code=e.code))


@handles(CONTROLLER_REGISTRATION, 0, 0)
async def controller_registration(
    ctx: ControllerRequestContext, request: ControllerRegistrationRequest
) -> ControllerRegistrationResponse:
    return await decide(
        ctx,
        request,
        lambda e: ControllerRegistrationResponse(error_code=e.code, error_message=e.message),
    )


@handles(ALTER_PARTITION, 0, 3)
async def alter_partition(
    ctx: ControllerRequestContext, request: AlterPartitionRequest
) -> AlterPartitionResponse:
    return await decide(ctx, request, lambda e: AlterPartitionResponse(error_code=e.code))


@handles(ALLOCATE_PRODUCER_IDS, 0, 0)
async def allocate_producer_ids(
    ctx: ControllerRequestContext, request: AllocateProducerIdsRequest
) -> AllocateProducerIdsResponse:
    return await decide(ctx, request, lambda e: AllocateProducerIdsResponse(error_code=e.code))


@handles(CREATE_TOPICS, 2, 7)
async def create_topics(
    ctx: ControllerRequestContext, request: CreateTopicsRequest
) -> CreateTopicsResponse:
    return await decide(ctx, request, lambda e: create_topics_failed(request, e))


@handles(DELETE_TOPICS, 1, 6)
async def delete_topics(
    ctx: ControllerRequestContext, request: DeleteTopicsRequest
) -> DeleteTopicsResponse:
    return await decide(ctx, request, lambda e: delete_topics_failed(request, e))


@handles(CREATE_PARTITIONS, 0, 3)
async def create_partitions(
    ctx: ControllerRequestContext, request: CreatePartitionsRequest
) -> CreatePartitionsResponse:
    return await decide(ctx, request, lambda e: create_partitions_failed(request, e))


@handles(ALTER_CONFIGS, 0, 2)
async def alter_configs(
    ctx: ControllerRequestContext, request: AlterConfigsRequest
) -> AlterConfigsResponse:
    return await decide(ctx, request, lambda e: alter_configs_failed(request, e))


@handles(INCREMENTAL_ALTER_CONFIGS, 0, 1)
async def incremental_alter_configs(
    ctx: ControllerRequestContext, request: IncrementalAlterConfigsRequest
) -> IncrementalAlterConfigsResponse:
    return await decide(ctx, request, lambda e: incremental_alter_configs_failed(request, e))


@handles(UPDATE_FEATURES, 0, 2)
async def update_features(
    ctx: ControllerRequestContext, request: UpdateFeaturesRequest
) -> UpdateFeaturesResponse:
    return await decide(ctx, request, update_features_failed)
