"""DescribeGroups (key 15), ListGroups (key 16): what groups exist and who is in them.

DescribeGroups (Kafka's ``GroupMetadataManager.describeGroups``): each named group
with its state, protocol type and members (client id, host, assignment). Only a
Stable group reports its selected protocol and each member's metadata for it; in
other states they are left empty. A group that does not exist is described as
"Dead" with no error. The broker sends each shard the groups it coordinates;
``include_authorized_operations`` is the broker's to fill in.

A consumer group (KIP-848) is described as "Dead" here too, as Kafka's coordinator
does: its members are seen with ConsumerGroupDescribe.

ListGroups (``listGroups``): every group of the shard, filtered by state (v4+,
case-insensitive: "Stable", "Empty", "Reconciling", ...) and type (v5+: "classic",
"consumer"). The broker asks every shard it coordinates and concatenates the lists.

Spec: ``clients/DescribeGroupsRequest.json``, ``clients/DescribeGroupsResponse.json``,
``clients/ListGroupsRequest.json``, ``clients/ListGroupsResponse.json``.
"""

from __future__ import annotations

from odradek.protocol.messages.clients.describe_groups_request import DescribeGroupsRequest
from odradek.protocol.messages.clients.describe_groups_response import (
    DescribedGroup,
    DescribedGroupMember,
    DescribeGroupsResponse,
)
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest
from odradek.protocol.messages.clients.list_groups_response import (
    ListedGroup,
    ListGroupsResponse,
)

from .classic.group import ClassicGroup
from .classic.state import DEAD, STABLE
from .consumer.group import CONSUMER_PROTOCOL_TYPE, ConsumerGroup
from .context import Context
from .result import Caller

CLASSIC_GROUP_TYPE = "classic"
CONSUMER_GROUP_TYPE = "consumer"


def describe_groups(ctx: Context, caller: Caller, request: DescribeGroupsRequest) -> None:
    ctx.reply(
        caller,
        DescribeGroupsResponse(
            groups=[_describe(ctx.state.classic_group(g), g) for g in request.groups]
        ),
    )


def _describe(group: ClassicGroup | None, group_id: str) -> DescribedGroup:
    if group is None:
        return DescribedGroup(group_id=group_id, group_state=str(DEAD))
    stable = group.is_in(STABLE) and group.protocol_name is not None
    members = []
    for m in group.members.values():
        member = DescribedGroupMember(
            member_id=m.member_id,
            group_instance_id=m.group_instance_id,
            client_id=m.client_id,
            client_host=m.client_host,
            member_assignment=m.assignment,
        )
        if stable and group.protocol_name is not None:
            member.member_metadata = m.metadata(group.protocol_name)
        members.append(member)
    return DescribedGroup(
        group_id=group_id,
        group_state=str(group.state),
        protocol_type=group.protocol_type or "",
        protocol_data=(group.protocol_name or "") if stable else "",
        members=members,
    )


def list_groups(ctx: Context, caller: Caller, request: ListGroupsRequest) -> None:
    states = {s.strip().lower() for s in request.states_filter}
    types = {t.strip().lower() for t in request.types_filter}
    listed = []
    for group_id, group in ctx.state.groups.items():
        if isinstance(group, ConsumerGroup):
            kind, protocol_type = CONSUMER_GROUP_TYPE, CONSUMER_PROTOCOL_TYPE
        else:
            kind, protocol_type = CLASSIC_GROUP_TYPE, group.protocol_type or ""
        if states and str(group.state).lower() not in states:
            continue
        if types and kind not in types:
            continue
        listed.append(
            ListedGroup(
                group_id=group_id,
                protocol_type=protocol_type,
                group_state=str(group.state),
                group_type=kind,
            )
        )
    ctx.reply(caller, ListGroupsResponse(groups=listed))
