"""DescribeCluster and DescribeTopicPartitions: the cluster as seen from one listener."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from odradek.broker.cluster_view import AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_OPERATIONS
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.describe_topic_partitions_request import (
    Cursor,
    DescribeTopicPartitionsRequest,
    TopicRequest,
)
from odradek.protocol.primitives import ZERO_UUID
from tests.broker.fakes import Node, make_broker

DESCRIBE_CLUSTER, DESCRIBE_TOPIC_PARTITIONS = 60, 75
DESCRIBE, READ = 8, 3


@pytest.fixture
def node(tmp_path: Path) -> Node:
    """Broker 1 (PLAINTEXT only), broker 2 (PLAINTEXT and EXTERNAL), broker 3 fenced."""
    node = make_broker(tmp_path)
    node.controller.register(
        2, {"PLAINTEXT": ("b2", 9092), "EXTERNAL": ("b2.example.com", 19092)}, rack="az-2"
    )
    node.controller.register(3, {"PLAINTEXT": ("b3", 9092)}, fenced=True)
    return node


# -- DescribeCluster --------------------------------------------------------------------


def test_clients_see_the_live_brokers_of_their_listener(node: Node) -> None:
    response = node.call(DESCRIBE_CLUSTER, 1, DescribeClusterRequest())
    assert response.error_code == ErrorCode.NONE
    assert [(b.broker_id, b.host, b.port, b.rack) for b in response.brokers] == [
        (1, "localhost", 9092, None),
        (2, "b2", 9092, "az-2"),
    ]
    assert response.controller_id in (1, 2)
    assert response.cluster_id == node.broker.cluster_id
    assert response.endpoint_type == 1
    assert response.cluster_authorized_operations == AUTHORIZED_OPERATIONS_OMITTED
    external = node.call(DESCRIBE_CLUSTER, 0, DescribeClusterRequest(), listener="EXTERNAL")
    assert [(b.broker_id, b.host, b.port) for b in external.brokers] == [
        (2, "b2.example.com", 19092)
    ]
    assert external.controller_id == 2


def test_no_reachable_broker_means_no_controller(node: Node) -> None:
    response = node.call(DESCRIBE_CLUSTER, 1, DescribeClusterRequest(), listener="INTERNAL")
    assert (response.brokers, response.controller_id) == ([], -1)


def test_authorized_operations_when_asked(node: Node) -> None:
    request = DescribeClusterRequest(include_cluster_authorized_operations=True)
    operations = node.call(DESCRIBE_CLUSTER, 1, request).cluster_authorized_operations
    assert operations == CLUSTER_OPERATIONS
    assert operations & (1 << DESCRIBE)
    assert not operations & (1 << READ)


@pytest.mark.parametrize(
    ("version", "endpoint_type", "code"),
    [
        (1, 2, ErrorCode.MISMATCHED_ENDPOINT_TYPE),
        (1, 0, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE),
        (1, 7, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE),
    ],
)
def test_brokers_only_describe_brokers(
    node: Node, version: int, endpoint_type: int, code: ErrorCode
) -> None:
    request = DescribeClusterRequest(endpoint_type=endpoint_type)
    response = node.call(DESCRIBE_CLUSTER, version, request)
    assert (response.error_code, response.brokers) == (code, [])
    assert response.error_message


# -- DescribeTopicPartitions ------------------------------------------------------------


def describe(
    node: Node,
    *topics: str,
    limit: int = 2000,
    cursor: tuple[str, int] | None = None,
    listener: str = "PLAINTEXT",
) -> Any:
    request = DescribeTopicPartitionsRequest(
        topics=[TopicRequest(name=t) for t in topics],
        response_partition_limit=limit,
        cursor=None if cursor is None else Cursor(topic_name=cursor[0], partition_index=cursor[1]),
    )
    return node.call(DESCRIBE_TOPIC_PARTITIONS, 0, request, listener=listener)


def pages(response: Any) -> list[tuple[str, list[int]]]:
    return [(t.name, [p.partition_index for p in t.partitions]) for t in response.topics]


def cursor_of(response: Any) -> tuple[str, int] | None:
    c = response.next_cursor
    return None if c is None else (c.topic_name, c.partition_index)


@pytest.fixture
def topics(node: Node) -> Node:
    node.create_topic("a", replicas=[[1], [1], [1]])
    node.create_topic("b", replicas=[[1], [1]])
    node.create_topic("c", replicas=[[1]])
    return node


def test_every_topic_page_by_page(topics: Node) -> None:
    first = describe(topics, limit=4)
    assert pages(first) == [("a", [0, 1, 2]), ("b", [0])]
    assert cursor_of(first) == ("b", 1)
    second = describe(topics, limit=4, cursor=("b", 1))
    assert pages(second) == [("b", [1]), ("c", [0])]
    assert cursor_of(second) is None


def test_a_limit_used_up_exactly_points_at_the_next_topic(topics: Node) -> None:
    response = describe(topics, "a", "b", limit=3)
    assert pages(response) == [("a", [0, 1, 2])]
    assert cursor_of(response) == ("b", 0)


def test_the_broker_limit_caps_the_request(tmp_path: Path) -> None:
    node = make_broker(tmp_path, max_request_partition_size_limit="2")
    node.create_topic("a", 3)
    response = describe(node)
    assert pages(response) == [("a", [0, 1])]
    assert cursor_of(response) == ("a", 2)
    assert pages(describe(node, limit=0)) == [("a", [0])]


def test_partition_details(topics: Node) -> None:
    (topic,) = describe(topics, "b").topics
    assert topic.error_code == ErrorCode.NONE
    assert topic.topic_id == topics.broker.image.topics.get_by_name("b").topic_id  # type: ignore[union-attr]
    assert topic.is_internal is False
    assert topic.topic_authorized_operations & (1 << READ)
    partition = topic.partitions[0]
    assert (partition.leader_id, partition.leader_epoch) == (1, 0)
    assert (partition.replica_nodes, partition.isr_nodes, partition.offline_replicas) == (
        [1],
        [1],
        [],
    )
    assert (partition.eligible_leader_replicas, partition.last_known_elr) == ([], [])


def test_replicas_a_listener_cannot_reach_are_offline(node: Node) -> None:
    node.create_topic("spread", replicas=[[2, 1, 3]])
    (plain,) = describe(node, "spread").topics
    assert (plain.partitions[0].leader_id, plain.partitions[0].offline_replicas) == (2, [3])
    (external,) = describe(node, "spread", listener="EXTERNAL").topics
    assert (external.partitions[0].leader_id, external.partitions[0].offline_replicas) == (
        2,
        [1, 3],
    )
    node.create_topic("here", replicas=[[1]])
    (unreachable,) = describe(node, "here", listener="EXTERNAL").topics
    assert (unreachable.error_code, unreachable.partitions[0].leader_id) == (0, -1)


def test_missing_topics_cost_nothing_and_are_skipped_when_listing_all(topics: Node) -> None:
    topic_a = topics.broker.image.topics.get_by_name("a")
    assert topic_a is not None
    response = describe(topics, "zzz", "a", "bad name", limit=4)
    assert [(t.name, t.error_code, t.topic_id) for t in response.topics] == [
        ("a", ErrorCode.NONE, topic_a.topic_id),
        ("bad name", ErrorCode.INVALID_TOPIC_EXCEPTION, ZERO_UUID),
        ("zzz", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ZERO_UUID),
    ]
    assert cursor_of(response) is None
    # With the limit used up, the cursor names the next topic, existing or not (as in Kafka).
    assert cursor_of(describe(topics, "zzz", "a", "bad name", limit=3)) == ("bad name", 0)
    assert [name for name, _ in pages(describe(topics))] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("names", "cursor"), [(("a", "b"), ("c", 0)), (("a",), ("a", -1)), ((), ("a", -1))]
)
def test_a_bad_cursor_fails_the_request(
    topics: Node, names: tuple[str, ...], cursor: tuple[str, int]
) -> None:
    response = describe(topics, *names, cursor=cursor)
    assert [(t.name, t.error_code) for t in response.topics] == [
        (name, ErrorCode.INVALID_REQUEST) for name in names
    ]
    assert response.next_cursor is None
