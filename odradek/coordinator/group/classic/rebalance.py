"""The classic rebalance: from "someone changed" to a new generation with an assignment.

Kafka's rebalance logic in ``GroupMetadataManager`` (``prepareRebalance``,
``completeClassicGroupJoin``, ``expireClassicGroupMemberHeartbeat``,
``propagateAssignment`` and friends), shared by JoinGroup, SyncGroup, LeaveGroup and
the timers. A rebalance, step by step:

1. **Prepare.** Something changes the membership: a member joins, leaves, dies or
   changes its metadata, or the leader rejoins. The group moves to
   PreparingRebalance; members parked in SyncGroup are told REBALANCE_IN_PROGRESS.
   Every member must now send JoinGroup, which is parked.
2. **Wait for joins.** The join phase ends when every member has joined, or at the
   rebalance timeout (the largest of the members' rebalance timeouts) -- members
   that did not rejoin are dropped (static members keep their place). A group
   leaving Empty waits ``group.initial.rebalance.delay.ms`` first, extended by each
   new arrival but never past the rebalance timeout, so that a fleet of consumers
   starting together forms one generation instead of a cascade of them.
3. **Complete the join.** The generation is bumped and the protocol selected; a
   group left with no members becomes Empty and that is stored. Otherwise every
   parked JoinGroup is answered (the leader gets all members' metadata) and the
   group waits in CompletingRebalance for the leader's SyncGroup, at most the
   rebalance timeout: members that never sync are dropped and it starts over.
4. **Store the assignment.** The leader's SyncGroup carries the assignment; it is
   written as a GroupMetadata record, whose replay makes the group Stable, and the
   parked SyncGroup requests get their members' assignments (:func:`propagate_assignment`).

Liveness: each member has one session timer, reset by heartbeats, commits and the
end of each phase. A member parked in a JoinGroup or SyncGroup cannot heartbeat and
is spared when its timer fires; a *new* member (never in a completed generation)
instead gets a long join timer, so abandoned JoinGroups do not pile up.

Timer keys: ``("heartbeat", group, member)``, ``("join", group)``, ``("sync", group)``.
"""

from __future__ import annotations

from odradek.coordinator.group.context import Context
from odradek.coordinator.group.records import group_metadata_record
from odradek.protocol.errors import ErrorCode

from .group import ClassicGroup
from .member import ClassicMember
from .replies import join_response, sync_response
from .state import COMPLETING_REBALANCE, DEAD, EMPTY, PREPARING_REBALANCE, STABLE


def heartbeat_key(group_id: str, member_id: str) -> tuple[str, str, str]:
    return ("heartbeat", group_id, member_id)


def join_key(group_id: str) -> tuple[str, str]:
    return ("join", group_id)


def sync_key(group_id: str) -> tuple[str, str]:
    return ("sync", group_id)


def _lookup(ctx: Context, group_id: str) -> ClassicGroup | None:
    return ctx.state.classic_group(group_id)


# -- session timers ------------------------------------------------------------------


def schedule_heartbeat(ctx: Context, group: ClassicGroup, member_id: str, timeout_ms: int) -> None:
    group_id = group.group_id
    ctx.schedule(
        heartbeat_key(group_id, member_id),
        timeout_ms,
        lambda c: expire_heartbeat(c, group_id, member_id),
    )


def reschedule_session(ctx: Context, group: ClassicGroup, member: ClassicMember) -> None:
    """Restart a member's session timer (a heartbeat, a commit, a finished phase)."""
    schedule_heartbeat(ctx, group, member.member_id, member.session_timeout_ms)


def expire_heartbeat(ctx: Context, group_id: str, member_id: str) -> None:
    group = _lookup(ctx, group_id)
    if group is None or group.is_in(DEAD):
        return
    if group.is_pending_member(member_id):
        group.pending_join_members.discard(member_id)
        if group.is_in(PREPARING_REBALANCE) and group.has_all_members_joined():
            complete_join(ctx, group)
        return
    member = group.members.get(member_id)
    if member is not None and not member.has_satisfied_heartbeat():
        remove_member_and_update(ctx, group, member)


