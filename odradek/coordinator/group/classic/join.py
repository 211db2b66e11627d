"""JoinGroup (key 11): become a member, or rejoin for the next generation.

Behaviour (Kafka's ``GroupMetadataManager.classicGroupJoin*`` and the checks of
``GroupCoordinatorService.joinGroup``):

* An empty group id is INVALID_GROUP_ID; a session timeout outside
  ``group.min.session.timeout.ms``..``group.max.session.timeout.ms`` is
  INVALID_SESSION_TIMEOUT.
* A join with an empty member id to an unknown group creates the group (an Empty
  group record is written); a join with a member id to an unknown group is
  UNKNOWN_MEMBER_ID. An empty consumer group (KIP-848) is replaced by a classic one;
  a consumer group with members takes the member in as a classic member
  (:mod:`odradek.coordinator.group.consumer.classic_members`).
* ``group.max.size``: a new member is refused with GROUP_MAX_SIZE_REACHED when the
  group is full (counting, during PreparingRebalance, the members that rejoined).
* The member's protocol type must be the group's and one of its protocols must be
  supported by every member, else INCONSISTENT_GROUP_PROTOCOL.
* **New dynamic member, v4+**: the coordinator makes up a member id, remembers it as
  *pending*, and answers MEMBER_ID_REQUIRED with it; the client rejoins with that id
  (so a client that times out and retries does not leave a ghost member). Before v4
  the member is added at once.
* **New static member** (``group.instance.id``): a known instance id takes over the
  old member id's place and assignment; the old id is fenced (its parked requests get
  FENCED_INSTANCE_ID). In a Stable group whose protocol does not change, no
  rebalance happens: the new member id is stored and the member gets the current
  generation (from v9 a leader is told to skip the assignment).
* **Known member**: in PreparingRebalance the join is parked; in CompletingRebalance
  or Stable a join with unchanged metadata is answered with the current generation,
  while changed metadata (or, when Stable, any join from the leader) starts a
  rebalance. In Empty the member id is stale: UNKNOWN_MEMBER_ID.

Version notes: v0 has no rebalance timeout (the session timeout stands in); v4 adds
MEMBER_ID_REQUIRED; v5 ``group.instance.id``; v9 ``skip_assignment``.
Spec: ``clients/JoinGroupRequest.json``, ``clients/JoinGroupResponse.json``.
"""

from __future__ import annotations

from odradek.coordinator.group.consumer import classic_members
from odradek.coordinator.group.consumer.records import group_tombstones
from odradek.coordinator.group.context import Context
from odradek.coordinator.group.records import group_metadata_record
from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.join_group_request import JoinGroupRequest
from odradek.protocol.messages.clients.join_group_response import JoinGroupResponse
from odradek.protocol.messages.group_coordinator.group_metadata_value import (
    GroupMetadataValue,
)

from . import rebalance
from .group import ClassicGroup
from .member import ClassicMember, Protocol
from .replies import join_error, join_response, sync_response
from .state import COMPLETING_REBALANCE, DEAD, EMPTY, PREPARING_REBALANCE, STABLE

MEMBER_ID_REQUIRED_VERSION = 4
SKIP_ASSIGNMENT_VERSION = 9


def join_group(ctx: Context, caller: Caller, request: JoinGroupRequest) -> None:
    config = ctx.config
    if not request.group_id:
        ctx.reply(caller, join_error(caller, ErrorCode.INVALID_GROUP_ID, request.member_id))
        return
    if not (
        config.min_session_timeout_ms <= request.session_timeout_ms <= config.max_session_timeout_ms
    ):
        ctx.reply(caller, join_error(caller, ErrorCode.INVALID_SESSION_TIMEOUT, request.member_id))
        return
    _Join(ctx, caller, request).run()


