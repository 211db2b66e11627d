"""One member's step through a consumer group: subscription, group epoch, target, reconciliation.

The three steps every request of a consumer group member takes, whether it comes as
a ConsumerGroupHeartbeat or, from a classic member, as a JoinGroup (Kafka's
``consumerGroupHeartbeat`` and ``classicGroupJoinToConsumerGroup`` share them):

1. store the member's new subscription; if what the group subscribes to changed (or
   the cluster's topics did), store the new subscription metadata and bump the
   group epoch;
2. if the group epoch is ahead of the target assignment's, run the assignor
   (:mod:`.target`);
3. move the member one step towards its target (:mod:`.reconcile`).

Records are only collected here; the caller writes them once every check of its
request has passed.
"""

from __future__ import annotations

from dataclasses import replace

from odradek.coordinator.group.context import Context
from odradek.coordinator.group.records import CoordinatorRecord

from .group import ConsumerGroup, subscription_metadata
from .member import ConsumerGroupMember, Partitions
from .reconcile import reconcile
from .records import (
    current_assignment_record,
    epoch_record,
    member_subscription_record,
    member_tombstones,
    subscription_metadata_record,
    target_record,
)
from .target import new_target_assignment


def advance(
    ctx: Context,
    group: ConsumerGroup,
    member: ConsumerGroupMember,
    updated: ConsumerGroupMember,
    owned: Partitions | None,
    records: list[CoordinatorRecord],
) -> tuple[ConsumerGroupMember, bool]:
    """``updated`` (``member`` as the request describes it) after its step.

    ``owned`` is what the member reports owning, or None if it did not say. Returns
    the reconciled member and whether the group's subscription metadata was
    recomputed (so the caller can clear the group's refresh flag once written).
    """
    group_id = group.group_id
    subscription_changed = False
    if updated != member:
        records.append(member_subscription_record(group_id, updated))
        subscription_changed = not updated.same_subscription(member)

    # 1. The group epoch moves when what the group subscribes to moves.
    epoch, metadata = group.group_epoch, group.subscription_metadata
    refreshed = subscription_changed or group.metadata_refresh_needed
    if refreshed:
        names, regexes = group.subscriptions_with(member, updated)
        metadata = subscription_metadata(names, regexes, ctx.state.topics)
        bump = subscription_changed
        if metadata != group.subscription_metadata:
            bump = True
            records.append(subscription_metadata_record(group_id, metadata))
        if bump:
            epoch += 1
            records.append(epoch_record(group_id, epoch))

    # 2. A new target assignment for the new epoch.
    if epoch > group.assignment_epoch:
        target, target_records = new_target_assignment(
            group, epoch, member, updated, metadata, ctx.config.consumer_assignors[0]
        )
        records += target_records
        target_epoch = epoch
    else:
        target_epoch = group.assignment_epoch
        target = group.target_of(updated.member_id, updated.instance_id)

    # 3. The member's step towards its target.
    reconciled = updated
    if not updated.is_reconciled_to(target_epoch):
        reconciled = reconcile(updated, target_epoch, target, group.partition_epoch, owned)
        if reconciled != updated:
            records.append(current_assignment_record(group_id, reconciled))
    return reconciled, refreshed


def replace_static_member(
    group: ConsumerGroup,
    existing: ConsumerGroupMember,
    member_id: str,
    records: list[CoordinatorRecord],
) -> ConsumerGroupMember:
    """A static member's instance back under a new member id, with its old partitions.

    The old member id's records are tombstoned and the member is written under the
    new one, at epoch 0, with the old member's target.
    """
    group_id = group.group_id
    member = replace(existing, member_id=member_id, member_epoch=0, previous_member_epoch=0)
    old_target = group.target_assignment.get(existing.member_id, {})
    records += member_tombstones(group_id, existing.member_id)
    records.append(member_subscription_record(group_id, member))
    records.append(target_record(group_id, member_id, old_target))
    records.append(current_assignment_record(group_id, member))
    return member