def drop_member(ctx: Context, group: ClassicGroup, member: ClassicMember) -> None:
    """Remove a member, answering its parked requests with UNKNOWN_MEMBER_ID.

    A parked JoinGroup gets it so that a member still alive rejoins; a parked
    SyncGroup (a member leaving mid-rebalance) gets it so no request is left hanging.
    """
    caller = group.take_awaiting_join(member)
    if caller is not None:
        ctx.reply(caller, join_response(caller, error=ErrorCode.UNKNOWN_MEMBER_ID))
    sync_caller = group.take_awaiting_sync(member)
    if sync_caller is not None:
        ctx.reply(sync_caller, sync_response(error=ErrorCode.UNKNOWN_MEMBER_ID))
    ctx.cancel(heartbeat_key(group.group_id, member.member_id))
    group.remove(member.member_id)


def remove_member_and_update(ctx: Context, group: ClassicGroup, member: ClassicMember) -> None:
    drop_member(ctx, group, member)
    if group.is_in(STABLE) or group.is_in(COMPLETING_REBALANCE):
        maybe_prepare_rebalance_or_complete_join(ctx, group)
    elif group.is_in(PREPARING_REBALANCE) and group.has_all_members_joined():
        complete_join(ctx, group)


# -- the join phase ------------------------------------------------------------------


def maybe_prepare_rebalance_or_complete_join(ctx: Context, group: ClassicGroup) -> None:
    if group.can_rebalance():
        prepare_rebalance(ctx, group)
    else:
        maybe_complete_join_phase(ctx, group)


def prepare_rebalance(ctx: Context, group: ClassicGroup) -> None:
    if group.is_in(COMPLETING_REBALANCE):
        reset_and_propagate_assignment_with_error(ctx, group, ErrorCode.REBALANCE_IN_PROGRESS)
    remove_sync_expiration(ctx, group)
    initial = group.is_in(EMPTY)
    if initial:
        delay = ctx.config.initial_rebalance_delay_ms
        remaining = max(group.rebalance_timeout_ms() - delay, 0)
        group_id = group.group_id
        ctx.schedule(
            join_key(group_id),
            delay,
            lambda c: try_complete_initial_rebalance(c, group_id, delay, remaining),
        )
    group.transition_to(PREPARING_REBALANCE, ctx.now_ms)
    if not initial:
        maybe_complete_join_else_schedule(ctx, group)


def maybe_complete_join_else_schedule(ctx: Context, group: ClassicGroup) -> None:
    if group.has_all_members_joined():
        complete_join(ctx, group)
    else:
        group_id = group.group_id
        ctx.schedule(
            join_key(group_id),
            group.rebalance_timeout_ms(),
            lambda c: complete_join_by_id(c, group_id),
        )


def try_complete_initial_rebalance(
    ctx: Context, group_id: str, delay_ms: int, remaining_ms: int
) -> None:
    group = _lookup(ctx, group_id)
    if group is None:
        return
    if group.new_member_added and remaining_ms != 0:
        group.new_member_added = False
        new_delay = min(ctx.config.initial_rebalance_delay_ms, remaining_ms)
        new_remaining = max(remaining_ms - delay_ms, 0)
        ctx.schedule(
            join_key(group_id),
            new_delay,
            lambda c: try_complete_initial_rebalance(c, group_id, new_delay, new_remaining),
        )
    else:
        complete_join(ctx, group)


def maybe_complete_join_phase(ctx: Context, group: ClassicGroup) -> None:
    """Complete the join phase if it is under way, not initial, and everyone joined."""
    if not group.is_in(PREPARING_REBALANCE):
        return
    if group.previous_state is EMPTY:
        return  # the initial rebalance waits for its delay to run out
    if group.has_all_members_joined():
        complete_join(ctx, group)


