"""AlterPartition: ISR changes proposed by leaders, and the epoch checks that guard them."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.controller.alter_partition import alter_partition
from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import RECOVERING
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.alter_partition_request import (
    AlterPartitionRequest,
    BrokerState,
    PartitionData,
    TopicData,
)
from odradek.protocol.messages.clients.alter_partition_response import (
    PartitionData as PartitionResult,
)
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from tests.controller.support import SETTINGS, applied, cluster, create, messages, replay


@pytest.fixture
def image() -> MetadataImage:
    return create(cluster([1, 2, 3]), "t", partitions=1, replication_factor=3, seed=5)


def leader_of(image: MetadataImage) -> int:
    t = image.topics.get_by_name("t")
    assert t is not None
    return t.partitions[0].leader


def propose(
    image: MetadataImage,
    isr: list[int],
    *,
    version: int = 3,
    broker_id: int | None = None,
    by_name: bool = False,
    **fields: Any,
) -> Any:
    t = image.topics.get_by_name("t")
    assert t is not None
    p = t.partitions[0]
    sender = p.leader if broker_id is None else broker_id
    data: dict[str, Any] = {
        "partition_index": 0,
        "leader_epoch": p.leader_epoch,
        "partition_epoch": p.partition_epoch,
    }
    if version >= 3:
        data["new_isr_with_epochs"] = [
            BrokerState(broker_id=b, broker_epoch=_epoch(image, b)) for b in isr
        ]
    else:
        data["new_isr"] = isr
    data.update(fields)
    topic = TopicData(topic_name="t") if by_name else TopicData(topic_id=t.topic_id)
    topic.partitions = [PartitionData(**data)]
    request = AlterPartitionRequest(
        broker_id=sender,
        broker_epoch=image.cluster.brokers[sender].epoch,
        topics=[topic],
    )
    return alter_partition(image, request, version=version, settings=SETTINGS)


def _epoch(image: MetadataImage, broker_id: int) -> int:
    broker = image.cluster.broker(broker_id)
    return -1 if broker is None else broker.epoch


def outcome(result: Any) -> PartitionResult:
    (topic,) = result.response.topics
    (partition,) = topic.partitions
    return partition


def test_shrink_then_expand(image: MetadataImage) -> None:
    leader = leader_of(image)
    others = [b for b in (1, 2, 3) if b != leader]
    shrink = propose(image, [leader, others[0]])
    t = image.topics.get_by_name("t")
    assert t is not None
    assert messages(shrink) == [
        PartitionChangeRecord(partition_id=0, topic_id=t.topic_id, isr=[leader, others[0]])
    ]
    assert outcome(shrink) == PartitionResult(
        partition_index=0,
        leader_id=leader,
        leader_epoch=0,
        isr=[leader, others[0]],
        partition_epoch=1,
    )
    image = applied(image, shrink)
    expand = propose(image, [leader, others[0], others[1]])
    assert outcome(expand).partition_epoch == 2
    assert applied(image, expand).topics.partition(t.topic_id, 0).isr == (  # type: ignore[union-attr]
        leader,
        others[0],
        others[1],
    )


def test_version_0_names_the_topic(image: MetadataImage) -> None:
    leader = leader_of(image)
    result = propose(image, [leader], version=0, by_name=True)
    assert outcome(result).error_code == 0
    assert outcome(result).isr == [leader]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"leader_epoch": 1}, ErrorCode.NOT_CONTROLLER),
        ({"partition_epoch": 1}, ErrorCode.NOT_CONTROLLER),
        ({"leader_epoch": -1}, ErrorCode.FENCED_LEADER_EPOCH),
        ({"partition_epoch": -1}, ErrorCode.INVALID_UPDATE_VERSION),
        ({"partition_index": 5}, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        ({"leader_recovery_state": RECOVERING}, ErrorCode.INVALID_REQUEST),
    ],
)
def test_stale_or_bad_proposals(
    image: MetadataImage, change: dict[str, Any], error: ErrorCode
) -> None:
    leader = leader_of(image)
    others = [b for b in (1, 2, 3) if b != leader]
    result = propose(image, [leader, *others], **change)
    assert result.records == []
    assert outcome(result).error_code == error


@pytest.mark.parametrize(
    ("isr", "error"),
    [
        ("without-leader", ErrorCode.INVALID_REQUEST),
        ("non-replica", ErrorCode.INVALID_REQUEST),
        ("duplicate", ErrorCode.INVALID_REQUEST),
    ],
)
def test_bad_isrs(image: MetadataImage, isr: str, error: ErrorCode) -> None:
    leader = leader_of(image)
    other = next(b for b in (1, 2, 3) if b != leader)
    proposed = {
        "without-leader": [other],
        "non-replica": [leader, 4],
        "duplicate": [leader, other, other],
    }[isr]
    result = propose(image, proposed, version=2)
    assert outcome(result).error_code == error


def test_only_the_leader_may_propose(image: MetadataImage) -> None:
    follower = next(b for b in (1, 2, 3) if b != leader_of(image))
    result = propose(image, [follower], broker_id=follower)
    assert outcome(result).error_code == ErrorCode.INVALID_REQUEST


def test_ineligible_replicas(image: MetadataImage) -> None:
    leader = leader_of(image)
    other = next(b for b in (1, 2, 3) if b != leader)
    epoch = image.cluster.brokers[other].epoch
    fenced = replay(
        image,
        [
            VersionedRecord(
                BrokerRegistrationChangeRecord(broker_id=other, broker_epoch=epoch, fenced=1), 0
            )
        ],
    )
    # The partition in ``fenced`` still lists ``other``: only the registration changed.
    assert outcome(propose(fenced, [leader, other])).error_code == ErrorCode.INELIGIBLE_REPLICA
    assert outcome(propose(fenced, [leader, other], version=1, by_name=True)).error_code == (
        ErrorCode.OPERATION_NOT_ATTEMPTED
    )
    stale = propose(
        image,
        [leader],
        new_isr_with_epochs=[
            BrokerState(broker_id=leader, broker_epoch=-1),
            BrokerState(broker_id=other, broker_epoch=epoch - 1),
        ],
    )
    assert outcome(stale).error_code == ErrorCode.INELIGIBLE_REPLICA


def test_unknown_topic_and_stale_broker_epoch(image: MetadataImage) -> None:
    leader = leader_of(image)
    request = AlterPartitionRequest(
        broker_id=leader,
        broker_epoch=image.cluster.brokers[leader].epoch,
        topics=[TopicData(topic_name="nope", partitions=[PartitionData(partition_index=0)])],
    )
    v2 = alter_partition(image, request, version=2, settings=SETTINGS)
    assert outcome(v2).error_code == ErrorCode.UNKNOWN_TOPIC_ID
    v1 = alter_partition(image, request, version=1, settings=SETTINGS)
    assert outcome(v1).error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    request.broker_epoch -= 1
    stale = alter_partition(image, request, version=2, settings=SETTINGS)
    assert stale.response.error_code == ErrorCode.STALE_BROKER_EPOCH
    assert stale.response.topics == []
