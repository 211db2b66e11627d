"""DeleteGroups (key 42): remove empty groups and all their offsets.

Behaviour (Kafka's ``GroupCoordinatorShard.deleteGroups``): per group, an unknown
group is GROUP_ID_NOT_FOUND and a group with members NON_EMPTY_GROUP; otherwise a
tombstone for each committed offset, then one for the group, all in one result. The
broker sends each shard the groups it coordinates and concatenates the results.

Spec: ``clients/DeleteGroupsRequest.json``, ``clients/DeleteGroupsResponse.json``.
"""

from __future__ import annotations

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.delete_groups_response import (
    DeletableGroupResult,
    DeleteGroupsResponse,
)

from .classic.group import ClassicGroup
from .classic.state import DEAD
from .consumer.group import ConsumerGroup
from .consumer.records import group_tombstones
from .context import Context
from .records import group_tombstone, offset_tombstone
from .result import Caller


def delete_groups(ctx: Context, caller: Caller, request: DeleteGroupsRequest) -> None:
    results = [
        DeletableGroupResult(group_id=g, error_code=_delete(ctx, g)) for g in request.groups_names
    ]
    ctx.reply(caller, DeleteGroupsResponse(results=results))


def _delete(ctx: Context, group_id: str) -> ErrorCode:
    group = ctx.state.groups.get(group_id)
    if group is None or (isinstance(group, ClassicGroup) and group.is_in(DEAD)):
        return ErrorCode.GROUP_ID_NOT_FOUND
    if not group.is_empty:
        return ErrorCode.NON_EMPTY_GROUP
    for topic, partition, _ in list(ctx.state.offsets.group_offsets(group_id)):
        ctx.write(offset_tombstone(group_id, topic, partition))
    write_group_tombstones(ctx, group)
    return ErrorCode.NONE


def write_group_tombstones(ctx: Context, group: ClassicGroup | ConsumerGroup) -> None:
    """Delete an empty group: one tombstone for a classic group, several for a consumer group."""
    if isinstance(group, ConsumerGroup):
        for record in group_tombstones(group):
            ctx.write(record)
    else:
        ctx.write(group_tombstone(group.group_id))
