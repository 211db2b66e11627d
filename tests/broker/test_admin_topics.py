"""CreateTopics, DeleteTopics and CreatePartitions: forwarded to the real controller and back."""

from __future__ import annotations

from pathlib import Path

import pytest

from odradek.broker.apis import REGISTRY
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.create_partitions_request import (
    CreatePartitionsRequest,
    CreatePartitionsTopic,
)
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.delete_topics_request import (
    DeleteTopicsRequest,
    DeleteTopicState,
)
from odradek.protocol.primitives import ZERO_UUID
from odradek.storage.checkpoints import TopicPartition
from tests.broker.fakes import Node, make_broker

CREATE_TOPICS, DELETE_TOPICS, CREATE_PARTITIONS = 19, 20, 37


@pytest.fixture
def node(tmp_path: Path) -> Node:
    return make_broker(tmp_path)


def test_versions_are_those_of_kafka_4() -> None:
    assert (REGISTRY[CREATE_TOPICS].lowest, REGISTRY[CREATE_TOPICS].highest) == (2, 7)
    assert (REGISTRY[DELETE_TOPICS].lowest, REGISTRY[DELETE_TOPICS].highest) == (1, 6)
    assert (REGISTRY[CREATE_PARTITIONS].lowest, REGISTRY[CREATE_PARTITIONS].highest) == (0, 3)


def test_created_topics_are_hosted_once_their_records_are_replayed(node: Node) -> None:
    request = CreateTopicsRequest(
        topics=[CreatableTopic(name="orders", num_partitions=3, replication_factor=1)]
    )
    (result,) = node.call(CREATE_TOPICS, 7, request).topics
    assert (result.name, result.error_code, result.num_partitions) == ("orders", 0, 3)
    topic = node.broker.image.topics.get_by_name("orders")
    assert topic is not None
    assert result.topic_id == topic.topic_id
    for index in range(3):
        partition = node.broker.replicas.get("orders", index)
        assert partition is not None
        assert partition.is_leader
        assert node.broker.logs.get_log(TopicPartition("orders", index)) is partition.log


def test_each_topic_is_answered_on_its_own(node: Node) -> None:
    node.create_topic("taken")
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(name="fresh", num_partitions=1, replication_factor=1),
            CreatableTopic(name="taken", num_partitions=1, replication_factor=1),
            CreatableTopic(name="twice", num_partitions=1, replication_factor=1),
            CreatableTopic(name="twice", num_partitions=2, replication_factor=1),
            CreatableTopic(name="no/slashes", num_partitions=1, replication_factor=1),
        ]
    )
    results = {t.name: t.error_code for t in node.call(CREATE_TOPICS, 5, request).topics}
    assert results == {
        "fresh": ErrorCode.NONE,
        "taken": ErrorCode.TOPIC_ALREADY_EXISTS,
        "twice": ErrorCode.INVALID_REQUEST,
        "no/slashes": ErrorCode.INVALID_TOPIC_EXCEPTION,
    }


def test_validate_only_creates_nothing(node: Node) -> None:
    request = CreateTopicsRequest(
        topics=[CreatableTopic(name="dry", num_partitions=2, replication_factor=1)],
        validate_only=True,
    )
    (result,) = node.call(CREATE_TOPICS, 7, request).topics
    assert (result.error_code, result.num_partitions, result.topic_id) == (0, 2, ZERO_UUID)
    assert node.broker.image.topics.get_by_name("dry") is None
    assert node.broker.replicas.get("dry", 0) is None


def test_an_unreachable_controller_times_every_topic_out(node: Node) -> None:
    node.controller.unreachable = ErrorCode.REQUEST_TIMED_OUT
    request = CreateTopicsRequest(
        topics=[
            CreatableTopic(name="a", num_partitions=1, replication_factor=1),
            CreatableTopic(name="b", num_partitions=1, replication_factor=1),
        ]
    )
    results = node.call(CREATE_TOPICS, 7, request).topics
    assert [(t.name, t.error_code) for t in results] == [
        ("a", ErrorCode.REQUEST_TIMED_OUT),
        ("b", ErrorCode.REQUEST_TIMED_OUT),
    ]
    assert node.broker.image.topics.get_by_name("a") is None


