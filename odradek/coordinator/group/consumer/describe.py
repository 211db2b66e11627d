"""ConsumerGroupDescribe (key 69): a consumer group's epochs, assignor and members.

Behaviour (Kafka's ``ConsumerGroup.asDescribedGroup``): per group, its state, group
epoch, assignment epoch and assignor (the one most members ask for, else the
default), and per member its ids, client, subscription, current assignment and
target assignment, with topic names as the cluster knows them now (partitions of
deleted topics are left out). A group that does
not exist, or is a classic group, is GROUP_ID_NOT_FOUND. The broker sends each shard
the groups it coordinates and fills in ``authorized_operations``.

Spec: ``clients/ConsumerGroupDescribeRequest.json``,
``clients/ConsumerGroupDescribeResponse.json``.
"""

from __future__ import annotations

import uuid

from odradek.coordinator.group.context import Context
from odradek.coordinator.group.result import Caller
from odradek.coordinator.group.topics import TopicsView
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_group_describe_request import (
    ConsumerGroupDescribeRequest,
)
from odradek.protocol.messages.clients.consumer_group_describe_response import (
    Assignment,
    ConsumerGroupDescribeResponse,
    DescribedGroup,
    Member,
    TopicPartitions,
)

from .group import ConsumerGroup
from .member import Partitions, sorted_partitions


def consumer_group_describe(
    ctx: Context, caller: Caller, request: ConsumerGroupDescribeRequest
) -> None:
    groups = [_describe(ctx, group_id) for group_id in request.group_ids]
    ctx.reply(caller, ConsumerGroupDescribeResponse(groups=groups))


def _describe(ctx: Context, group_id: str) -> DescribedGroup:
    group = ctx.state.consumer_group(group_id)
    if group is None:
        kind = "not a consumer group" if group_id in ctx.state.groups else "not found"
        return DescribedGroup(
            group_id=group_id,
            error_code=ErrorCode.GROUP_ID_NOT_FOUND,
            error_message=f"Group {group_id} {kind}.",
        )
    return describe(group, ctx.config.consumer_assignors[0], ctx.state.topics)


def describe(group: ConsumerGroup, default_assignor: str, topics: TopicsView) -> DescribedGroup:
    names = {t.topic_id: name for name, t in topics.by_name.items()}
    return DescribedGroup(
        group_id=group.group_id,
        group_state=str(group.state),
        group_epoch=group.group_epoch,
        assignment_epoch=group.assignment_epoch,
        assignor_name=group.preferred_assignor() or default_assignor,
        members=[
            Member(
                member_id=m.member_id,
                instance_id=m.instance_id,
                rack_id=m.rack_id,
                member_epoch=m.member_epoch,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topic_names=sorted(m.subscribed_topic_names),
                subscribed_topic_regex=m.subscribed_topic_regex or None,
                assignment=_assignment(m.assigned_partitions, names),
                target_assignment=_assignment(group.target_assignment.get(m.member_id, {}), names),
            )
            for m in group.members.values()
        ],
    )


def _assignment(partitions: Partitions, names: dict[uuid.UUID, str]) -> Assignment:
    return Assignment(
        topic_partitions=[
            TopicPartitions(topic_id=t, topic_name=names[t], partitions=ps)
            for t, ps in sorted_partitions(partitions)
            if t in names
        ]
    )
