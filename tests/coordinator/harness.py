"""A group coordinator shard driven the way a broker drives it, under a fake clock.

:class:`ShardDriver` plays the broker's part of the contract in
``odradek.coordinator.group``: it serializes each result's records into an in-memory
"partition" (every append commits at once), collects replies by handle (checking
that no request is answered twice), and moves time forward with ``tick``. It can
rebuild a fresh shard from the partition's bytes, which is what a broker does when
it becomes coordinator.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from odradek.coordinator.group import (
    Caller,
    CoordinatorResult,
    GroupCoordinatorConfig,
    GroupCoordinatorShard,
    Response,
    serialize_key,
    serialize_value,
)
from odradek.protocol.codec import decode, encode
from odradek.protocol.messages.clients.consumer_group_heartbeat_request import (
    ConsumerGroupHeartbeatRequest,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_request import (
    TopicPartitions as HeartbeatTopicPartitions,
)
from odradek.protocol.messages.clients.consumer_protocol_assignment import (
    ConsumerProtocolAssignment,
)
from odradek.protocol.messages.clients.consumer_protocol_assignment import (
    TopicPartition as AssignedPartitions,
)
from odradek.protocol.messages.clients.consumer_protocol_subscription import (
    ConsumerProtocolSubscription,
)
from odradek.protocol.messages.clients.heartbeat_request import HeartbeatRequest
from odradek.protocol.messages.clients.join_group_request import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
)
from odradek.protocol.messages.clients.join_group_response import JoinGroupResponse
from odradek.protocol.messages.clients.leave_group_request import (
    LeaveGroupRequest,
    MemberIdentity,
)
from odradek.protocol.messages.clients.offset_commit_request import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from odradek.protocol.messages.clients.offset_fetch_request import (
    OffsetFetchRequest,
    OffsetFetchRequestTopic,
)
from odradek.protocol.messages.clients.sync_group_request import (
    SyncGroupRequest,
    SyncGroupRequestAssignment,
)
from odradek.protocol.primitives import INT16

SESSION_MS = 10_000
REBALANCE_MS = 30_000


@dataclass(frozen=True)
class FakeTopic:
    topic_id: uuid.UUID
    partitions: dict[int, object]


class FakeTopics:
    """The cluster's topics: name -> partition count."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.topics = {
            name: FakeTopic(uuid.uuid5(uuid.NAMESPACE_DNS, name), dict.fromkeys(range(n)))
            for name, n in counts.items()
        }

    @property
    def by_name(self) -> dict[str, FakeTopic]:
        return self.topics

    def get_by_name(self, name: str) -> FakeTopic | None:
        return self.topics.get(name)


class CountingIds:
    """Member id suffixes 1, 2, 3, ...: deterministic stand-ins for UUIDs."""

    def __init__(self) -> None:
        self._next = itertools.count(1)

    def __call__(self) -> str:
        return str(next(self._next))


def subscription(*topics: str) -> bytes:
    """A consumer's subscription as a client writes it: int16 version + body."""
    return INT16.pack(1) + encode(ConsumerProtocolSubscription(topics=list(topics)), 1)


def assignment(partitions: dict[str, list[int]], version: int = 0) -> bytes:
    body = ConsumerProtocolAssignment(
        assigned_partitions=[
            AssignedPartitions(topic=t, partitions=sorted(ps))
            for t, ps in sorted(partitions.items())
        ]
    )
    return INT16.pack(version) + encode(body, version)


def decode_assignment(data: bytes) -> set[tuple[str, int]]:
    if not data:
        return set()
    version = INT16.unpack_from(data, 0)[0]
    body = decode(ConsumerProtocolAssignment, data[2:], version)
    return {(tp.topic, p) for tp in body.assigned_partitions for p in tp.partitions}


