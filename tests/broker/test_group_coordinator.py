"""The group coordinator in a broker: routing, ``__consumer_offsets``, commit gating, failover.

Driven through the real dispatcher of an in-process broker (:mod:`tests.broker.fakes`):
real logs, the real controller, metadata replayed. The coordinator's own rules are
tested in ``tests/coordinator``; these tests are about the shell around it: where
requests go, what is written to the log and when replies may leave.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from odradek.broker.groups import RunnerStatus, consumer_lag
from odradek.broker.groups.partition_log import load_shard
from odradek.coordinator.group import GroupCoordinatorShard, partition_for
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.describe_groups_request import DescribeGroupsRequest
from odradek.protocol.messages.clients.find_coordinator_request import FindCoordinatorRequest
from odradek.protocol.messages.clients.join_group_request import (
    JoinGroupRequest,
    JoinGroupRequestProtocol,
)
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest
from odradek.protocol.messages.clients.offset_commit_request import (
    OffsetCommitRequest,
    OffsetCommitRequestPartition,
    OffsetCommitRequestTopic,
)
from odradek.protocol.messages.clients.offset_fetch_request import (
    OffsetFetchRequest,
    OffsetFetchRequestGroup,
    OffsetFetchRequestTopic,
    OffsetFetchRequestTopics,
)
from odradek.protocol.records.batch import iter_batches
from odradek.storage.log import FetchIsolation
from tests.broker.fakes import Node, make_broker

OFFSETS = "__consumer_offsets"
SHARDS = 3
FIND_COORDINATOR, OFFSET_COMMIT, OFFSET_FETCH, JOIN_GROUP = 10, 8, 9, 11
LIST_GROUPS, DESCRIBE_GROUPS, DELETE_GROUPS = 16, 15, 42


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_broker(
        tmp_path,
        offsets_topic_num_partitions=str(SHARDS),
        offsets_topic_replication_factor="1",
        offsets_commit_timeout_ms="500",
    )


Test = Callable[[Node], Awaitable[None]]


def run(node: Node, test: Test) -> None:
    """Run ``test`` with the node's group coordinator serving."""

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.broker.groups.run)
            await test(node)
            nursery.cancel_scope.cancel()

    trio.run(main)


async def find(node: Node, group: str, version: int = 3) -> Any:
    return await node.request(FIND_COORDINATOR, version, FindCoordinatorRequest(key=group))


async def coordinator_ready(node: Node) -> None:
    """Create ``__consumer_offsets`` the way a client does, and let its shards load."""
    first = await find(node, "any")
    assert first.error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
    await trio.testing.wait_all_tasks_blocked()
    statuses = node.broker.groups.shard_statuses()
    assert statuses == dict.fromkeys(range(SHARDS), RunnerStatus.ACTIVE)


def groups_in_distinct_shards(count: int) -> list[str]:
    found: dict[int, str] = {}
    i = 0
    while len(found) < count:
        found.setdefault(partition_for(f"group-{i}", SHARDS), f"group-{i}")
        i += 1
    return list(found.values())


def commit_request(group: str, topic: str, offsets: dict[int, int]) -> OffsetCommitRequest:
    return OffsetCommitRequest(
        group_id=group,
        topics=[
            OffsetCommitRequestTopic(
                name=topic,
                partitions=[
                    OffsetCommitRequestPartition(partition_index=p, committed_offset=o)
                    for p, o in offsets.items()
                ],
            )
        ],
    )


