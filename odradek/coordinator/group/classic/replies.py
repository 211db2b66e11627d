"""JoinGroup and SyncGroup responses, shaped for the version the member speaks.

A JoinGroup response is built in many places (a parked join completing, a member
fenced, a rejoin answered from the current generation); these builders keep the
version rules in one spot. From JoinGroup v7 the protocol name is nullable and Kafka
sends null rather than ""; before v7 it must be a string (``JoinGroupResponse``'s
constructor in Kafka). Spec: ``clients/JoinGroupResponse.json``,
``clients/SyncGroupResponse.json``.
"""

from __future__ import annotations

from collections.abc import Sequence

from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.join_group_response import (
    JoinGroupResponse,
    JoinGroupResponseMember,
)
from odradek.protocol.messages.clients.sync_group_response import SyncGroupResponse

UNKNOWN_MEMBER_ID = ""
NULLABLE_PROTOCOL_NAME_VERSION = 7


def join_response(
    caller: Caller,
    *,
    error: ErrorCode = ErrorCode.NONE,
    member_id: str = UNKNOWN_MEMBER_ID,
    generation_id: int = -1,
    protocol_type: str | None = None,
    protocol_name: str | None = None,
    leader: str | None = None,
    members: Sequence[JoinGroupResponseMember] = (),
    skip_assignment: bool = False,
) -> JoinGroupResponse:
    if caller.api_version < NULLABLE_PROTOCOL_NAME_VERSION:
        protocol_name = protocol_name or ""
    elif protocol_name == "":
        protocol_name = None
    return JoinGroupResponse(
        error_code=error,
        generation_id=generation_id,
        protocol_type=protocol_type,
        protocol_name=protocol_name,
        leader=leader or "",
        skip_assignment=skip_assignment,
        member_id=member_id,
        members=list(members),
    )


def join_error(caller: Caller, error: ErrorCode, member_id: str = "") -> JoinGroupResponse:
    return join_response(caller, error=error, member_id=member_id)


def sync_response(
    *,
    error: ErrorCode = ErrorCode.NONE,
    protocol_type: str | None = None,
    protocol_name: str | None = None,
    assignment: bytes = b"",
) -> SyncGroupResponse:
    return SyncGroupResponse(
        error_code=error,
        protocol_type=protocol_type,
        protocol_name=protocol_name,
        assignment=assignment,
    )