@dataclass
class ShardDriver:
    config: GroupCoordinatorConfig = field(default_factory=GroupCoordinatorConfig)
    topics: FakeTopics = field(default_factory=lambda: FakeTopics({"t": 6, "u": 3}))
    now: int = 1_000_000
    #: The partition: (key bytes, value bytes or None) per record, in order.
    log: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    replies: dict[Hashable, Response] = field(default_factory=dict)
    ids: CountingIds = field(default_factory=CountingIds)

    def __post_init__(self) -> None:
        self._handles = itertools.count(1)
        self._issued = 0
        self.shard = self.new_shard()
        self.shard.on_loaded(self.now)

    def new_shard(self) -> GroupCoordinatorShard:
        return GroupCoordinatorShard(
            topics=self.topics, new_member_suffix=self.ids, config=self.config
        )

    def handle(self, result: CoordinatorResult) -> CoordinatorResult:
        for record in result.records:
            self.log.append((serialize_key(record), serialize_value(record)))
        for reply in result.replies:
            assert reply.handle not in self.replies, f"request {reply.handle} answered twice"
            self.replies[reply.handle] = reply.response
        return result

    @property
    def issued(self) -> int:
        """How many requests were sent: handles run from 1 to this."""
        return self._issued

    def call(self, method: str, request: Any, version: int, client_id: str = "client") -> int:
        handle = next(self._handles)
        self._issued = handle
        caller = Caller(handle, version, client_id, "/10.0.0.1")
        self.handle(getattr(self.shard, method)(caller, request, self.now))
        return handle

    def reply(self, handle: int) -> Any:
        """The reply to ``handle`` (asserting there is one)."""
        assert handle in self.replies, f"request {handle} has no reply yet"
        return self.replies[handle]

    def advance(self, ms: int) -> None:
        """Move the clock, stopping at each deadline on the way as a driver would."""
        target = self.now + ms
        while (deadline := self.shard.next_deadline()) is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.handle(self.shard.tick(self.now))
        self.now = target
        self.handle(self.shard.tick(self.now))

    def reload(self) -> GroupCoordinatorShard:
        """A new shard loaded from the partition's bytes, as a new coordinator would."""
        shard = self.new_shard()
        for key, value in self.log:
            shard.load(key, value)
        return shard

    # -- requests ----------------------------------------------------------------------

    def join(
        self,
        group: str,
        member_id: str = "",
        *,
        instance_id: str | None = None,
        protocols: Iterable[tuple[str, bytes]] | None = None,
        protocol_type: str = "consumer",
        version: int = 9,
        session_ms: int = SESSION_MS,
        rebalance_ms: int = REBALANCE_MS,
        client_id: str = "client",
    ) -> int:
        if protocols is None:
            protocols = [("range", subscription("t"))]
        request = JoinGroupRequest(
            group_id=group,
            session_timeout_ms=session_ms,
            rebalance_timeout_ms=rebalance_ms,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type=protocol_type,
            protocols=[JoinGroupRequestProtocol(name=n, metadata=m) for n, m in protocols],
        )
        return self.call("join_group", request, version, client_id)

    def join_with_id(self, group: str, **kwargs: Any) -> tuple[str, int]:
        """The v4+ handshake: join, get MEMBER_ID_REQUIRED and an id, rejoin with it."""
        first = self.reply(self.join(group, **kwargs))
        assert first.error_code == 79, first  # MEMBER_ID_REQUIRED
        return first.member_id, self.join(group, first.member_id, **kwargs)

    def sync(
        self,
        group: str,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes] | None = None,
        *,
        instance_id: str | None = None,
        version: int = 5,
        protocol_type: str | None = "consumer",
        protocol_name: str | None = "range",
    ) -> int:
        request = SyncGroupRequest(
            group_id=group,
            generation_id=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            protocol_type=protocol_type,
            protocol_name=protocol_name,
            assignments=[
                SyncGroupRequestAssignment(member_id=m, assignment=a)
                for m, a in (assignments or {}).items()
            ],
        )
        return self.call("sync_group", request, version)

    def heartbeat(
        self, group: str, member_id: str, generation: int, instance_id: str | None = None
    ) -> int:
        request = HeartbeatRequest(
            group_id=group,
            generation_id=generation,
            member_id=member_id,
            group_instance_id=instance_id,
        )
        return self.call("heartbeat", request, 4)

    def leave(self, group: str, *members: tuple[str, str | None], version: int = 5) -> int:
        if version >= 3:
            request = LeaveGroupRequest(
                group_id=group,
                members=[MemberIdentity(member_id=m, group_instance_id=i) for m, i in members],
            )
        else:
            request = LeaveGroupRequest(group_id=group, member_id=members[0][0])
        return self.call("leave_group", request, version)

    def commit(
        self,
        group: str,
        offsets: dict[tuple[str, int], int],
        *,
        member_id: str = "",
        generation: int = -1,
        instance_id: str | None = None,
        metadata: str | None = "",
        retention_ms: int = -1,
        version: int = 9,
    ) -> int:
        topics: dict[str, list[OffsetCommitRequestPartition]] = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append(
                OffsetCommitRequestPartition(
                    partition_index=partition, committed_offset=offset, committed_metadata=metadata
                )
            )
        request = OffsetCommitRequest(
            group_id=group,
            generation_id_or_member_epoch=generation,
            member_id=member_id,
            group_instance_id=instance_id,
            retention_time_ms=retention_ms,
            topics=[OffsetCommitRequestTopic(name=t, partitions=ps) for t, ps in topics.items()],
        )
        return self.call("offset_commit", request, version)

    def consumer_heartbeat(
        self,
        group: str,
        member_id: str = "",
        epoch: int = 0,
        *,
        topics: list[str] | None = None,
        regex: str | None = None,
        owned: dict[str, list[int]] | None = None,
        instance_id: str | None = None,
        rebalance_ms: int = -1,
        assignor: str | None = None,
        client_id: str = "client",
    ) -> int:
        """A ConsumerGroupHeartbeat; ``owned`` names topics, translated to topic ids."""
        if epoch == 0:
            rebalance_ms = REBALANCE_MS if rebalance_ms == -1 else rebalance_ms
            owned = {} if owned is None else owned
            if topics is None and regex is None:
                topics = []
        request = ConsumerGroupHeartbeatRequest(
            group_id=group,
            member_id=member_id,
            member_epoch=epoch,
            instance_id=instance_id,
            rebalance_timeout_ms=rebalance_ms,
            subscribed_topic_names=topics,
            subscribed_topic_regex=regex,
            server_assignor=assignor,
            topic_partitions=None
            if owned is None
            else [
                HeartbeatTopicPartitions(topic_id=self.topic_id(t), partitions=ps)
                for t, ps in owned.items()
            ],
        )
        return self.call("consumer_group_heartbeat", request, 1, client_id)

    def topic_id(self, name: str) -> uuid.UUID:
        return self.topics.topics[name].topic_id

    def topic_name(self, topic_id: uuid.UUID) -> str:
        return next(n for n, t in self.topics.topics.items() if t.topic_id == topic_id)

    def named(self, partitions: Any) -> dict[str, list[int]]:
        """Topic-id keyed partitions (a response's list or a member's map) by topic name."""
        if isinstance(partitions, dict):
            return {self.topic_name(t): sorted(ps) for t, ps in partitions.items()}
        return {self.topic_name(tp.topic_id): sorted(tp.partitions) for tp in partitions}

    def fetch(self, group: str, partitions: dict[str, list[int]] | None, version: int = 7) -> int:
        topics = (
            None
            if partitions is None
            else [
                OffsetFetchRequestTopic(name=t, partition_indexes=ps)
                for t, ps in partitions.items()
            ]
        )
        return self.call("offset_fetch", OffsetFetchRequest(group_id=group, topics=topics), version)


def join_ok(response: JoinGroupResponse) -> JoinGroupResponse:
    assert response.error_code == 0, response
    return response