def test_deleted_topics_leave_the_broker(node: Node) -> None:
    node.create_topic("gone", 2)
    log_dir = node.broker.replicas.get("gone", 0).log.directory  # type: ignore[union-attr]
    (result,) = node.call(DELETE_TOPICS, 5, DeleteTopicsRequest(topic_names=["gone"])).responses
    assert (result.name, result.error_code) == ("gone", ErrorCode.NONE)
    assert node.broker.image.topics.get_by_name("gone") is None
    assert node.broker.replicas.get("gone", 0) is None
    assert node.broker.logs.get_log(TopicPartition("gone", 1)) is None
    assert not log_dir.exists()


def test_topics_are_deleted_by_id_from_v6(node: Node) -> None:
    node.create_topic("by-id")
    topic = node.broker.image.topics.get_by_name("by-id")
    assert topic is not None
    request = DeleteTopicsRequest(topics=[DeleteTopicState(name=None, topic_id=topic.topic_id)])
    (result,) = node.call(DELETE_TOPICS, 6, request).responses
    assert (result.name, result.topic_id, result.error_code) == ("by-id", topic.topic_id, 0)
    assert node.broker.image.topics.get_by_name("by-id") is None


def test_unknown_and_repeated_names_fail(node: Node) -> None:
    node.create_topic("dup")
    request = DeleteTopicsRequest(topic_names=["missing", "dup", "dup"])
    results = {r.name: r.error_code for r in node.call(DELETE_TOPICS, 5, request).responses}
    assert results == {
        "missing": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        "dup": ErrorCode.INVALID_REQUEST,
    }
    assert node.broker.image.topics.get_by_name("dup") is not None


@pytest.mark.parametrize(
    ("version", "code"),
    [(2, ErrorCode.INVALID_REQUEST), (3, ErrorCode.TOPIC_DELETION_DISABLED)],
)
def test_deletion_can_be_disabled(tmp_path: Path, version: int, code: ErrorCode) -> None:
    node = make_broker(tmp_path, delete_topic_enable="false")
    node.create_topic("kept")
    (result,) = node.call(
        DELETE_TOPICS, version, DeleteTopicsRequest(topic_names=["kept"])
    ).responses
    assert (result.name, result.error_code) == ("kept", code)
    assert node.broker.replicas.get("kept", 0) is not None


def test_an_unreachable_controller_fails_deletions_by_name_and_by_id(node: Node) -> None:
    node.controller.unreachable = ErrorCode.REQUEST_TIMED_OUT
    by_name = node.call(DELETE_TOPICS, 5, DeleteTopicsRequest(topic_names=["x"])).responses
    assert [(r.name, r.error_code, r.error_message) for r in by_name] == [
        ("x", ErrorCode.REQUEST_TIMED_OUT, None)
    ]
    some_id = node.broker.image.cluster.brokers[1].incarnation_id
    request = DeleteTopicsRequest(topics=[DeleteTopicState(name=None, topic_id=some_id)])
    by_id = node.call(DELETE_TOPICS, 6, request).responses
    assert [(r.topic_id, r.error_code) for r in by_id] == [(some_id, ErrorCode.REQUEST_TIMED_OUT)]


def test_new_partitions_are_hosted(node: Node) -> None:
    node.create_topic("grow", 1)
    request = CreatePartitionsRequest(
        topics=[CreatePartitionsTopic(name="grow", count=3, assignments=None)], timeout_ms=5000
    )
    (result,) = node.call(CREATE_PARTITIONS, 3, request).results
    assert (result.name, result.error_code) == ("grow", 0)
    assert [node.broker.replicas.get("grow", i) is not None for i in range(3)] == [True] * 3


def test_partitions_only_grow(node: Node) -> None:
    node.create_topic("fixed", 2)
    request = CreatePartitionsRequest(
        topics=[
            CreatePartitionsTopic(name="fixed", count=1, assignments=None),
            CreatePartitionsTopic(name="nowhere", count=4, assignments=None),
        ]
    )
    results = {r.name: r.error_code for r in node.call(CREATE_PARTITIONS, 0, request).results}
    assert results == {
        "fixed": ErrorCode.INVALID_PARTITIONS,
        "nowhere": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }


def test_an_unreachable_controller_fails_every_topic_to_grow(node: Node) -> None:
    node.controller.unreachable = ErrorCode.REQUEST_TIMED_OUT
    request = CreatePartitionsRequest(
        topics=[CreatePartitionsTopic(name="t", count=4, assignments=None)]
    )
    (result,) = node.call(CREATE_PARTITIONS, 2, request).results
    assert (result.name, result.error_code) == ("t", ErrorCode.REQUEST_TIMED_OUT)
