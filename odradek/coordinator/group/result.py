"""What a command returns: records to append and replies to send once they are committed.

Kafka's ``CoordinatorResult`` pairs records with one response. Classic groups need
more: a JoinGroup is parked until the rebalance it starts completes, a follower's
SyncGroup until the leader sends the assignment, and the command that completes them
is someone else's (another member's JoinGroup, a LeaveGroup, an expired timer). So a
result here carries *replies*, each addressed to the request it answers by the
:attr:`Caller.handle` the driver chose when it passed that request in. A command's
own answer is one such reply; a parked request gets its reply in a later result.

The driver's contract (see :mod:`odradek.coordinator.group` for the whole loop):

1. append ``result.records`` to the shard's partition, in order, as one batch;
2. once every record appended so far (these and any before) is committed, send each
   reply to its handle's connection, encoded at the request's version;
3. if the append fails, the shard's in-memory state is ahead of the log: answer the
   held replies with the append error, :meth:`~odradek.coordinator.group.shard.
   GroupCoordinatorShard.unload` the shard (which answers its parked requests) and
   reload it from the log.

A result with no records still waits for earlier records, as Kafka's runtime does for
a write with no records: a reply never reveals state the log could still lose.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from odradek.protocol.messages.clients.consumer_group_describe_response import (
    ConsumerGroupDescribeResponse,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_response import (
    ConsumerGroupHeartbeatResponse,
)
from odradek.protocol.messages.clients.delete_groups_response import DeleteGroupsResponse
from odradek.protocol.messages.clients.describe_groups_response import DescribeGroupsResponse
from odradek.protocol.messages.clients.heartbeat_response import HeartbeatResponse
from odradek.protocol.messages.clients.join_group_response import JoinGroupResponse
from odradek.protocol.messages.clients.leave_group_response import LeaveGroupResponse
from odradek.protocol.messages.clients.list_groups_response import ListGroupsResponse
from odradek.protocol.messages.clients.offset_commit_response import OffsetCommitResponse
from odradek.protocol.messages.clients.offset_delete_response import OffsetDeleteResponse
from odradek.protocol.messages.clients.offset_fetch_response import OffsetFetchResponse
from odradek.protocol.messages.clients.sync_group_response import SyncGroupResponse

from .records import CoordinatorRecord

Response = (
    JoinGroupResponse
    | SyncGroupResponse
    | HeartbeatResponse
    | LeaveGroupResponse
    | OffsetCommitResponse
    | OffsetFetchResponse
    | OffsetDeleteResponse
    | DescribeGroupsResponse
    | ListGroupsResponse
    | DeleteGroupsResponse
    | ConsumerGroupHeartbeatResponse
    | ConsumerGroupDescribeResponse
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: where its reply goes and what the reply may contain.

    ``handle`` is any hashable value the driver picks to find the connection and
    correlation id again (a counter, a tuple); the shard only hands it back.
    """

    handle: Hashable
    api_version: int
    client_id: str = ""
    client_host: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """The response to the request the driver identified by ``handle``."""

    handle: Hashable
    response: Response


@dataclass(slots=True)
class CoordinatorResult:
    """Records to append, and the replies to send once they are committed."""

    records: list[CoordinatorRecord] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def reply_to(self, handle: Hashable) -> Response | None:
        """The reply addressed to ``handle`` in this result, if any."""
        for reply in self.replies:
            if reply.handle == handle:
                return reply.response
        return None

    def extend(self, other: CoordinatorResult) -> None:
        self.records.extend(other.records)
        self.replies.extend(other.replies)
