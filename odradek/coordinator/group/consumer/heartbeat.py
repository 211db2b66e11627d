"""ConsumerGroupHeartbeat (key 68): join, stay, reconcile and leave, all in one API.

Behaviour (Kafka's ``GroupMetadataManager.consumerGroupHeartbeat``, KIP-848):

* **Checks** (INVALID_REQUEST): a group id; a member id unless joining; when joining
  (epoch 0) a rebalance timeout, an empty owned-partition list, and topic names or a
  regex; epochs other than >= 0, -1 and -2. An unknown ``server_assignor`` is
  UNSUPPORTED_ASSIGNOR, a regex that does not compile INVALID_REGULAR_EXPRESSION.
* **The group**: epoch 0 creates the group if needed, takes over the id of an
  *empty* classic group, and converts a classic group with members when
  ``group.consumer.migration.policy`` allows it (:mod:`.migration`; else
  GROUP_ID_NOT_FOUND). Any other epoch for an unknown group is GROUP_ID_NOT_FOUND.
  A full group is GROUP_MAX_SIZE_REACHED.
* **The member**: joining without a member id gets a new one. A member whose epoch
  is neither its current one nor (with owned partitions it was assigned) its previous
  one is FENCED_MEMBER_EPOCH; an unknown member UNKNOWN_MEMBER_ID. A static member
  (``instance_id``) may only take over its instance after the previous holder left
  with epoch -2 (else UNRELEASED_INSTANCE_ID), and keeps its partitions; a stale
  member id of an instance is FENCED_INSTANCE_ID.
* **One heartbeat, three steps**, as in Kafka: (1) store the member's new
  subscription; if what the group subscribes to changed (or the topics did), store
  the new subscription metadata and bump the group epoch; (2) if the group epoch is
  ahead of the target assignment's, run the assignor (:mod:`.target`); (3) move the
  member one step towards its target (:mod:`.reconcile`). The response carries the
  member's epoch and, when it changed or the request was a full one, its assignment.
* **Leaving**: epoch -1 removes the member (its partitions are released) and bumps
  the group epoch; a static member's epoch -2 keeps its place and partitions for a
  restart with the same instance id.
* **Timers**: a member that does not heartbeat within ``group.consumer.session.
  timeout.ms`` is removed; one that does not revoke partitions within its rebalance
  timeout is removed too.

All records of a heartbeat are computed from the state before it, and written only
once every check has passed, so an error leaves the group untouched.

Spec: ``clients/ConsumerGroupHeartbeatRequest.json``,
``clients/ConsumerGroupHeartbeatResponse.json``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from odradek.coordinator.group.context import Context
from odradek.coordinator.group.records import CoordinatorRecord, group_tombstone
from odradek.coordinator.group.result import Caller
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.consumer_group_heartbeat_request import (
    ConsumerGroupHeartbeatRequest,
)
from odradek.protocol.messages.clients.consumer_group_heartbeat_response import (
    Assignment,
    ConsumerGroupHeartbeatResponse,
    TopicPartitions,
)

from . import migration
from .advance import advance, replace_static_member
from .fencing import (
    fence_member,
    revocation_key,
    schedule_revocation_timeout,
    schedule_session_timeout,
)
from .group import ConsumerGroup
from .member import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    ConsumerGroupMember,
    MemberState,
    Partitions,
    partitions_from,
    sorted_partitions,
)
from .records import (
    current_assignment_record,
)


def consumer_group_heartbeat(
    ctx: Context, caller: Caller, request: ConsumerGroupHeartbeatRequest
) -> None:
    try:
        _validate(ctx, request)
        if request.member_epoch in (LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH):
            response = _leave(ctx, request)
        else:
            response = _Heartbeat(ctx, caller, request).run()
    except KafkaError as e:
        response = ConsumerGroupHeartbeatResponse(error_code=e.code, error_message=e.message)
    ctx.reply(caller, response)


def _blank(value: str | None) -> bool:
    return value is not None and not value.strip()


def _invalid(message: str) -> KafkaError:
    return KafkaError(ErrorCode.INVALID_REQUEST, message)


def _validate(ctx: Context, request: ConsumerGroupHeartbeatRequest) -> None:
    if not request.group_id.strip():
        raise _invalid("GroupId can't be empty.")
    if _blank(request.instance_id):
        raise _invalid("InstanceId can't be empty.")
    if _blank(request.rack_id):
        raise _invalid("RackId can't be empty.")
    epoch = request.member_epoch
    if epoch > 0 or epoch == LEAVE_GROUP_MEMBER_EPOCH:
        if not request.member_id.strip():
            raise _invalid("MemberId can't be empty.")
    elif epoch == 0:
        if request.rebalance_timeout_ms == -1:
            raise _invalid("RebalanceTimeoutMs must be provided in first request.")
        if request.topic_partitions is None or request.topic_partitions:
            raise _invalid("TopicPartitions must be empty when (re-)joining.")
        if request.subscribed_topic_names is None and request.subscribed_topic_regex is None:
            raise _invalid(
                "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
                "(re-)joining."
            )
    elif epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
        if not request.member_id.strip():
            raise _invalid("MemberId can't be empty.")
        if request.instance_id is None:
            raise _invalid("InstanceId can't be null.")
    else:
        raise _invalid("MemberEpoch is invalid.")
    if request.subscribed_topic_regex:
        try:
            re.compile(request.subscribed_topic_regex)
        except re.error as e:
            raise KafkaError(
                ErrorCode.INVALID_REGULAR_EXPRESSION,
                f"SubscribedTopicRegex `{request.subscribed_topic_regex}` is not a valid "
                f"regular expression: {e}.",
            ) from None
    assignors = ctx.config.consumer_assignors
    if request.server_assignor is not None and request.server_assignor not in assignors:
        raise KafkaError(
            ErrorCode.UNSUPPORTED_ASSIGNOR,
            f"ServerAssignor {request.server_assignor} is not supported. Supported assignors: "
            f"{', '.join(assignors)}.",
        )


class _Heartbeat:
    """A regular heartbeat (epoch >= 0) being handled."""

    def __init__(self, ctx: Context, caller: Caller, request: ConsumerGroupHeartbeatRequest):
        self.ctx = ctx
        self.caller = caller
        self.request = request
        self.group_id = request.group_id
        self.records: list[CoordinatorRecord] = []
        self.owned: Partitions | None = (
            None if request.topic_partitions is None else partitions_from(request.topic_partitions)
        )
        #: Set when this heartbeat converts a classic group with members.
        self.upgrade: migration.Upgrade | None = None

    def run(self) -> ConsumerGroupHeartbeatResponse:
        ctx, request, joining = self.ctx, self.request, self.request.member_epoch == 0
        group = self.group(joining)
        member_id = request.member_id or ctx.state.new_member_suffix()
        if len(group.members) >= ctx.config.consumer_max_size and not group.has_member(member_id):
            raise KafkaError(
                ErrorCode.GROUP_MAX_SIZE_REACHED,
                f"The consumer group has reached its maximum capacity of "
                f"{ctx.config.consumer_max_size} members.",
            )
        if request.instance_id is None:
            member = self.dynamic_member(group, member_id, joining)
        else:
            member = self.static_member(group, member_id, request.instance_id, joining)

        updated = self.with_request(member)
        reconciled, refreshed = advance(ctx, group, member, updated, self.owned, self.records)

        if self.upgrade is not None:
            self.upgrade.apply(ctx)
            for converted in self.upgrade.group.members.values():
                schedule_session_timeout(ctx, self.group_id, converted)
        for record in self.records:
            ctx.write(record)
        stored = ctx.state.consumer_group(self.group_id)
        if stored is not None and refreshed:
            stored.metadata_refresh_needed = False
        schedule_session_timeout(ctx, self.group_id, reconciled)
        if reconciled != updated:
            if reconciled.state is MemberState.UNREVOKED_PARTITIONS:
                schedule_revocation_timeout(ctx, self.group_id, reconciled)
            else:
                ctx.cancel(revocation_key(self.group_id, reconciled.member_id))
        return self.response(member, reconciled)

    def group(self, joining: bool) -> ConsumerGroup:
        state = self.ctx.state
        existing = state.groups.get(self.group_id)
        if isinstance(existing, ConsumerGroup):
            return existing
        if not joining:
            raise KafkaError(
                ErrorCode.GROUP_ID_NOT_FOUND,
                f"Consumer group {self.group_id} not found."
                if existing is None
                else f"Group {self.group_id} is not a consumer group.",
            )
        if existing is None or existing.is_empty:
            if existing is not None:
                # An empty classic group gives its id to the new consumer group; its
                # offsets stay.
                self.records.append(group_tombstone(self.group_id))
            return ConsumerGroup(self.group_id)
        self.upgrade = migration.upgrade(self.ctx, existing)
        return self.upgrade.group

    def check_epoch(self, member: ConsumerGroupMember) -> None:
        received = self.request.member_epoch
        if received > member.member_epoch:
            raise KafkaError(
                ErrorCode.FENCED_MEMBER_EPOCH,
                f"The consumer group member has a greater member epoch ({received}) than the "
                f"one known by the group coordinator ({member.member_epoch}). The member must "
                "abandon all its partitions and rejoin.",
            )
        # The response that moved the member on may have been lost: its previous
        # epoch is fine if it owns no more than it was assigned.
        lost_response = received == member.previous_member_epoch and self.owns_subset_of(
            member.assigned_partitions
        )
        if received < member.member_epoch and not lost_response:
            raise KafkaError(
                ErrorCode.FENCED_MEMBER_EPOCH,
                f"The consumer group member has a smaller member epoch ({received}) than "
                f"the one known by the group coordinator ({member.member_epoch}). The "
                "member must abandon all its partitions and rejoin.",
            )

    def owns_subset_of(self, assigned: Partitions) -> bool:
        if self.request.topic_partitions is None:
            return False
        return all(
            entry.topic_id in assigned and set(entry.partitions) <= assigned[entry.topic_id]
            for entry in self.request.topic_partitions
        )

    def dynamic_member(
        self, group: ConsumerGroup, member_id: str, joining: bool
    ) -> ConsumerGroupMember:
        member = group.members.get(member_id)
        if member is None:
            if not joining:
                group.member(member_id)  # raises UNKNOWN_MEMBER_ID
            member = ConsumerGroupMember(member_id=member_id)
        self.check_epoch(member)
        return member

    def static_member(
        self, group: ConsumerGroup, member_id: str, instance_id: str, joining: bool
    ) -> ConsumerGroupMember:
        existing = group.static_member(instance_id)
        if joining:
            if existing is None:
                return group.members.get(member_id) or ConsumerGroupMember(member_id=member_id)
            if existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH:
                raise KafkaError(
                    ErrorCode.UNRELEASED_INSTANCE_ID,
                    f"Static member {member_id} with instance id {instance_id} cannot join the "
                    f"group because the instance id is owned by {existing.member_id} member.",
                )
            return replace_static_member(group, existing, member_id, self.records)
        if existing is None:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {instance_id} is unknown.")
        if existing.member_id != member_id:
            raise KafkaError(
                ErrorCode.FENCED_INSTANCE_ID,
                f"Static member {member_id} with instance id {instance_id} was fenced by member "
                f"{existing.member_id}.",
            )
        self.check_epoch(existing)
        return existing

    def with_request(self, member: ConsumerGroupMember) -> ConsumerGroupMember:
        """The member as this request describes it: null fields leave it unchanged."""
        r = self.request
        return replace(
            member,
            instance_id=r.instance_id if r.instance_id is not None else member.instance_id,
            rack_id=r.rack_id if r.rack_id is not None else member.rack_id,
            rebalance_timeout_ms=(
                r.rebalance_timeout_ms
                if r.rebalance_timeout_ms != -1
                else member.rebalance_timeout_ms
            ),
            server_assignor=(
                r.server_assignor if r.server_assignor is not None else member.server_assignor
            ),
            subscribed_topic_names=(
                frozenset(r.subscribed_topic_names)
                if r.subscribed_topic_names is not None
                else member.subscribed_topic_names
            ),
            subscribed_topic_regex=(
                r.subscribed_topic_regex
                if r.subscribed_topic_regex is not None
                else member.subscribed_topic_regex
            ),
            client_id=self.caller.client_id,
            client_host=self.caller.client_host,
        )

    def response(
        self, before: ConsumerGroupMember, after: ConsumerGroupMember
    ) -> ConsumerGroupHeartbeatResponse:
        r = self.request
        full = r.member_epoch == 0 or (
            r.rebalance_timeout_ms != -1
            and r.subscribed_topic_names is not None
            and r.topic_partitions is not None
        )
        response = ConsumerGroupHeartbeatResponse(
            member_id=after.member_id,
            member_epoch=after.member_epoch,
            heartbeat_interval_ms=self.ctx.config.consumer_heartbeat_interval_ms,
        )
        if full or after.assigned_partitions != before.assigned_partitions:
            response.assignment = Assignment(
                topic_partitions=[
                    TopicPartitions(topic_id=t, partitions=ps)
                    for t, ps in sorted_partitions(after.assigned_partitions)
                ]
            )
        return response


def _leave(ctx: Context, request: ConsumerGroupHeartbeatRequest) -> ConsumerGroupHeartbeatResponse:
    group_id, member_id = request.group_id, request.member_id
    group = ctx.state.consumer_group(group_id)
    if group is None:
        raise KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, f"Consumer group {group_id} not found.")
    response = ConsumerGroupHeartbeatResponse(
        member_id=member_id, member_epoch=request.member_epoch
    )
    if request.instance_id is None:
        fence_member(ctx, group, group.member(member_id))
        return response
    member = group.static_member(request.instance_id)
    if member is None:
        raise KafkaError(
            ErrorCode.UNKNOWN_MEMBER_ID, f"Instance id {request.instance_id} is unknown."
        )
    if member.member_id != member_id:
        raise KafkaError(
            ErrorCode.FENCED_INSTANCE_ID,
            f"Static member {member_id} with instance id {request.instance_id} was fenced by "
            f"member {member.member_id}.",
        )
    if request.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
        # The member keeps its place and its partitions for its next incarnation.
        leaving = replace(
            member, member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH, partitions_pending_revocation={}
        )
        ctx.write(current_assignment_record(group_id, leaving))
        return ConsumerGroupHeartbeatResponse(
            member_id=member.member_id, member_epoch=LEAVE_GROUP_STATIC_MEMBER_EPOCH
        )
    fence_member(ctx, group, member)
    return response
