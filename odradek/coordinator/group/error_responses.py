"""A whole request answered with one error, shaped as its API and version require.

When no shard can serve a request -- this broker does not lead the group's
``__consumer_offsets`` partition (NOT_COORDINATOR), the partition is still loading
(COORDINATOR_LOAD_IN_PROGRESS), an append failed -- the answer is the request's error
response, as Kafka's ``AbstractRequest.getErrorResponse`` builds it. The broker uses
these too, for requests that never reach a shard.

One Kafka quirk is kept: a Heartbeat during loading is answered without error
(``GroupCoordinatorService.heartbeat``), since the member cannot do anything useful
with the error and will learn the truth at its next heartbeat.
"""

from __future__ import annotations

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_group_describe_request import (
    ConsumerGroupDescribeRequest,
)
from odradek.protocol.messages.clients.consumer_group_describe_response import (
    ConsumerGroupDescribeResponse,
)
from odradek.protocol.messages.clients.consumer_group_describe_response import (
    DescribedGroup as ConsumerDescribedGroup,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_request import (
    ConsumerGroupHeartbeatRequest,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_response import (
    ConsumerGroupHeartbeatResponse,
)
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.delete_groups_response import (
    DeletableGroupResult,
    DeleteGroupsResponse,
)
from odradek.protocol.messages.clients.describe_groups_request import DescribeGroupsRequest
from odradek.protocol.messages.clients.describe_groups_response import (
    DescribedGroup,
    DescribeGroupsResponse,
)
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.heartbeat_response import HeartbeatResponse
from odradek.protocol.messages.clients.join_group_request import JoinGroupRequest
from odradek.protocol.messages.clients.leave_group_request import LeaveGroupRequest
from odradek.protocol.messages.clients.leave_group_response import LeaveGroupResponse
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest
from odradek.protocol.messages.clients.list_groups_response import ListGroupsResponse
from odradek.protocol.messages.clients.offset_commit_request import OffsetCommitRequest
from odradek.protocol.messages.clients.offset_delete_request import OffsetDeleteRequest
from odradek.protocol.messages.clients.offset_delete_response import OffsetDeleteResponse
from odradek.protocol.messages.clients.offset_fetch_request import OffsetFetchRequest
from odradek.protocol.messages.clients.sync_group_request import SyncGroupRequest

from . import offset_commit, offset_fetch
from .classic.replies import join_error, sync_response
from .result import Caller, Response

Request = (
    JoinGroupRequest
    | SyncGroupRequest
    | HeartbeatRequest
    | LeaveGroupRequest
    | OffsetCommitRequest
    | OffsetFetchRequest
    | OffsetDeleteRequest
    | DescribeGroupsRequest
    | ListGroupsRequest
    | DeleteGroupsRequest
    | ConsumerGroupHeartbeatRequest
    | ConsumerGroupDescribeRequest
)


def error_response(request: Request, caller: Caller, error: ErrorCode) -> Response:
    if isinstance(request, JoinGroupRequest):
        return join_error(caller, error)
    if isinstance(request, SyncGroupRequest):
        return sync_response(error=error)
    if isinstance(request, HeartbeatRequest):
        if error is ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
            return HeartbeatResponse()
        return HeartbeatResponse(error_code=error)
    if isinstance(request, LeaveGroupRequest):
        return LeaveGroupResponse(error_code=error)
    if isinstance(request, OffsetCommitRequest):
        return offset_commit.error_response(request, error)
    if isinstance(request, OffsetFetchRequest):
        return offset_fetch.error_response(request, caller.api_version, error)
    if isinstance(request, OffsetDeleteRequest):
        return OffsetDeleteResponse(error_code=error)
    if isinstance(request, DescribeGroupsRequest):
        return DescribeGroupsResponse(
            groups=[DescribedGroup(group_id=g, error_code=error) for g in request.groups]
        )
    if isinstance(request, ListGroupsRequest):
        return ListGroupsResponse(error_code=error)
    if isinstance(request, ConsumerGroupHeartbeatRequest):
        return ConsumerGroupHeartbeatResponse(error_code=error)
    if isinstance(request, ConsumerGroupDescribeRequest):
        return ConsumerGroupDescribeResponse(
            groups=[ConsumerDescribedGroup(group_id=g, error_code=error) for g in request.group_ids]
        )
    return DeleteGroupsResponse(
        results=[DeletableGroupResult(group_id=g, error_code=error) for g in request.groups_names]
    )
