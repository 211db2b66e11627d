"""DeleteRecords, OffsetForLeaderEpoch, DescribeProducers and DescribeLogDirs on real logs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.delete_records_request import (
    DeleteRecordsPartition,
    DeleteRecordsRequest,
    DeleteRecordsTopic,
)
from odradek.protocol.messages.clients.describe_log_dirs_request import (
    DescribableLogDirTopic,
    DescribeLogDirsRequest,
)
from odradek.protocol.messages.clients.describe_producers_request import (
    DescribeProducersRequest,
    TopicRequest,
)
from odradek.protocol.messages.clients.offset_for_leader_epoch_request import (
    OffsetForLeaderEpochRequest,
    OffsetForLeaderPartition,
    OffsetForLeaderTopic,
)
from tests.broker.fakes import Node, make_broker

DELETE_RECORDS, OFFSET_FOR_LEADER_EPOCH, DESCRIBE_LOG_DIRS, DESCRIBE_PRODUCERS = 21, 23, 35, 61


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_broker(tmp_path)


def second_broker(node: Node) -> None:
    """Register broker 2, which has no process here: partitions on it are led elsewhere."""
    node.controller.register(2, {"PLAINTEXT": ("localhost", 9192)})


# -- DeleteRecords ----------------------------------------------------------------------


def delete_records(node: Node, topic: str, *offsets: tuple[int, int]) -> list[tuple[int, int, int]]:
    request = DeleteRecordsRequest(
        topics=[
            DeleteRecordsTopic(
                name=topic,
                partitions=[
                    DeleteRecordsPartition(partition_index=p, offset=o) for p, o in offsets
                ],
            )
        ],
        timeout_ms=30_000,
    )
    (result,) = node.call(DELETE_RECORDS, 2, request).topics
    return [(p.partition_index, p.error_code, p.low_watermark) for p in result.partitions]


def test_the_log_start_moves_up_and_never_down(node: Node) -> None:
    node.create_topic("t")
    node.produce("t", 0, 10)
    log = node.broker.replicas.get("t", 0).log  # type: ignore[union-attr]
    assert delete_records(node, "t", (0, 4)) == [(0, 0, 4)]
    assert log.log_start_offset == 4
    assert delete_records(node, "t", (0, 2)) == [(0, 0, 4)]
    assert log.log_start_offset == 4


def test_minus_one_means_the_high_watermark(node: Node) -> None:
    node.create_topic("t")
    node.produce("t", 0, 6)
    assert delete_records(node, "t", (0, -1)) == [(0, 0, 6)]


@pytest.mark.parametrize("offset", [7, -2])
def test_offsets_past_the_high_watermark_or_negative_are_out_of_range(
    node: Node, offset: int
) -> None:
    node.create_topic("t")
    node.produce("t", 0, 6)
    assert delete_records(node, "t", (0, offset)) == [(0, ErrorCode.OFFSET_OUT_OF_RANGE, -1)]


def test_partitions_that_cannot_be_trimmed_here(node: Node) -> None:
    node.create_topic("compacted", configs={"cleanup.policy": "compact"})
    node.create_topic("t")
    second_broker(node)
    node.create_topic("elsewhere", replicas=[[2]])
    assert delete_records(node, "compacted", (0, 0)) == [(0, ErrorCode.POLICY_VIOLATION, -1)]
    assert delete_records(node, "elsewhere", (0, 0)) == [(0, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1)]
    assert delete_records(node, "t", (0, 0), (5, 0)) == [
        (0, 0, 0),
        (5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1),
    ]
    assert delete_records(node, "nothing", (0, 0)) == [
        (0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1)
    ]


def test_internal_topics_are_refused(node: Node) -> None:
    node.create_topic("__consumer_offsets")
    assert delete_records(node, "__consumer_offsets", (0, 0)) == [
        (0, ErrorCode.INVALID_TOPIC_EXCEPTION, -1)
    ]


# -- OffsetForLeaderEpoch ---------------------------------------------------------------


def end_offsets(
    node: Node, topic: str, *asks: tuple[int, int, int], version: int = 4
) -> list[tuple[int, int, int, int]]:
    """(partition, epoch, current leader epoch) -> (partition, error, epoch, end offset)."""
    request = OffsetForLeaderEpochRequest(
        replica_id=-1,
        topics=[
            OffsetForLeaderTopic(
                topic=topic,
                partitions=[
                    OffsetForLeaderPartition(partition=p, leader_epoch=e, current_leader_epoch=c)
                    for p, e, c in asks
                ],
            )
        ],
    )
    (result,) = node.call(OFFSET_FOR_LEADER_EPOCH, version, request).topics
    return [(p.partition, p.error_code, p.leader_epoch, p.end_offset) for p in result.partitions]


def test_the_latest_epoch_ends_at_the_log_end(node: Node) -> None:
    node.create_topic("t")
    node.produce("t", 0, 5)
    assert end_offsets(node, "t", (0, 0, -1), (0, 0, 0)) == [(0, 0, 0, 5), (0, 0, 0, 5)]
    # An epoch no leader has had yet is unknown, without error.
    assert end_offsets(node, "t", (0, 3, -1)) == [(0, 0, -1, -1)]


def test_older_epochs_end_where_the_next_began(node: Node) -> None:
    node.create_topic("t")
    node.produce("t", 0, 5)
    # The broker's session expires (leader -1, epoch 1), then it comes back (epoch 2).
    node.controller.expire_sessions()
    node.controller.heartbeat(1)
    partition = node.broker.replicas.get("t", 0)
    assert partition is not None
    assert (partition.is_leader, partition.leader_epoch) == (True, 2)
    node.produce("t", 0, 3)
    assert end_offsets(node, "t", (0, 0, 2), (0, 1, 2), (0, 2, 2)) == [
        (0, 0, 0, 5),
        (0, 0, 0, 5),
        (0, 0, 2, 8),
    ]


def test_stale_and_future_leader_epochs_are_refused(node: Node) -> None:
    node.create_topic("t")
    node.controller.expire_sessions()
    node.controller.heartbeat(1)
    assert end_offsets(node, "t", (0, 0, 1), (0, 0, 3), (0, 0, 2)) == [
        (0, ErrorCode.FENCED_LEADER_EPOCH, -1, -1),
        (0, ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1),
        (0, 0, 0, 0),
    ]


def test_partitions_not_led_here(node: Node) -> None:
    second_broker(node)
    node.create_topic("elsewhere", replicas=[[2]])
    assert end_offsets(node, "elsewhere", (0, 0, -1), (1, 0, -1), version=2) == [
        (0, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1),
        (1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1),
    ]


def test_a_follower_refuses_consumers(node: Node) -> None:
    second_broker(node)
    node.create_topic("shared", replicas=[[2, 1]])
    partition = node.broker.replicas.get("shared", 0)
    assert partition is not None
    assert not partition.is_leader
    assert end_offsets(node, "shared", (0, 0, -1)) == [
        (0, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1)
    ]


# -- DescribeProducers ------------------------------------------------------------------


def producers(node: Node, topic: str, *partitions: int) -> list[Any]:
    request = DescribeProducersRequest(
        topics=[TopicRequest(name=topic, partition_indexes=list(partitions))]
    )
    (result,) = node.call(DESCRIBE_PRODUCERS, 0, request).topics
    return list(result.partitions)


def test_idempotent_producers_are_listed_with_their_last_batch(node: Node) -> None:
    node.create_topic("t")
    node.produce("t", 0, 3, producer_id=41, producer_epoch=2, base_sequence=0, timestamp=5_000)
    node.produce("t", 0, 2, producer_id=41, producer_epoch=2, base_sequence=3, timestamp=6_000)
    node.produce("t", 0, 1)
    (answer,) = producers(node, "t", 0)
    assert answer.error_code == ErrorCode.NONE
    assert [
        (p.producer_id, p.producer_epoch, p.last_sequence, p.last_timestamp)
        for p in answer.active_producers
    ] == [(41, 2, 4, 6_001)]
    assert answer.active_producers[0].current_txn_start_offset == -1


def test_followers_answer_too_and_unknown_partitions_do_not(node: Node) -> None:
    second_broker(node)
    node.create_topic("shared", replicas=[[2, 1]])
    node.create_topic("elsewhere", replicas=[[2]])
    (follower,) = producers(node, "shared", 0)
    assert (follower.error_code, follower.active_producers) == (ErrorCode.NONE, [])
    missing = producers(node, "elsewhere", 0, 1)
    assert [(p.partition_index, p.error_code) for p in missing] == [
        (0, ErrorCode.NOT_LEADER_OR_FOLLOWER),
        (1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    ]
    (unknown,) = producers(node, "nothing", 0)
    assert unknown.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    (illegal,) = producers(node, "a b", 0)
    assert illegal.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert illegal.error_message


# -- DescribeLogDirs --------------------------------------------------------------------


def test_every_log_dir_is_listed_with_its_partitions(node: Node) -> None:
    node.create_topic("t", 2)
    node.produce("t", 0, 4)
    (result,) = node.call(DESCRIBE_LOG_DIRS, 4, DescribeLogDirsRequest(topics=None)).results
    assert result.error_code == ErrorCode.NONE
    assert result.log_dir == os.path.abspath(node.broker.logs.log_dirs[0])
    (topic,) = result.topics
    sizes = {p.partition_index: p.partition_size for p in topic.partitions}
    log = node.broker.replicas.get("t", 0).log  # type: ignore[union-attr]
    assert sizes == {0: log.size, 1: 0}
    assert log.size > 0
    assert {(p.offset_lag, p.is_future_key) for p in topic.partitions} == {(0, False)}
    assert result.total_bytes >= result.usable_bytes > 0


def test_only_the_partitions_asked_for(node: Node) -> None:
    node.create_topic("t", 2)
    request = DescribeLogDirsRequest(
        topics=[
            DescribableLogDirTopic(topic="t", partitions=[1, 9]),
            DescribableLogDirTopic(topic="nothing", partitions=[0]),
        ]
    )
    (result,) = node.call(DESCRIBE_LOG_DIRS, 4, request).results
    assert [(t.name, [p.partition_index for p in t.partitions]) for t in result.topics] == [
        ("t", [1])
    ]
    (empty,) = node.call(DESCRIBE_LOG_DIRS, 1, DescribeLogDirsRequest(topics=[])).results
    assert (empty.error_code, empty.topics) == (ErrorCode.NONE, [])
    # Before v4 the volume sizes are not on the wire.
    assert (empty.total_bytes, empty.usable_bytes) == (-1, -1)