class _Join:
    """One JoinGroup request being handled."""

    def __init__(self, ctx: Context, caller: Caller, request: JoinGroupRequest) -> None:
        self.ctx = ctx
        self.caller = caller
        self.request = request
        self.member_id = request.member_id
        self.instance_id = request.group_instance_id
        self.protocols: tuple[Protocol, ...] = tuple(
            (p.name, p.metadata) for p in request.protocols
        )
        self.session_timeout_ms = request.session_timeout_ms
        # JoinGroup v0 has no rebalance timeout; Kafka uses the session timeout.
        self.rebalance_timeout_ms = (
            request.session_timeout_ms if caller.api_version == 0 else request.rebalance_timeout_ms
        )

    def reply_error(self, error: ErrorCode, member_id: str = "") -> None:
        self.ctx.reply(self.caller, join_error(self.caller, error, member_id))

    def run(self) -> None:
        ctx, group_id = self.ctx, self.request.group_id
        is_unknown_member = self.member_id == ""
        consumer_group = ctx.state.consumer_group(group_id)
        if consumer_group is not None and not consumer_group.is_empty:
            # A classic member of a consumer group (an online migration).
            classic_members.join(ctx, self.caller, self.request, consumer_group)
            return
        group = ctx.state.classic_group(group_id)
        if group is None:
            if not is_unknown_member:
                self.reply_error(ErrorCode.UNKNOWN_MEMBER_ID, self.member_id)
                return
            if consumer_group is not None:
                # An empty consumer group gives its id to the new classic group.
                for record in group_tombstones(consumer_group):
                    ctx.write(record)
            ctx.write(group_metadata_record(group_id, _empty_group_value(ctx.now_ms)))
            group = ctx.state.classic_group(group_id)
            if group is None:
                raise AssertionError(f"replaying the record of {group_id} created no group")
        if not self.accepts_joining_member(group):
            removed = group.members.get(self.member_id)
            if removed is not None:
                rebalance.drop_member(ctx, group, removed)
            self.reply_error(ErrorCode.GROUP_MAX_SIZE_REACHED)
        elif is_unknown_member:
            self.join_new_member(group)
        else:
            self.join_existing_member(group)

    def accepts_joining_member(self, group: ClassicGroup) -> bool:
        max_size = self.ctx.config.max_size
        member = group.members.get(self.member_id)
        if group.is_in(EMPTY) or group.is_in(DEAD):
            return True
        if group.is_in(PREPARING_REBALANCE):
            # Counting members that rejoined (not all members) lets a shrunk
            # group.max.size take effect, by keeping out the last to rejoin.
            return (
                member is not None and member.awaiting_join is not None
            ) or group.awaiting_join_count < max_size
        return member is not None or len(group.members) < max_size

    def supports_protocols(self, group: ClassicGroup) -> bool:
        return group.supports_protocols(
            self.request.protocol_type, (name for name, _ in self.protocols)
        )

    # -- a member without a member id ------------------------------------------------

    def join_new_member(self, group: ClassicGroup) -> None:
        if group.is_in(DEAD):
            self.reply_error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
            return
        if not self.supports_protocols(group):
            self.reply_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
            return
        prefix = self.instance_id if self.instance_id is not None else self.caller.client_id
        new_member_id = f"{prefix}-{self.ctx.state.new_member_suffix()}"
        if self.instance_id is None:
            self.join_new_dynamic_member(group, new_member_id)
            return
        existing = group.static_member_id(self.instance_id)
        if existing is None:
            self.add_member_and_rebalance(group, new_member_id)
        else:
            self.replace_static_member(group, existing, new_member_id)

    def join_new_dynamic_member(self, group: ClassicGroup, new_member_id: str) -> None:
        if self.caller.api_version < MEMBER_ID_REQUIRED_VERSION:
            self.add_member_and_rebalance(group, new_member_id)
            return
        group.add_pending_member(new_member_id)
        rebalance.schedule_heartbeat(self.ctx, group, new_member_id, self.session_timeout_ms)
        self.reply_error(ErrorCode.MEMBER_ID_REQUIRED, new_member_id)

    def add_member_and_rebalance(self, group: ClassicGroup, member_id: str) -> None:
        ctx = self.ctx
        member = ClassicMember(
            member_id=member_id,
            group_instance_id=self.instance_id,
            client_id=self.caller.client_id,
            client_host=self.caller.client_host,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            session_timeout_ms=self.session_timeout_ms,
            protocol_type=self.request.protocol_type,
            protocols=self.protocols,
            is_new=True,
        )
        if group.is_in(PREPARING_REBALANCE) and group.previous_state is EMPTY:
            group.new_member_added = True
        group.add(member, self.caller)
        # A parked new member cannot heartbeat and its JoinGroup cannot be tied to a
        # live connection, so it gets the join timeout instead of a session timeout.
        rebalance.schedule_heartbeat(ctx, group, member_id, ctx.config.new_member_join_timeout_ms)
        rebalance.maybe_prepare_rebalance_or_complete_join(ctx, group)

    def replace_static_member(self, group: ClassicGroup, old_id: str, new_id: str) -> None:
        ctx, caller = self.ctx, self.caller
        leader_before = group.leader_id
        member, old = group.replace_static_member(self.instance_id or "", old_id, new_id)
        self.fence(old)
        ctx.cancel(rebalance.heartbeat_key(group.group_id, old_id))
        rebalance.reschedule_session(ctx, group, member)
        group.update_member(
            member, self.protocols, self.rebalance_timeout_ms, self.session_timeout_ms, caller
        )
        if group.is_in(STABLE):
            if group.protocol_name != group.select_protocol():
                rebalance.maybe_prepare_rebalance_or_complete_join(ctx, group)
                return
            # Nothing the assignment depends on changed: store the new member id and
            # hand the member the current generation, without a rebalance.
            assignments = {m.member_id: m.assignment for m in group.members.values()}
            ctx.write(group_metadata_record(group.group_id, group.to_record_value(assignments)))
            group.take_awaiting_join(member)
            if caller.api_version >= SKIP_ASSIGNMENT_VERSION:
                is_leader = group.is_leader(new_id)
                response = self.current_generation(group, new_id, is_leader)
                response.skip_assignment = is_leader
            else:
                # Before v9 a leader cannot be told to skip the assignment, so the
                # member is told the old leader id and acts as a follower.
                response = self.current_generation(group, new_id, include_members=False)
                response.leader = leader_before or ""
            ctx.reply(caller, response)
        elif group.is_in(COMPLETING_REBALANCE):
            # The leader may already be assigning with the old member id; only a new
            # rebalance gets the new id an assignment.
            rebalance.prepare_rebalance(ctx, group)
        elif group.is_in(PREPARING_REBALANCE):
            rebalance.maybe_complete_join_phase(ctx, group)
        else:
            raise AssertionError(f"static member replaced in a group that is {group.state}")

    def fence(self, old: ClassicMember) -> None:
        if old.awaiting_join is not None:
            caller = old.awaiting_join
            old.awaiting_join = None
            self.ctx.reply(
                caller,
                join_response(caller, error=ErrorCode.FENCED_INSTANCE_ID, member_id=old.member_id),
            )
        sync_caller = ClassicGroup.take_awaiting_sync(old)
        if sync_caller is not None:
            self.ctx.reply(
                sync_caller,
                sync_response(error=ErrorCode.FENCED_INSTANCE_ID),
            )

    # -- a member with a member id -----------------------------------------------------

    def join_existing_member(self, group: ClassicGroup) -> None:
        ctx, member_id = self.ctx, self.member_id
        if group.is_in(DEAD):
            self.reply_error(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id)
            return
        if not self.supports_protocols(group):
            self.reply_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
            return
        if group.is_pending_member(member_id):
            if self.instance_id is not None:
                # Pending member ids are only handed to dynamic members.
                self.reply_error(ErrorCode.UNKNOWN_SERVER_ERROR, member_id)
                return
            self.add_member_and_rebalance(group, member_id)
            return
        try:
            group.validate_member(member_id, self.instance_id)
        except KafkaError as e:
            self.reply_error(e.code, member_id)
            return
        member = group.member(member_id)
        if group.is_in(PREPARING_REBALANCE):
            self.update_member_and_rebalance(group, member)
        elif group.is_in(COMPLETING_REBALANCE):
            if member.matches(self.protocols):
                # Most likely the member missed the JoinGroup response: resend it.
                ctx.reply(
                    self.caller,
                    self.current_generation(group, member_id, group.is_leader(member_id)),
                )
            else:
                self.update_member_and_rebalance(group, member)
        elif group.is_in(STABLE):
            if group.is_leader(member_id) or not member.matches(self.protocols):
                # A leader rejoins to force a rebalance when something the assignment
                # depends on changed, such as a topic's partition count.
                self.update_member_and_rebalance(group, member)
            else:
                ctx.reply(self.caller, self.current_generation(group, member_id, False))
        else:
            self.reply_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id)

    def update_member_and_rebalance(self, group: ClassicGroup, member: ClassicMember) -> None:
        superseded = group.update_member(
            member, self.protocols, self.rebalance_timeout_ms, self.session_timeout_ms, self.caller
        )
        if superseded is not None:
            # A member has one JoinGroup in flight; an older parked one was abandoned
            # by its client. Answer it so that it does not hang forever.
            self.ctx.reply(superseded, join_error(superseded, ErrorCode.REBALANCE_IN_PROGRESS))
        rebalance.maybe_prepare_rebalance_or_complete_join(self.ctx, group)

    def current_generation(
        self, group: ClassicGroup, member_id: str, include_members: bool
    ) -> JoinGroupResponse:
        return join_response(
            self.caller,
            member_id=member_id,
            generation_id=group.generation_id,
            protocol_type=group.protocol_type,
            protocol_name=group.protocol_name,
            leader=group.leader_id,
            members=group.join_response_members() if include_members else (),
        )


def _empty_group_value(now_ms: int) -> GroupMetadataValue:
    return GroupMetadataValue(
        protocol_type="",
        generation=0,
        protocol=None,
        leader=None,
        current_state_timestamp=now_ms,
        members=[],
    )
