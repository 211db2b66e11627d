"""The answer to an admin request that got no decision: one error for all it names.

A broker forwards CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
IncrementalAlterConfigs and UpdateFeatures to the active controller
(:mod:`odradek.broker.forwarding`); the controller decides them
(:mod:`odradek.node.controller_apis.commands`). When either cannot -- no active
controller, the connection failed, the controller refused the request as a whole --
the client gets the error on every topic or resource it named, as Kafka's
``AbstractRequest.getErrorResponse`` of each request type builds it. Both sides answer
with these functions, so the shape is the same wherever the failure happened.

Specs: ``clients/<Name>Response.json``.
"""

from __future__ import annotations

from odradek.controller.result import ApiError
from odradek.protocol.messages.clients.alter_configs_request import AlterConfigsRequest
from odradek.protocol.messages.clients.alter_configs_response import (
    AlterConfigsResourceResponse,
    AlterConfigsResponse,
)
from odradek.protocol.messages.clients.create_partitions_request import CreatePartitionsRequest
from odradek.protocol.messages.clients.create_partitions_response import (
    CreatePartitionsResponse,
    CreatePartitionsTopicResult,
)
from odradek.protocol.messages.clients.create_topics_request import CreateTopicsRequest
from odradek.protocol.messages.clients.create_topics_response import (
    CreatableTopicResult,
    CreateTopicsResponse,
)
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.delete_topics_response import (
    DeletableTopicResult,
    DeleteTopicsResponse,
)
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.clients.incremental_alter_configs_response import (
    AlterConfigsResourceResponse as IncrementalResourceResponse,
)
from odradek.protocol.messages.clients.incremental_alter_configs_response import (
    IncrementalAlterConfigsResponse,
)
from odradek.protocol.messages.clients.update_features_response import UpdateFeaturesResponse
from odradek.protocol.primitives import ZERO_UUID


def create_topics_failed(request: CreateTopicsRequest, error: ApiError) -> CreateTopicsResponse:
    return CreateTopicsResponse(
        topics=[
            CreatableTopicResult(name=t.name, error_code=error.code, error_message=error.message)
            for t in request.topics
        ]
    )


def delete_topics_failed(request: DeleteTopicsRequest, error: ApiError) -> DeleteTopicsResponse:
    """Topics named (v0-5) and topics given by state (v6+, by name or id)."""
    named = [(name, ZERO_UUID) for name in request.topic_names]
    by_state = [(t.name, t.topic_id) for t in request.topics]
    return DeleteTopicsResponse(
        responses=[
            DeletableTopicResult(
                name=name, topic_id=topic_id, error_code=error.code, error_message=error.message
            )
            for name, topic_id in named + by_state
        ]
    )


def create_partitions_failed(
    request: CreatePartitionsRequest, error: ApiError
) -> CreatePartitionsResponse:
    return CreatePartitionsResponse(
        results=[
            CreatePartitionsTopicResult(
                name=t.name, error_code=error.code, error_message=error.message
            )
            for t in request.topics
        ]
    )


def alter_configs_failed(request: AlterConfigsRequest, error: ApiError) -> AlterConfigsResponse:
    return AlterConfigsResponse(
        responses=[
            AlterConfigsResourceResponse(
                error_code=error.code,
                error_message=error.message,
                resource_type=r.resource_type,
                resource_name=r.resource_name,
            )
            for r in request.resources
        ]
    )


def incremental_alter_configs_failed(
    request: IncrementalAlterConfigsRequest, error: ApiError
) -> IncrementalAlterConfigsResponse:
    return IncrementalAlterConfigsResponse(
        responses=[
            IncrementalResourceResponse(
                error_code=error.code,
                error_message=error.message,
                resource_type=r.resource_type,
                resource_name=r.resource_name,
            )
            for r in request.resources
        ]
    )


def update_features_failed(error: ApiError) -> UpdateFeaturesResponse:
    """UpdateFeatures with no decision: the error for the whole request and no results."""
    return UpdateFeaturesResponse(error_code=error.code, error_message=error.message)