def complete_join_by_id(ctx: Context, group_id: str) -> None:
    group = _lookup(ctx, group_id)
    if group is not None:
        complete_join(ctx, group)


def complete_join(ctx: Context, group: ClassicGroup) -> None:
    group_id = group.group_id
    ctx.cancel(join_key(group_id))
    for member in group.not_yet_rejoined():
        if not member.is_static:
            drop_member(ctx, group, member)
    if group.is_in(DEAD):
        return
    if not group.maybe_elect_new_joined_leader() and group.members:
        # Only static members are left and none rejoined: wait for them (or for
        # their session timeouts) another rebalance timeout -- at least a
        # millisecond, or a member asking for none would make this retry forever
        # without time moving on.
        ctx.schedule(
            join_key(group_id),
            max(group.rebalance_timeout_ms(), 1),
            lambda c: complete_join_by_id(c, group_id),
        )
        return
    group.init_next_generation(ctx.now_ms)
    if group.is_empty:
        ctx.write(group_metadata_record(group_id, group.to_record_value({})))
        return
    members = group.join_response_members()
    for member in group.members.values():
        caller = group.take_awaiting_join(member)
        if caller is not None:
            is_leader = group.is_leader(member.member_id)
            ctx.reply(
                caller,
                join_response(
                    caller,
                    member_id=member.member_id,
                    generation_id=group.generation_id,
                    protocol_type=group.protocol_type,
                    protocol_name=group.protocol_name,
                    leader=group.leader_id,
                    members=members if is_leader else (),
                ),
            )
        reschedule_session(ctx, group, member)
        member.is_new = False
        group.pending_sync_members.add(member.member_id)
    generation = group.generation_id
    ctx.schedule(
        sync_key(group_id),
        group.rebalance_timeout_ms(),
        lambda c: expire_pending_sync(c, group_id, generation),
    )


# -- the sync phase ------------------------------------------------------------------


def remove_sync_expiration(ctx: Context, group: ClassicGroup) -> None:
    group.pending_sync_members.clear()
    ctx.cancel(sync_key(group.group_id))


def remove_pending_sync_member(ctx: Context, group: ClassicGroup, member_id: str) -> None:
    group.pending_sync_members.discard(member_id)
    syncing = group.is_in(COMPLETING_REBALANCE) or group.is_in(STABLE)
    if not syncing or not group.pending_sync_members:
        ctx.cancel(sync_key(group.group_id))


def expire_pending_sync(ctx: Context, group_id: str, generation_id: int) -> None:
    group = _lookup(ctx, group_id)
    if group is None or generation_id != group.generation_id:
        return
    if not (group.is_in(COMPLETING_REBALANCE) or group.is_in(STABLE)):
        return
    if not group.pending_sync_members:
        return
    for member_id in sorted(group.pending_sync_members):
        member = group.members.get(member_id)
        if member is not None:
            drop_member(ctx, group, member)
    group.pending_sync_members.clear()
    prepare_rebalance(ctx, group)


def propagate_assignment(ctx: Context, group: ClassicGroup, error: ErrorCode) -> None:
    """Answer every parked SyncGroup with the member's assignment, or with ``error``."""
    ok = error is ErrorCode.NONE
    for member in group.members.values():
        caller = group.take_awaiting_sync(member)
        if caller is None:
            continue
        ctx.reply(
            caller,
            sync_response(
                error=error,
                protocol_type=group.protocol_type if ok else None,
                protocol_name=group.protocol_name if ok else None,
                assignment=member.assignment,
            ),
        )
        # A member whose session ran out while parked was spared; it owes a
        # heartbeat from now on.
        reschedule_session(ctx, group, member)


def reset_and_propagate_assignment_with_error(
    ctx: Context, group: ClassicGroup, error: ErrorCode
) -> None:
    if not group.is_in(COMPLETING_REBALANCE):
        raise AssertionError(f"group {group.group_id} is {group.state}, not CompletingRebalance")
    for member in group.members.values():
        member.assignment = b""
    propagate_assignment(ctx, group, error)
