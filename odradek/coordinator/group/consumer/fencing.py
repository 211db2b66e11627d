"""Removing consumer group members: on leaving, on silence, on not letting go.

Kafka's ``consumerGroupFenceMember`` and the consumer group timers of
``GroupMetadataManager``. A member is *fenced* -- removed, its partitions released,
the group epoch bumped so that the rest rebalance -- when it leaves (epoch -1), when
it has not heartbeated within its session timeout (``group.consumer.session.
timeout.ms``, or the session timeout a classic member joined with), or when it was
asked to revoke partitions and is still at the same epoch after its rebalance
timeout. A classic member is also fenced when it does not rejoin within its
rebalance timeout after being told to, or does not send SyncGroup within it after
joining. Removing a member writes tombstones for its current assignment, target and
subscription (in that order), the subscription metadata if what the group
subscribes to shrank, and the new group epoch.

When the member fenced is the last one speaking the consumer protocol and classic
members remain, the group becomes a classic group instead (:mod:`.migration`).

Timer keys: ``("consumer-session", group, member)``, ``("consumer-revocation",
group, member)``, ``("consumer-join", group, member)`` and ``("consumer-sync",
group, member)``.
"""

from __future__ import annotations

from odradek.coordinator.group.context import Context

from . import migration
from .group import ConsumerGroup, subscription_metadata
from .member import ConsumerGroupMember
from .records import epoch_record, member_tombstones, subscription_metadata_record


def session_key(group_id: str, member_id: str) -> tuple[str, str, str]:
    return ("consumer-session", group_id, member_id)


def revocation_key(group_id: str, member_id: str) -> tuple[str, str, str]:
    return ("consumer-revocation", group_id, member_id)


def join_key(group_id: str, member_id: str) -> tuple[str, str, str]:
    return ("consumer-join", group_id, member_id)


def sync_key(group_id: str, member_id: str) -> tuple[str, str, str]:
    return ("consumer-sync", group_id, member_id)


def cancel_member_timers(ctx: Context, group_id: str, member_id: str) -> None:
    for key in (session_key, revocation_key, join_key, sync_key):
        ctx.cancel(key(group_id, member_id))


def fence_member(ctx: Context, group: ConsumerGroup, member: ConsumerGroupMember) -> None:
    """Remove a member: release its partitions, recompute the subscriptions, bump the epoch."""
    group_id = group.group_id
    if migration.can_downgrade_without(ctx, group, member.member_id):
        for member_id in group.members:
            cancel_member_timers(ctx, group_id, member_id)
        migration.downgrade(ctx, group, member.member_id)
        return
    records = member_tombstones(group_id, member.member_id)
    names, regexes = group.subscriptions_with(member, None)
    metadata = subscription_metadata(names, regexes, ctx.state.topics)
    if metadata != group.subscription_metadata:
        records.append(subscription_metadata_record(group_id, metadata))
    records.append(epoch_record(group_id, group.group_epoch + 1))
    for record in records:
        ctx.write(record)
    cancel_member_timers(ctx, group_id, member.member_id)


def _fence_if_present(ctx: Context, group_id: str, member_id: str, epoch: int | None) -> None:
    group = ctx.state.consumer_group(group_id)
    if group is None:
        return
    member = group.members.get(member_id)
    if member is None or (epoch is not None and member.member_epoch != epoch):
        return
    fence_member(ctx, group, member)


def schedule_session_timeout(ctx: Context, group_id: str, member: ConsumerGroupMember) -> None:
    """(Re)start the member's session: its classic session timeout, or the group's."""
    member_id = member.member_id
    timeout_ms = (
        ctx.config.consumer_session_timeout_ms
        if member.classic is None
        else member.classic.session_timeout_ms
    )
    ctx.schedule(
        session_key(group_id, member_id),
        timeout_ms,
        lambda c: _fence_if_present(c, group_id, member_id, None),
    )


def schedule_revocation_timeout(ctx: Context, group_id: str, member: ConsumerGroupMember) -> None:
    """Fence the member if it is still at this epoch when its rebalance timeout runs out."""
    member_id, epoch = member.member_id, member.member_epoch
    ctx.schedule(
        revocation_key(group_id, member_id),
        member.rebalance_timeout_ms,
        lambda c: _fence_if_present(c, group_id, member_id, epoch),
    )


def schedule_join_timeout_if_absent(
    ctx: Context, group_id: str, member: ConsumerGroupMember
) -> None:
    """A classic member told to rejoin must do so within its rebalance timeout."""
    key = join_key(group_id, member.member_id)
    if key in ctx.state.timer:
        return
    member_id = member.member_id
    ctx.schedule(
        key, member.rebalance_timeout_ms, lambda c: _fence_if_present(c, group_id, member_id, None)
    )


def schedule_sync_timeout(ctx: Context, group_id: str, member_id: str, timeout_ms: int) -> None:
    """A classic member that joined must send SyncGroup within its rebalance timeout."""
    ctx.schedule(
        sync_key(group_id, member_id),
        timeout_ms,
        lambda c: _fence_if_present(c, group_id, member_id, None),
    )
