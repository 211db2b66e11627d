"""PartitionChangeRecord building: elections, ISR rules, epochs, reassignment completion."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from odradek.controller.partition_change import Election, partition_change
from odradek.metadata import directories
from odradek.metadata.partition import RECOVERING, PartitionRegistration
from odradek.metadata.versions import MetadataVersion
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord

TOPIC = uuid.UUID(int=7)
MV = MetadataVersion(21)
OLD_MV = MetadataVersion(8)
D = {b: uuid.UUID(int=500 + b) for b in range(1, 6)}


def part(
    replicas: tuple[int, ...] = (1, 2, 3),
    isr: tuple[int, ...] = (1, 2, 3),
    leader: int = 1,
    **kw: Any,
) -> PartitionRegistration:
    return PartitionRegistration(
        replicas=replicas,
        directories=tuple(D[r] for r in replicas),
        isr=isr,
        leader=leader,
        leader_epoch=10,
        partition_epoch=20,
        **kw,
    )


def alive(*brokers: int) -> Callable[[int], bool]:
    return lambda b: b in brokers


ALL_ALIVE = alive(1, 2, 3, 4, 5)


def build(
    p: PartitionRegistration, acceptable: Callable[[int], bool] = ALL_ALIVE, **kw: Any
) -> PartitionChangeRecord | None:
    kw.setdefault("metadata_version", MV)
    record = partition_change(
        p, TOPIC, 0, is_acceptable_leader=acceptable, default_dir=lambda b: D[b], **kw
    )
    return None if record is None else record.message


def expect(**fields: Any) -> PartitionChangeRecord:
    return PartitionChangeRecord(partition_id=0, topic_id=TOPIC, **fields)


def test_no_change_no_record() -> None:
    assert build(part()) is None
    assert build(part(), target_isr=[1, 2, 3]) is None


def test_isr_shrink_keeps_the_leader() -> None:
    assert build(part(), target_isr=[1, 3]) == expect(isr=[1, 3])


def test_isr_shrink_bumped_the_leader_epoch_before_3_6() -> None:
    assert build(part(), target_isr=[1, 3], metadata_version=OLD_MV) == expect(isr=[1, 3], leader=1)


def test_isr_expansion() -> None:
    assert build(part(isr=(1,)), target_isr=[1, 2]) == expect(isr=[1, 2])


def test_leader_leaves_isr_next_in_replica_order_leads() -> None:
    assert build(part(), target_isr=[3, 2]) == expect(isr=[3, 2], leader=2)


def test_unacceptable_leader_is_replaced() -> None:
    assert build(part(), alive(2, 3)) == expect(leader=2)


def test_no_acceptable_isr_member_means_no_leader() -> None:
    assert build(part(isr=(1, 2)), alive(3)) == expect(leader=-1)


def test_the_isr_is_never_emptied() -> None:
    # The last member stays in the ISR: it is the replica most likely to have everything.
    assert build(part(isr=(1,)), alive(2, 3), target_isr=[]) == expect(leader=-1)


def test_unclean_election_takes_any_live_replica() -> None:
    record = build(part(isr=(1,)), alive(3), target_isr=[], election=Election.UNCLEAN)
    assert record == expect(leader=3, isr=[3], leader_recovery_state=RECOVERING)


def test_unclean_election_prefers_the_isr() -> None:
    assert build(part(isr=(1, 2)), alive(2, 3), election=Election.UNCLEAN) == expect(leader=2)


def test_unclean_election_of_a_recovering_leader_keeps_the_state() -> None:
    p = part(isr=(1,), leader_recovery_state=RECOVERING)
    assert build(p, alive(3), election=Election.UNCLEAN) == expect(leader=3, isr=[3])


def test_preferred_election() -> None:
    p = part(leader=2)
    assert build(p, election=Election.PREFERRED) == expect(leader=1)
    assert build(p) is None
    assert build(p, alive(2, 3), election=Election.PREFERRED) is None


def test_replicas_leaving_bump_the_leader_epoch() -> None:
    record = build(part(), target_replicas=[1, 2], target_isr=[1, 2])
    assert record == expect(leader=1, isr=[1, 2], replicas=[1, 2], directories=[D[1], D[2]])


def test_new_replicas_get_the_default_directory() -> None:
    record = build(part(), target_replicas=[1, 2, 3, 4])
    assert record == expect(replicas=[1, 2, 3, 4], directories=[D[1], D[2], D[3], D[4]])


def test_no_directories_before_3_7() -> None:
    p = part()
    record = build(
        PartitionRegistration(**{**_fields(p), "directories": (directories.MIGRATING,) * 3}),
        target_replicas=[1, 2, 3, 4],
        metadata_version=OLD_MV,
    )
    assert record == expect(replicas=[1, 2, 3, 4])


def test_reassignment_completes_when_the_new_replicas_are_in_sync() -> None:
    moving = part(
        replicas=(4, 5, 1, 2, 3), isr=(1, 2, 3), removing_replicas=(1, 2, 3), adding_replicas=(4, 5)
    )
    assert build(moving, target_isr=[1, 2, 3, 4]) == expect(isr=[1, 2, 3, 4])
    done = build(moving, target_isr=[1, 2, 3, 4, 5])
    assert done == expect(
        leader=4,
        isr=[4, 5],
        replicas=[4, 5],
        removing_replicas=[],
        adding_replicas=[],
        directories=[D[4], D[5]],
    )


def test_target_recovery_state() -> None:
    p = part(isr=(1,), leader_recovery_state=RECOVERING)
    assert build(p, target_isr=[1, 2], target_leader_recovery_state=0) == expect(
        isr=[1, 2], leader_recovery_state=0
    )


def _fields(p: PartitionRegistration) -> dict[str, Any]:
    return {f: getattr(p, f) for f in p.__struct_fields__}
