"""One group coordinator shard: the groups and offsets of one ``__consumer_offsets`` partition.

Kafka's ``GroupCoordinatorShard``. The broker that leads partition *p* of
``__consumer_offsets`` runs one shard for it; a group lives in partition
:func:`~.partitioning.partition_for` and every request about it goes to that shard.
See :mod:`odradek.coordinator.group` for the driver's loop.

Commands, one per API: JoinGroup, SyncGroup, Heartbeat, LeaveGroup (classic groups,
:mod:`.classic`), ConsumerGroupHeartbeat and ConsumerGroupDescribe (consumer groups,
:mod:`.consumer`), OffsetCommit, OffsetFetch, OffsetDelete, DescribeGroups,
ListGroups and DeleteGroups. Each takes the :class:`~.result.Caller`, the decoded
request and the time, and returns a :class:`~.result.CoordinatorResult`.

Lifecycle: a shard starts *loading* (the driver :meth:`~GroupCoordinatorShard.load`\\s
every record of the partition), becomes *active* at :meth:`~GroupCoordinatorShard.
on_loaded`, and ends *unloaded* (:meth:`~GroupCoordinatorShard.unload`) when the
broker stops leading the partition or an append fails. Requests get
COORDINATOR_LOAD_IN_PROGRESS while loading and NOT_COORDINATOR once unloaded.

Time: every entry point takes the current time in milliseconds (wall clock, since it
is also the commit time stored with offsets), first runs the timers due by then, and
after the command runs any timers it made due at once (a zero delay). Between
requests the driver calls :meth:`~GroupCoordinatorShard.tick` at
:meth:`~GroupCoordinatorShard.next_deadline`. Time never goes backwards inside a
shard: an earlier time than one already seen counts as that one.

Errors: commands answer every client error in their responses. An exception escaping
a shard method is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import TypeVar

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_group_describe_request import (
    ConsumerGroupDescribeRequest,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_request import (
    ConsumerGroupHeartbeatRequest,
)
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.describe_groups_request import DescribeGroupsRequest
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.join_group_request import JoinGroupRequest
from odradek.protocol.messages.clients.leave_group_request import LeaveGroupRequest
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest
from odradek.protocol.messages.clients.offset_commit_request import OffsetCommitRequest
from odradek.protocol.messages.clients.offset_delete_request import OffsetDeleteRequest
from odradek.protocol.messages.clients.offset_fetch_request import OffsetFetchRequest
from odradek.protocol.messages.clients.sync_group_request import SyncGroupRequest
from odradek.protocol.primitives import Buffer

from . import delete_groups, describe_groups, expiration, offset_commit, offset_delete
from . import offset_fetch as offset_fetch_api
from .classic import heartbeat as heartbeat_api
from .classic import join, leave, rebalance, sync
from .classic.group import ClassicGroup
from .classic.replies import join_error, sync_response
from .classic.state import DEAD
from .config import GroupCoordinatorConfig
from .consumer import describe as consumer_describe
from .consumer import fencing as consumer_fencing
from .consumer import heartbeat as consumer_heartbeat
from .consumer.group import ConsumerGroup, ConsumerGroupState
from .consumer.member import MemberState
from .context import Context, MemberIdSource, ShardState
from .error_responses import Request, error_response
from .offsets import OffsetAndMetadata
from .records import CoordinatorRecord, UnknownRecordTypeError, deserialize
from .replay import replay
from .result import Caller, CoordinatorResult, Reply
from .topics import TopicsView

R = TypeVar("R", bound=Request)


class ShardStatus(Enum):
    LOADING = "loading"
    ACTIVE = "active"
    UNLOADED = "unloaded"


class GroupCoordinatorShard:
    """The group coordinator of one ``__consumer_offsets`` partition.

    ``topics`` is the cluster's topics as the broker's metadata image has them (for
    checks such as UNKNOWN_TOPIC_OR_PARTITION; swap it with :meth:`update_topics`).
    ``new_member_suffix`` returns a fresh unique string per call: the random part of
    member ids, kept outside so that runs can be replayed.
    """

    def __init__(
        self,
        *,
        topics: TopicsView,
        new_member_suffix: MemberIdSource,
        config: GroupCoordinatorConfig | None = None,
    ) -> None:
        self._state = ShardState(
            config=config or GroupCoordinatorConfig(),
            topics=topics,
            new_member_suffix=new_member_suffix,
        )
        self.status = ShardStatus.LOADING
        self._now_ms = 0

    # -- loading and unloading ---------------------------------------------------------

    def replay(self, record: CoordinatorRecord) -> None:
        """Apply one record of the partition while loading."""
        if self.status is not ShardStatus.LOADING:
            raise RuntimeError(f"replay from the log into a shard that is {self.status.value}")
        replay(self._state.groups, self._state.offsets, record)

    def load(self, key: Buffer, value: Buffer | None) -> bool:
        """Replay one log record's key and value bytes; False if its type is skipped.

        Record types this coordinator does not handle are skipped, as Kafka skips
        unknown ones; malformed bytes raise :class:`~odradek.protocol.primitives.
        DecodeError`.
        """
        try:
            record = deserialize(key, value)
        except UnknownRecordTypeError:
            return False
        self.replay(record)
        return True

    def on_loaded(self, now_ms: int) -> CoordinatorResult:
        """The partition is loaded: start session timers and the retention sweep.

        A loaded group larger than ``group.max.size`` (the setting shrank) rebalances,
        which gives its members the chance to commit before the extra ones are refused.
        """
        if self.status is not ShardStatus.LOADING:
            raise RuntimeError(f"on_loaded for a shard that is {self.status.value}")
        self.status = ShardStatus.ACTIVE
        ctx = self._begin(now_ms)
        for group in self._state.groups.values():
            if isinstance(group, ConsumerGroup):
                for consumer in group.members.values():
                    consumer_fencing.schedule_session_timeout(ctx, group.group_id, consumer)
                    if consumer.state is MemberState.UNREVOKED_PARTITIONS:
                        consumer_fencing.schedule_revocation_timeout(ctx, group.group_id, consumer)
                continue
            for member in group.members.values():
                rebalance.reschedule_session(ctx, group, member)
            if len(group.members) > ctx.config.max_size:
                rebalance.prepare_rebalance(ctx, group)
        expiration.schedule_sweep(ctx)
        self._run_due(ctx)
        return ctx.result

    def unload(self) -> list[Reply]:
        """Stop serving: answer every parked request NOT_COORDINATOR, forget the timers."""
        replies: list[Reply] = []
        for group in self._state.groups.values():
            if isinstance(group, ConsumerGroup):
                group.state = ConsumerGroupState.DEAD
                continue
            for member in group.members.values():
                caller = group.take_awaiting_join(member)
                if caller is not None:
                    replies.append(
                        Reply(
                            caller.handle,
                            join_error(caller, ErrorCode.NOT_COORDINATOR, member.member_id),
                        )
                    )
                sync_caller = group.take_awaiting_sync(member)
                if sync_caller is not None:
                    replies.append(
                        Reply(sync_caller.handle, sync_response(error=ErrorCode.NOT_COORDINATOR))
                    )
            group.previous_state, group.state = group.state, DEAD
        self._state.timer.clear()
        self.status = ShardStatus.UNLOADED
        return replies

    def update_topics(self, topics: TopicsView) -> None:
        """The cluster's topics changed: consumer groups recompute their subscriptions.

        Each consumer group checks at its next heartbeat whether the topics it
        subscribes to (by name or regex) changed, and rebalances if they did.
        """
        self._state.topics = topics
        for group in self._state.groups.values():
            if isinstance(group, ConsumerGroup):
                group.metadata_refresh_needed = True

    # -- time --------------------------------------------------------------------------

    def next_deadline(self) -> int | None:
        """When :meth:`tick` has work to do next (milliseconds), or None."""
        if self.status is not ShardStatus.ACTIVE:
            return None
        return self._state.timer.next_deadline()

    def tick(self, now_ms: int) -> CoordinatorResult:
        """Run the timers due at ``now_ms``: session and rebalance timeouts, the sweep."""
        if self.status is not ShardStatus.ACTIVE:
            return CoordinatorResult()
        ctx = self._begin(now_ms)
        self._run_due(ctx)
        return ctx.result

    def _begin(self, now_ms: int) -> Context:
        self._now_ms = max(self._now_ms, now_ms)
        ctx = Context(self._state, self._now_ms)
        self._run_due(ctx)
        return ctx

    def _run_due(self, ctx: Context) -> None:
        timer = self._state.timer
        while (op := timer.pop_due(ctx.now_ms)) is not None:
            op(ctx)

    # -- commands ----------------------------------------------------------------------

    def _command(
        self,
        caller: Caller,
        request: R,
        now_ms: int,
        handler: Callable[[Context, Caller, R], None],
    ) -> CoordinatorResult:
        if self.status is not ShardStatus.ACTIVE:
            error = (
                ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
                if self.status is ShardStatus.LOADING
                else ErrorCode.NOT_COORDINATOR
            )
            return CoordinatorResult(
                replies=[Reply(caller.handle, error_response(request, caller, error))]
            )
        ctx = self._begin(now_ms)
        handler(ctx, caller, request)
        self._run_due(ctx)
        return ctx.result

    def join_group(
        self, caller: Caller, request: JoinGroupRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, join.join_group)

    def sync_group(
        self, caller: Caller, request: SyncGroupRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, sync.sync_group)

    def heartbeat(
        self, caller: Caller, request: HeartbeatRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, heartbeat_api.heartbeat)

    def leave_group(
        self, caller: Caller, request: LeaveGroupRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, leave.leave_group)

    def offset_commit(
        self, caller: Caller, request: OffsetCommitRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, offset_commit.commit_offsets)

    def offset_fetch(
        self, caller: Caller, request: OffsetFetchRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, offset_fetch_api.fetch_offsets)

    def offset_delete(
        self, caller: Caller, request: OffsetDeleteRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, offset_delete.delete_offsets)

    def describe_groups(
        self, caller: Caller, request: DescribeGroupsRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, describe_groups.describe_groups)

    def list_groups(
        self, caller: Caller, request: ListGroupsRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, describe_groups.list_groups)

    def delete_groups(
        self, caller: Caller, request: DeleteGroupsRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, delete_groups.delete_groups)

    def consumer_group_heartbeat(
        self, caller: Caller, request: ConsumerGroupHeartbeatRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, consumer_heartbeat.consumer_group_heartbeat)

    def consumer_group_describe(
        self, caller: Caller, request: ConsumerGroupDescribeRequest, now_ms: int
    ) -> CoordinatorResult:
        return self._command(caller, request, now_ms, consumer_describe.consumer_group_describe)

    def on_partitions_deleted(
        self, partitions: Iterable[tuple[str, int]], now_ms: int
    ) -> CoordinatorResult:
        """Topics were deleted: tombstone every offset of these (topic, partition)s."""
        if self.status is not ShardStatus.ACTIVE:
            return CoordinatorResult()
        ctx = self._begin(now_ms)
        expiration.delete_partition_offsets(ctx, partitions)
        self._run_due(ctx)
        return ctx.result

    # -- reading -----------------------------------------------------------------------

    @property
    def config(self) -> GroupCoordinatorConfig:
        return self._state.config

    @property
    def groups(self) -> Mapping[str, ClassicGroup | ConsumerGroup]:
        return self._state.groups

    def group(self, group_id: str) -> ClassicGroup | None:
        """The classic group ``group_id``, if there is one."""
        return self._state.classic_group(group_id)

    def consumer_group(self, group_id: str) -> ConsumerGroup | None:
        """The consumer group (KIP-848) ``group_id``, if there is one."""
        return self._state.consumer_group(group_id)

    def committed_offset(
        self, group_id: str, topic: str, partition: int
    ) -> OffsetAndMetadata | None:
        return self._state.offsets.get(group_id, topic, partition)

    def offsets(self) -> Iterable[tuple[str, str, int, OffsetAndMetadata]]:
        """Every committed offset: (group, topic, partition, offset), sorted."""
        return self._state.offsets.all_offsets()
