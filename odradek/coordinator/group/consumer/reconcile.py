"""Reconciliation: moving one member from what it owns towards its target, safely.

Kafka's ``CurrentAssignmentBuilder`` (KIP-848, "Reconciliation of the group"). The
target assignment may move a partition from member A to member B; B must not start
consuming it before A has stopped. So each member advances on its own, one
heartbeat at a time:

1. Partitions the member owns that the target takes away are *pending revocation*.
   While the member still reports owning any of them, it stays at its epoch in
   UNREVOKED_PARTITIONS and is told to give them up.
2. Once it has (or if there was nothing to revoke), it moves to the target's epoch
   and gets the target's partitions -- except those another member still owns
   (its :meth:`~.ConsumerGroup.partition_epoch` is set): those wait, and the member
   is UNRELEASED_PARTITIONS until they are released, then STABLE.

Because a partition is only granted once nobody owns it, no two members ever own the
same partition, whatever the order of their heartbeats.

A member may also come back with the *previous* epoch if the response that moved it
on was lost; the heartbeat accepts that when the partitions it reports are a subset
of what it was assigned.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

from odradek.protocol.errors import ErrorCode, KafkaError

from .member import ConsumerGroupMember, MemberState, Partitions

#: (topic id, partition) -> epoch of the member that owns it, or -1.
PartitionEpoch = Callable[[uuid.UUID, int], int]


def reconcile(
    member: ConsumerGroupMember,
    target_epoch: int,
    target: Partitions,
    partition_epoch: PartitionEpoch,
    owned: Partitions | None,
) -> ConsumerGroupMember:
    """The member after one step towards ``target`` (of ``target_epoch``).

    ``owned`` is what the member reported owning in this heartbeat, or None if it
    did not say (unchanged since its last heartbeat).
    """
    state = member.state
    if state is MemberState.STABLE:
        if member.member_epoch == target_epoch:
            return member
        return _next(member, member.member_epoch, target_epoch, target, partition_epoch, owned)
    if state is MemberState.UNREVOKED_PARTITIONS:
        if _still_owns(owned, member.partitions_pending_revocation):
            return member
        return _next(member, member.member_epoch + 1, target_epoch, target, partition_epoch, owned)
    if state is MemberState.UNRELEASED_PARTITIONS:
        return _next(member, member.member_epoch, target_epoch, target, partition_epoch, owned)
    # A state written by a newer coordinator: start the member over from nothing.
    if owned is None or owned:
        raise KafkaError(
            ErrorCode.FENCED_MEMBER_EPOCH,
            "The consumer group member is in an unknown state. The member must abandon all "
            "its partitions and rejoin.",
        )
    return _next(member, target_epoch, target_epoch, target, partition_epoch, owned)


def _still_owns(owned: Partitions | None, revoking: Partitions) -> bool:
    if owned is None:
        return True  # nothing reported: assume nothing was given up
    return any(owned.get(topic_id, frozenset()) & ids for topic_id, ids in revoking.items())


def _next(
    member: ConsumerGroupMember,
    epoch_if_revoking: int,
    target_epoch: int,
    target: Partitions,
    partition_epoch: PartitionEpoch,
    owned: Partitions | None,
) -> ConsumerGroupMember:
    assigned: dict[uuid.UUID, frozenset[int]] = {}
    revoking: dict[uuid.UUID, frozenset[int]] = {}
    granted: dict[uuid.UUID, frozenset[int]] = {}
    unreleased = False
    current = member.assigned_partitions
    for topic_id in set(target) | set(current):
        wanted = target.get(topic_id, frozenset())
        have = current.get(topic_id, frozenset())
        keep = have & wanted
        give_up = have - keep
        free = {p for p in wanted - keep if partition_epoch(topic_id, p) == -1}
        unreleased = unreleased or len(free) < len(wanted - keep)
        if keep:
            assigned[topic_id] = keep
        if give_up:
            revoking[topic_id] = give_up
        if free:
            granted[topic_id] = frozenset(free)

    if revoking and _still_owns(owned, revoking):
        return replace(
            member.with_epoch(epoch_if_revoking),
            state=MemberState.UNREVOKED_PARTITIONS,
            assigned_partitions=assigned,
            partitions_pending_revocation=revoking,
        )
    for topic_id, ids in granted.items():
        assigned[topic_id] = assigned.get(topic_id, frozenset()) | ids
    return replace(
        member.with_epoch(target_epoch),
        state=MemberState.UNRELEASED_PARTITIONS if unreleased else MemberState.STABLE,
        assigned_partitions=assigned,
        partitions_pending_revocation={},
    )
