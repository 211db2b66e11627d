"""CreatePartitions: growing a topic."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.controller.partitions import create_partitions
from odradek.metadata.image import MetadataImage
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.create_partitions_request import (
    CreatePartitionsAssignment,
    CreatePartitionsRequest,
    CreatePartitionsTopic,
)
from odradek.protocol.messages.metadata.partition_record import PartitionRecord
from tests.controller.support import applied, cluster, create, messages, rng


@pytest.fixture
def image() -> MetadataImage:
    return create(cluster([1, 2, 3]), "t", partitions=2, replication_factor=2)


def grow(image: MetadataImage, *topics: CreatePartitionsTopic, validate_only: bool = False) -> Any:
    request = CreatePartitionsRequest(topics=list(topics), validate_only=validate_only)
    return create_partitions(image, request, rng=rng())


def outcomes(result: Any) -> dict[str, tuple[int, str | None]]:
    return {r.name: (r.error_code, r.error_message) for r in result.response.results}


def test_grow_with_placement(image: MetadataImage) -> None:
    result = grow(image, CreatePartitionsTopic(name="t", count=5, assignments=None))
    assert outcomes(result) == {"t": (0, None)}
    assert [m.partition_id for m in messages(result)] == [2, 3, 4]
    assert all(isinstance(m, PartitionRecord) and len(m.replicas) == 2 for m in messages(result))
    t = applied(image, result).topics.get_by_name("t")
    assert t is not None
    assert sorted(t.partitions) == [0, 1, 2, 3, 4]


def test_grow_with_assignments(image: MetadataImage) -> None:
    result = grow(
        image,
        CreatePartitionsTopic(
            name="t", count=3, assignments=[CreatePartitionsAssignment(broker_ids=[3, 1])]
        ),
    )
    (record,) = messages(result)
    assert (record.partition_id, record.replicas, record.isr, record.leader) == (
        2,
        [3, 1],
        [3, 1],
        3,
    )


def test_validate_only(image: MetadataImage) -> None:
    result = grow(
        image, CreatePartitionsTopic(name="t", count=5, assignments=None), validate_only=True
    )
    assert result.records == []
    assert outcomes(result) == {"t": (0, None)}


@pytest.mark.parametrize(
    ("topic", "error", "message"),
    [
        (CreatePartitionsTopic(name="x", count=3), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, None),
        (
            CreatePartitionsTopic(name="t", count=2),
            ErrorCode.INVALID_PARTITIONS,
            "Topic already has 2 partition(s).",
        ),
        (
            CreatePartitionsTopic(name="t", count=1),
            ErrorCode.INVALID_PARTITIONS,
            "The topic t currently has 2 partition(s); 1 would not be an increase.",
        ),
        (
            CreatePartitionsTopic(
                name="t", count=4, assignments=[CreatePartitionsAssignment(broker_ids=[1, 2])]
            ),
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.",
        ),
        (
            CreatePartitionsTopic(
                name="t", count=3, assignments=[CreatePartitionsAssignment(broker_ids=[1])]
            ),
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            "The manual partition assignment includes a partition with 1 replica(s), but this "
            "is not consistent with previous partitions, which have 2 replica(s).",
        ),
    ],
)
def test_refused(
    image: MetadataImage, topic: CreatePartitionsTopic, error: int, message: str | None
) -> None:
    result = grow(image, topic, CreatePartitionsTopic(name="t2", count=1))
    assert outcomes(result)[topic.name] == (error, message)
    assert result.records == []


def test_duplicates(image: MetadataImage) -> None:
    result = grow(
        image, CreatePartitionsTopic(name="t", count=3), CreatePartitionsTopic(name="t", count=4)
    )
    assert result.records == []
    assert [(r.name, r.error_code, r.error_message) for r in result.response.results] == [
        ("t", ErrorCode.INVALID_REQUEST, "Duplicate topic name.")
    ]


def test_excessively_large_growth(image: MetadataImage) -> None:
    result = grow(image, CreatePartitionsTopic(name="t", count=2**31 - 1, assignments=None))
    assert result.records == []
    assert outcomes(result) == {
        "t": (ErrorCode.POLICY_VIOLATION, "Unable to perform excessively large batch operation.")
    }
