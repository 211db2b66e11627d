"""CreateTopics and DeleteTopics: records, responses, Kafka's error codes and messages."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from odradek.controller.settings import ControllerSettings
from odradek.controller.topics import create_topics, delete_topics
from odradek.metadata.configs import ConfigResource
from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import PartitionRegistration
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.create_topics_response import (
    CreatableTopicConfigs,
    CreatableTopicResult,
)
from odradek.protocol.messages.clients.delete_topics_request import (
    DeleteTopicsRequest,
    DeleteTopicState,
)
from odradek.protocol.messages.metadata.config_record import ConfigRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord
from odradek.protocol.messages.metadata.remove_topic_record import RemoveTopicRecord
from odradek.protocol.messages.metadata.topic_record import TopicRecord
from odradek.protocol.primitives import ZERO_UUID
from tests.controller.support import (
    SCHEMA,
    SETTINGS,
    Ids,
    applied,
    cluster,
    create,
    dir_of,
    messages,
    rng,
)

ID1 = uuid.UUID(int=1)


def topic(name: str, partitions: int = 1, rf: int = 1, **fields: Any) -> CreatableTopic:
    return CreatableTopic(name=name, num_partitions=partitions, replication_factor=rf, **fields)


def run(
    image: MetadataImage,
    *topics: CreatableTopic,
    validate_only: bool = False,
    settings: ControllerSettings = SETTINGS,
    ids: Ids | None = None,
    **kwargs: Any,
) -> Any:
    request = CreateTopicsRequest(topics=list(topics), validate_only=validate_only)
    return create_topics(
        image,
        request,
        settings=settings,
        schema=SCHEMA,
        id_source=ids or Ids(),
        rng=rng(),
        **kwargs,
    )


def errors(result: Any) -> dict[str, tuple[int, str | None]]:
    return {t.name: (t.error_code, t.error_message) for t in result.response.topics}


def test_a_topic_is_its_topic_record_configs_and_partitions() -> None:
    image = cluster([1])
    result = run(
        image,
        topic("foo", 2, configs=[CreatableTopicConfig(name="retention.ms", value="5")]),
    )
    assert result.atomic
    assert messages(result) == [
        TopicRecord(name="foo", topic_id=ID1),
        ConfigRecord(resource_type=2, resource_name="foo", name="retention.ms", value="5"),
        *(
            PartitionRecord(
                partition_id=p,
                topic_id=ID1,
                replicas=[1],
                isr=[1],
                leader=1,
                leader_epoch=0,
                partition_epoch=0,
                directories=[dir_of(1)],
            )
            for p in (0, 1)
        ),
    ]
    assert [r.version for r in result.records] == [0, 0, 1, 1]
    assert result.response.topics == [
        CreatableTopicResult(
            name="foo",
            topic_id=ID1,
            error_message=None,
            num_partitions=2,
            replication_factor=1,
            configs=[],
        )
    ]
    after = applied(image, result)
    assert after.configs.configs(ConfigResource.topic("foo")) == {"retention.ms": "5"}


def test_defaults_come_from_the_settings() -> None:
    image = cluster([1, 2, 3])
    settings = msgspec.structs.replace(
        SETTINGS, default_num_partitions=4, default_replication_factor=3
    )
    result = run(image, topic("foo", -1, -1), settings=settings)
    created = result.response.topics[0]
    assert (created.num_partitions, created.replication_factor) == (4, 3)
    foo = applied(image, result).topics.get_by_name("foo")
    assert foo is not None
    assert all(len(p.replicas) == 3 for p in foo.partitions.values())
    # Leaders are spread: every broker leads a partition before any leads two.
    assert len({p.leader for p in list(foo.partitions.values())[:3]}) == 3


def test_only_active_brokers_enter_the_first_isr() -> None:
    image = cluster([1, 2, 3], fenced=[2])
    foo = applied(image, run(image, topic("foo", 3, 3))).topics.get_by_name("foo")
    assert foo is not None
    for p in foo.partitions.values():
        assert set(p.replicas) == {1, 2, 3}
        assert 2 not in p.isr
        assert p.leader == p.isr[0]
        assert p.leader != 2


def test_validate_only_writes_nothing() -> None:
    result = run(cluster([1]), topic("foo", 3), validate_only=True)
    assert result.records == []
    assert result.response.topics[0].error_code == 0
    assert result.response.topics[0].num_partitions == 3
    assert result.response.topics[0].topic_id == ZERO_UUID


@pytest.mark.parametrize(
    ("topic_", "error", "message"),
    [
        (
            topic("a b"),
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            "Topic name is invalid: 'a b' contains one or more characters other than ASCII "
            "alphanumerics, '.', '_' and '-'",
        ),
        (
            topic("x" * 250),
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            f"Topic name is invalid: the length of '{'x' * 250}' is longer than the max "
            "allowed length 249",
        ),
        (
            topic(".."),
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            "Topic name is invalid: '..' is not allowed",
        ),
        (topic("taken"), ErrorCode.TOPIC_ALREADY_EXISTS, "Topic 'taken' already exists."),
        (
            topic("a_b"),
            ErrorCode.INVALID_TOPIC_EXCEPTION,
            "Topic 'a_b' collides with existing topic: a.b",
        ),
        (
            topic("n", 0),
            ErrorCode.INVALID_PARTITIONS,
            "Number of partitions was set to an invalid non-positive value.",
        ),
        (
            topic("n", -2),
            ErrorCode.INVALID_PARTITIONS,
            "Number of partitions was set to an invalid non-positive value.",
        ),
        (
            topic("n", 1, 0),
            ErrorCode.INVALID_REPLICATION_FACTOR,
            "Replication factor must be larger than 0, or -1 to use the default value.",
        ),
        (
            topic("n", 1, 4),
            ErrorCode.INVALID_REPLICATION_FACTOR,
            "Unable to replicate the partition 4 time(s): The target replication factor of 4 "
            "cannot be reached because only 3 broker(s) are registered.",
        ),
        (
            topic("n", configs=[CreatableTopicConfig(name="retention.ms", value=None)]),
            ErrorCode.INVALID_CONFIG,
            "Null value not supported for topic configs: retention.ms",
        ),
        (
            topic("n", configs=[CreatableTopicConfig(name="retention.ms", value="soon")]),
            ErrorCode.INVALID_CONFIG,
            "Invalid value soon for configuration retention.ms: Not a number of type INT",
        ),
        (
            topic("n", configs=[CreatableTopicConfig(name="no.such.key", value="1")]),
            ErrorCode.INVALID_CONFIG,
            "Unknown topic config name: no.such.key",
        ),
        (
            topic("__cluster_metadata"),
            ErrorCode.INVALID_REQUEST,
            "Creation of internal topic __cluster_metadata is prohibited.",
        ),
    ],
)
def test_refused_topics(topic_: CreatableTopic, error: ErrorCode, message: str) -> None:
    image = create(create(cluster([1, 2, 3]), "taken"), "a.b")
    result = run(image, topic_, topic("ok"))
    assert errors(result)[topic_.name] == (error, message)
    assert errors(result)["ok"] == (0, None)
    assert [m.name for m in messages(result) if isinstance(m, TopicRecord)] == ["ok"]


def test_every_broker_fenced() -> None:
    result = run(cluster([1, 2], fenced=[1, 2]), topic("n", 1, 1))
    assert errors(result)["n"] == (
        ErrorCode.INVALID_REPLICATION_FACTOR,
        "Unable to replicate the partition 1 time(s): All brokers are currently fenced.",
    )


def test_duplicate_names_in_one_request() -> None:
    result = run(cluster([1]), topic("d"), topic("d"), topic("e"))
    assert errors(result) == {
        "e": (0, None),
        "d": (ErrorCode.INVALID_REQUEST, "Duplicate topic name."),
    }
    assert len(result.response.topics) == 2


def test_colliding_names_in_one_request() -> None:
    result = run(cluster([1]), topic("a.b"), topic("a_b"))
    assert errors(result)["a.b"] == (0, None)
    assert errors(result)["a_b"][0] == ErrorCode.INVALID_TOPIC_EXCEPTION


def test_manual_assignment() -> None:
    image = cluster([1, 2, 3], fenced=[3])
    assignments = [
        CreatableReplicaAssignment(partition_index=1, broker_ids=[2, 3]),
        CreatableReplicaAssignment(partition_index=0, broker_ids=[3, 1]),
    ]
    result = run(image, topic("m", -1, -1, assignments=assignments))
    assert errors(result) == {"m": (0, None)}
    m = applied(image, result).topics.get_by_name("m")
    assert m is not None
    assert m.partitions[0] == PartitionRegistration(
        replicas=(3, 1),
        directories=(dir_of(3), dir_of(1)),
        isr=(1,),
        leader=1,
        leader_epoch=0,
        partition_epoch=0,
    )
    assert (m.partitions[1].replicas, m.partitions[1].isr) == ((2, 3), (2,))


@pytest.mark.parametrize(
    ("rf", "np", "assignments", "error", "message"),
    [
        (
            2, -1, [[1]], ErrorCode.INVALID_REQUEST,
            "A manual partition assignment was specified, but replication factor was not set "
            "to -1.",
        ),
        (
            -1, 1, [[1]], ErrorCode.INVALID_REQUEST,
            "A manual partition assignment was specified, but numPartitions was not set to -1.",
        ),
        (
            -1, -1, [[]], ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes an empty replica list.",
        ),
        (
            -1, -1, [[1, 9]], ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes broker 9, but no such broker is "
            "registered.",
        ),
        (
            -1, -1, [[1, 1]], ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes the broker 1 more than once.",
        ),
        (
            -1, -1, [[1], [1, 2]], ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes a partition with 2 replica(s), but this "
            "is not consistent with previous partitions, which have 1 replica(s).",
        ),
        (
            -1, -1, [[3]], ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "All brokers specified in the manual partition assignment for partition 0 are "
            "fenced or in controlled shutdown.",
        ),
    ],
)  # fmt: skip
def test_refused_manual_assignments(
    rf: int, np: int, assignments: list[list[int]], error: ErrorCode, message: str
) -> None:
    image = cluster([1, 2, 3], fenced=[3])
    created = topic(
        "m",
        np,
        rf,
        assignments=[
            CreatableReplicaAssignment(partition_index=i, broker_ids=b)
            for i, b in enumerate(assignments)
        ],
    )
    assert errors(run(image, created))["m"] == (error, message)


def test_manual_assignment_indexes() -> None:
    image = cluster([1])

    def indexes(*ids: int) -> CreatableTopic:
        return topic(
            "m",
            -1,
            -1,
            assignments=[
                CreatableReplicaAssignment(partition_index=i, broker_ids=[1]) for i in ids
            ],
        )

    assert errors(run(image, indexes(0, 0)))["m"] == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "Found multiple manual partition assignments for partition 0",
    )
    assert errors(run(image, indexes(0, 2)))["m"] == (
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        "partitions should be a consecutive 0-based integer sequence",
    )


class Entry(msgspec.Struct, frozen=True):
    name: str
    value: str | None
    read_only: bool
    source: int
    sensitive: bool


def test_effective_configs_are_reported() -> None:
    def effective(overrides: Any) -> list[Entry]:
        return [
            Entry("secret", "x", False, 5, True),
            Entry("retention.ms", overrides.get("retention.ms", "604800000"), False, 1, False),
        ]

    result = run(
        cluster([1]),
        topic("c", configs=[CreatableTopicConfig(name="retention.ms", value="9")]),
        effective_configs=effective,
    )
    assert result.response.topics[0].configs == [
        CreatableTopicConfigs(name="retention.ms", value="9", config_source=1),
        CreatableTopicConfigs(name="secret", value=None, config_source=5, is_sensitive=True),
    ]


def test_topic_ids_skip_zero_and_taken_ids() -> None:
    image = create(cluster([1]), "first")  # takes id 1
    ids = Ids()
    ids.next = 0
    result = run(image, topic("second"), ids=ids)
    assert result.response.topics[0].topic_id == uuid.UUID(int=2)


def delete(image: MetadataImage, version: int = 6, **fields: Any) -> Any:
    return delete_topics(image, DeleteTopicsRequest(**fields), version=version, settings=SETTINGS)


def test_delete_by_name_and_by_id() -> None:
    image = create(create(cluster([1]), "a"), "b")
    a = image.topics.get_by_name("a")
    b = image.topics.get_by_name("b")
    assert a is not None
    assert b is not None
    result = delete(
        image, topics=[DeleteTopicState(name="a"), DeleteTopicState(topic_id=b.topic_id)]
    )
    assert sorted(m.topic_id for m in messages(result)) == sorted([a.topic_id, b.topic_id])
    assert all(isinstance(m, RemoveTopicRecord) for m in messages(result))
    assert {(r.name, r.error_code, r.error_message) for r in result.response.responses} == {
        ("a", 0, None),
        ("b", 0, None),
    }
    assert applied(image, result).topics.by_id == {}


def test_delete_by_name_before_v6() -> None:
    image = create(cluster([1]), "a")
    result = delete(image, version=5, topic_names=["a", "missing"])
    assert len(result.records) == 1
    assert {(r.name, r.error_code) for r in result.response.responses} == {
        ("a", 0),
        ("missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    }


def test_delete_problems() -> None:
    image = create(cluster([1]), "a")
    a = image.topics.get_by_name("a")
    assert a is not None
    unknown = uuid.UUID(int=12345)
    result = delete(
        image,
        topics=[
            DeleteTopicState(topic_id=unknown),
            DeleteTopicState(name=None),
            DeleteTopicState(name="x", topic_id=unknown),
            DeleteTopicState(name="dup"),
            DeleteTopicState(name="dup"),
            DeleteTopicState(topic_id=a.topic_id),
            DeleteTopicState(name="a"),
        ],
    )
    assert result.records == []
    found = {(r.name, r.topic_id, r.error_code, r.error_message) for r in result.response.responses}
    assert found == {
        (None, unknown, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.UNKNOWN_TOPIC_ID.message),
        (None, ZERO_UUID, ErrorCode.INVALID_REQUEST, "Neither topic name nor id were specified."),
        (
            "x",
            unknown,
            ErrorCode.INVALID_REQUEST,
            "You may not specify both topic name and topic id.",
        ),
        ("dup", ZERO_UUID, ErrorCode.INVALID_REQUEST, "Duplicate topic name."),
        (
            "a",
            a.topic_id,
            ErrorCode.INVALID_REQUEST,
            "The provided topic name maps to an ID that was already supplied.",
        ),
    }


def test_deletion_disabled() -> None:
    image = create(cluster([1]), "a")
    settings = msgspec.structs.replace(SETTINGS, delete_topic_enable=False)
    for version, error in [(2, ErrorCode.INVALID_REQUEST), (6, ErrorCode.TOPIC_DELETION_DISABLED)]:
        result = delete_topics(
            image,
            DeleteTopicsRequest(topic_names=["a"]),
            version=version,
            settings=settings,
        )
        assert result.records == []
        assert [r.error_code for r in result.response.responses] == [error]


def test_excessively_large_requests_fail_whole() -> None:
    image = cluster([1])
    for validate_only in (False, True):
        result = run(image, topic("ok"), topic("huge", 2**31 - 1), validate_only=validate_only)
        assert result.records == []
        assert errors(result) == {
            "ok": (
                ErrorCode.POLICY_VIOLATION,
                "Unable to perform excessively large batch operation.",
            ),
            "huge": (
                ErrorCode.POLICY_VIOLATION,
                "Unable to perform excessively large batch operation.",
            ),
        }
    many = run(image, *(topic(f"t{i}", 1000) for i in range(11)))
    assert many.records == []
    assert {code for code, _ in errors(many).values()} == {ErrorCode.POLICY_VIOLATION}
