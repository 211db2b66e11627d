"""PartitionRecord and PartitionChangeRecord: Kafka's merge rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odradek.metadata import directories
from odradek.metadata.partition import (
    RECOVERED,
    RECOVERING,
    InvalidPartitionRecordError,
    PartitionRegistration,
)
from odradek.metadata.versions import MetadataVersion
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord

TOPIC = uuid.UUID(int=99)
D1, D2, D3 = (uuid.UUID(int=1000 + i) for i in range(3))


def partition() -> PartitionRegistration:
    return PartitionRegistration.from_record(
        PartitionRecord(
            partition_id=0,
            topic_id=TOPIC,
            replicas=[1, 2, 3],
            isr=[1, 2, 3],
            leader=1,
            leader_epoch=4,
            partition_epoch=9,
            directories=[D1, D2, D3],
        )
    )


def change(**fields: object) -> PartitionChangeRecord:
    return PartitionChangeRecord(partition_id=0, topic_id=TOPIC, **fields)  # type: ignore[arg-type]


def test_from_record() -> None:
    p = partition()
    assert p.replicas == (1, 2, 3)
    assert p.directories == (D1, D2, D3)
    assert p.leader == 1
    assert (p.leader_epoch, p.partition_epoch) == (4, 9)
    assert p.leader_recovery_state == RECOVERED
    assert p.preferred_replica == 1
    assert p.directory(2) == D2


def test_a_record_without_directories_means_migrating() -> None:
    p = PartitionRegistration.from_record(
        PartitionRecord(topic_id=TOPIC, partition_id=0, replicas=[1, 2], isr=[1], leader=1)
    )
    assert p.directories == (directories.MIGRATING, directories.MIGRATING)


def test_directories_must_match_replicas() -> None:
    with pytest.raises(InvalidPartitionRecordError):
        PartitionRegistration.from_record(
            PartitionRecord(topic_id=TOPIC, replicas=[1, 2], isr=[1], leader=1, directories=[D1])
        )


def test_an_isr_change_keeps_the_leader_epoch() -> None:
    p = partition().merge(change(isr=[1, 2]))
    assert p.isr == (1, 2)
    assert p.leader == 1
    assert p.leader_epoch == 4
    assert p.partition_epoch == 10


def test_an_empty_change_still_bumps_the_partition_epoch() -> None:
    p = partition().merge(change())
    assert p == PartitionRegistration(**{**_fields(partition()), "partition_epoch": 10})


def test_a_new_leader_bumps_the_leader_epoch() -> None:
    p = partition().merge(change(leader=2))
    assert (p.leader, p.leader_epoch, p.partition_epoch) == (2, 5, 10)


def test_the_same_leader_again_still_bumps_the_leader_epoch() -> None:
    p = partition().merge(change(leader=1))
    assert (p.leader, p.leader_epoch) == (1, 5)


def test_no_leader() -> None:
    p = partition().merge(change(leader=-1))
    assert not p.has_leader
    assert p.leader_epoch == 5


def test_recovery_state_minus_one_means_unchanged() -> None:
    p = partition().merge(change(leader=2, isr=[2], leader_recovery_state=RECOVERING))
    assert p.leader_recovery_state == RECOVERING
    assert p.merge(change()).leader_recovery_state == RECOVERING
    assert p.merge(change(leader_recovery_state=RECOVERED)).leader_recovery_state == RECOVERED


def test_invalid_recovery_state() -> None:
    with pytest.raises(InvalidPartitionRecordError):
        partition().merge(change(leader_recovery_state=5))


def test_replicas_and_directories_change_together() -> None:
    p = partition().merge(change(replicas=[3, 4], directories=[D3, D1], isr=[3]))
    assert p.replicas == (3, 4)
    assert p.directories == (D3, D1)
    with pytest.raises(InvalidPartitionRecordError):
        partition().merge(change(replicas=[3, 4]))
    with pytest.raises(InvalidPartitionRecordError):
        partition().merge(change(replicas=[3, 4], directories=[D1]))


def test_reassignment_lists() -> None:
    p = partition().merge(change(adding_replicas=[4], removing_replicas=[1]))
    assert p.adding_replicas == (4,)
    assert p.removing_replicas == (1,)
    assert p.is_reassigning
    assert not p.merge(change(adding_replicas=[], removing_replicas=[])).is_reassigning


@pytest.mark.parametrize(("level", "version"), [(8, 0), (17, 1), (21, 1), (23, 2)])
def test_to_record_version_follows_metadata_version(level: int, version: int) -> None:
    record = partition().to_record(TOPIC, 0, MetadataVersion(level))
    assert record.version == version
    assert record.message.directories == ([D1, D2, D3] if level >= 17 else [])
    assert PartitionRegistration.from_record(record.message).isr == (1, 2, 3)


def _fields(p: PartitionRegistration) -> dict[str, Any]:
    return {f: getattr(p, f) for f in p.__struct_fields__}