async def fetch(node: Node, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
    request = OffsetFetchRequest(
        group_id=group,
        topics=[OffsetFetchRequestTopic(name=topic, partition_indexes=partitions)],
    )
    response = await node.request(OFFSET_FETCH, 7, request)
    assert response.error_code == 0, response
    return {p.partition_index: p.committed_offset for t in response.topics for p in t.partitions}


def offsets_log(node: Node, group: str) -> Any:
    partition = node.broker.replicas.get(OFFSETS, partition_for(group, SHARDS))
    assert partition is not None
    return partition


# --- FindCoordinator and the offsets topic ----------------------------------------------


def test_find_coordinator_creates_the_offsets_topic(node: Node) -> None:
    async def test(node: Node) -> None:
        await coordinator_ready(node)
        topic = node.broker.image.topics.get_by_name(OFFSETS)
        assert topic is not None
        assert len(topic.partitions) == SHARDS
        assert dict(node.broker.image.configs.topic(OFFSETS)) == {
            "cleanup.policy": "compact",
            "compression.type": "producer",
            "segment.bytes": str(100 * 1024 * 1024),
        }
        found = await find(node, "my-group")
        assert (found.error_code, found.node_id, found.host, found.port) == (
            0,
            1,
            "localhost",
            9092,
        )

    run(node, test)


def test_find_coordinator_key_types_and_batches(node: Node) -> None:
    async def test(node: Node) -> None:
        await coordinator_ready(node)
        batched = await node.request(
            FIND_COORDINATOR, 4, FindCoordinatorRequest(key_type=0, coordinator_keys=["a", "b"])
        )
        assert [(c.key, c.error_code, c.node_id) for c in batched.coordinators] == [
            ("a", 0, 1),
            ("b", 0, 1),
        ]
        transaction = await node.request(
            FIND_COORDINATOR, 4, FindCoordinatorRequest(key_type=1, coordinator_keys=["t"])
        )
        assert transaction.coordinators[0].error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
        share = await node.request(
            FIND_COORDINATOR, 6, FindCoordinatorRequest(key_type=2, coordinator_keys=["s"])
        )
        assert share.coordinators[0].error_code == ErrorCode.INVALID_REQUEST
        old = await node.request(FIND_COORDINATOR, 1, FindCoordinatorRequest(key="g", key_type=1))
        assert (old.error_code, old.node_id, old.port) == (
            ErrorCode.COORDINATOR_NOT_AVAILABLE,
            -1,
            -1,
        )

    run(node, test)


# --- commits: one batch, answered once committed ----------------------------------------


def test_a_commit_is_one_batch_and_survives_a_reload(node: Node) -> None:
    node.create_topic("t", 3)

    async def test(node: Node) -> None:
        await coordinator_ready(node)
        response = await node.request(
            OFFSET_COMMIT, 8, commit_request("g", "t", {0: 5, 1: 6, 2: 7})
        )
        assert [p.error_code for t in response.topics for p in t.partitions] == [0, 0, 0]
        partition = offsets_log(node, "g")
        data = partition.log.read(0, 1 << 20, FetchIsolation.HIGH_WATERMARK).region.read()
        batches = list(iter_batches(data))
        # The group's empty-group record may come first; the commit is one batch of three.
        assert len(batches[-1].records) == 3
        shard = GroupCoordinatorShard(
            topics=node.broker.image.topics, new_member_suffix=lambda: "x"
        )
        await load_shard(partition.log, shard)
        assert {p: shard.committed_offset("g", "t", p).offset for p in range(3)} == {  # type: ignore[union-attr]
            0: 5,
            1: 6,
            2: 7,
        }

    run(node, test)


def test_replies_wait_for_the_high_watermark(node: Node) -> None:
    node.create_topic("t", 1)

    async def test(node: Node) -> None:
        await coordinator_ready(node)
        partition = offsets_log(node, "g")
        # A second in-sync replica that has not fetched yet: appends do not commit.
        partition.isr = [1, 2]
        answer: list[Any] = []

        async def commit() -> None:
            answer.append(await node.request(OFFSET_COMMIT, 8, commit_request("g", "t", {0: 3})))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(commit)
            await trio.testing.wait_all_tasks_blocked()
            assert answer == []
            assert partition.log.log_end_offset > partition.log.high_watermark
            partition.log.maybe_update_high_watermark(partition.log.log_end_offset)
            partition.wake_waiters()
        assert answer[0].topics[0].partitions[0].error_code == 0
        assert await fetch(node, "g", "t", [0]) == {0: 3}

    run(node, test)


def test_a_reply_that_never_commits_times_out(node: Node) -> None:
    node.create_topic("t", 1)

    async def test(node: Node) -> None:
        await coordinator_ready(node)
        offsets_log(node, "g").isr = [1, 2]
        answer: list[Any] = []

        async def commit() -> None:
            answer.append(await node.request(OFFSET_COMMIT, 8, commit_request("g", "t", {0: 3})))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(commit)
            await trio.testing.wait_all_tasks_blocked()
            node.clock[0] += 500  # offsets.commit.timeout.ms
        error = answer[0].topics[0].partitions[0].error_code
        assert error == ErrorCode.COORDINATOR_NOT_AVAILABLE

    run(node, test)


def test_a_failed_append_reloads_the_shard_from_the_log(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    node.create_topic("t", 1)

    async def test(node: Node) -> None:
        await coordinator_ready(node)
        ok = await node.request(OFFSET_COMMIT, 8, commit_request("g", "t", {0: 1}))
        assert ok.topics[0].partitions[0].error_code == 0
        partition = offsets_log(node, "g")

        def refuse(records: bytes) -> None:
            raise KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS)

        monkeypatch.setattr(partition, "append_as_coordinator", refuse)
        failed = await node.request(OFFSET_COMMIT, 8, commit_request("g", "t", {0: 2}))
        assert failed.topics[0].partitions[0].error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
        monkeypatch.undo()
        await trio.testing.wait_all_tasks_blocked()
        # The fresh shard knows only what the log holds: the first commit.
        assert await fetch(node, "g", "t", [0]) == {0: 1}

    run(node, test)


# --- leadership -------------------------------------------------------------------------


def test_losing_leadership_answers_parked_joins(node: Node) -> None:
    async def test(node: Node) -> None:
        await coordinator_ready(node)
        answer: list[Any] = []
        join = JoinGroupRequest(
            group_id="g",
            session_timeout_ms=10_000,
            rebalance_timeout_ms=10_000,
            member_id="",
            protocol_type="consumer",
            protocols=[JoinGroupRequestProtocol(name="range", metadata=b"")],
        )

        async def join_group() -> None:
            # v3: no member id handshake, so the join parks for the initial delay.
            answer.append(await node.request(JOIN_GROUP, 3, join))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(join_group)
            await trio.testing.wait_all_tasks_blocked()
            assert answer == []
            node.controller.expire_sessions()  # broker 1 is fenced and leads nothing
        assert answer[0].error_code == ErrorCode.NOT_COORDINATOR
        assert node.broker.groups.shard_statuses() == {}
        again = await node.request(OFFSET_FETCH, 7, OffsetFetchRequest(group_id="g", topics=None))
        assert again.error_code == ErrorCode.NOT_COORDINATOR

    run(node, test)


# --- requests naming several groups -----------------------------------------------------


def test_batched_requests_reach_every_shard(node: Node) -> None:
    node.create_topic("t", 1)
    groups = groups_in_distinct_shards(SHARDS)

    async def test(node: Node) -> None:
        await coordinator_ready(node)
        for i, group in enumerate(groups):
            await node.request(OFFSET_COMMIT, 8, commit_request(group, "t", {0: i + 10}))
        listed = await node.request(LIST_GROUPS, 4, ListGroupsRequest())
        assert sorted(g.group_id for g in listed.groups) == sorted(groups)
        described = await node.request(DESCRIBE_GROUPS, 5, DescribeGroupsRequest(groups=groups))
        assert sorted(g.group_id for g in described.groups) == sorted(groups)
        fetched = await node.request(
            OFFSET_FETCH,
            8,
            OffsetFetchRequest(
                groups=[
                    OffsetFetchRequestGroup(
                        group_id=g,
                        topics=[OffsetFetchRequestTopics(name="t", partition_indexes=[0])],
                    )
                    for g in groups
                ]
            ),
        )
        assert {g.group_id: g.topics[0].partitions[0].committed_offset for g in fetched.groups} == {
            g: i + 10 for i, g in enumerate(groups)
        }
        deleted = await node.request(
            DELETE_GROUPS, 2, DeleteGroupsRequest(groups_names=[*groups, "unknown"])
        )
        assert sorted((r.group_id, r.error_code) for r in deleted.results) == sorted(
            [(g, 0) for g in groups] + [("unknown", ErrorCode.GROUP_ID_NOT_FOUND)]
        )
        listed = await node.request(LIST_GROUPS, 4, ListGroupsRequest())
        assert listed.groups == []

    run(node, test)


def test_consumer_lag_against_the_high_watermark(node: Node) -> None:
    node.create_topic("t", 2)
    node.produce("t", 0, 10)
    node.produce("t", 1, 4)

    async def test(node: Node) -> None:
        await coordinator_ready(node)
        await node.request(OFFSET_COMMIT, 8, commit_request("g", "t", {0: 3, 1: 4}))
        rows = sorted(
            consumer_lag(node.broker.groups, node.broker.replicas), key=lambda r: r.partition
        )
        assert [(r.group, r.topic, r.partition, r.committed_offset, r.lag) for r in rows] == [
            ("g", "t", 0, 3, 7),
            ("g", "t", 1, 4, 0),
        ]

    run(node, test)
