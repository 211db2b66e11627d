"""A member of a consumer group (KIP-848): its subscription, epochs and partitions.

Kafka's ``ConsumerGroupMember`` and ``MemberState``. A member is an immutable value;
a change is a new member built with :func:`dataclasses.replace`, which is how the
heartbeat computes "the member after this request" before writing any record.

Two records hold a member (``group-coordinator/ConsumerGroupMemberMetadataValue.json``
and ``ConsumerGroupCurrentMemberAssignmentValue.json``): its *subscription* (ids,
subscribed topics or regex, rebalance timeout, preferred server assignor) and its
*current assignment* (member epoch, previous epoch, reconciliation state, assigned
partitions and partitions it still has to revoke).

A member that joined with JoinGroup (a *classic member* of a consumer group, KIP-848's
online migration) also carries :class:`ClassicMetadata`: its session timeout and the
protocols it listed, stored in the subscription record's ``ClassicMemberMetadata``.

Partitions are kept as ``{topic id: frozenset of partition ids}``: members address
topics by id in the consumer protocol, so a topic deleted and re-created under the
same name is a different topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Protocol

from odradek.coordinator.group.classic.member import Protocol as ClassicProtocolEntry
from odradek.protocol.messages.group_coordinator.consumer_group_current_member_assignment_value import (  # noqa: E501
    ConsumerGroupCurrentMemberAssignmentValue,
    TopicPartitions,
)
from odradek.protocol.messages.group_coordinator.consumer_group_member_metadata_value import (
    ClassicMemberMetadata,
    ClassicProtocol,
    ConsumerGroupMemberMetadataValue,
)

#: topic id -> partition ids.
Partitions = Mapping[uuid.UUID, frozenset[int]]

#: A member leaves with this epoch; a static member about to rejoin with the next.
LEAVE_GROUP_MEMBER_EPOCH = -1
LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2


class MemberState(IntEnum):
    """Where a member is in reconciling its assignment with the target (``MemberState``)."""

    #: Owns exactly what the target gives it, at the target's epoch.
    STABLE = 0
    #: Must first give up some partitions; stays at its epoch until it has.
    UNREVOKED_PARTITIONS = 1
    #: At the target's epoch, waiting for partitions other members still hold.
    UNRELEASED_PARTITIONS = 2
    #: A state written by a newer coordinator; the member is fenced and starts over.
    UNKNOWN = 127

    @classmethod
    def from_value(cls, value: int) -> MemberState:
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


class _TopicPartitionsLike(Protocol):
    @property
    def topic_id(self) -> uuid.UUID: ...

    @property
    def partitions(self) -> list[int]: ...


def partitions_from(entries: Iterable[_TopicPartitionsLike]) -> dict[uuid.UUID, frozenset[int]]:
    """``{topic id: partitions}`` from a record's or a request's topic-partition list."""
    result: dict[uuid.UUID, frozenset[int]] = {}
    for entry in entries:
        if entry.partitions:
            result[entry.topic_id] = result.get(entry.topic_id, frozenset()) | frozenset(
                entry.partitions
            )
    return result


def sorted_partitions(partitions: Partitions) -> list[tuple[uuid.UUID, list[int]]]:
    """The partitions as (topic id, sorted partition ids), topics in id order."""
    return [(t, sorted(ps)) for t, ps in sorted(partitions.items(), key=lambda i: str(i[0])) if ps]


def partition_count(partitions: Partitions) -> int:
    return sum(len(ps) for ps in partitions.values())


@dataclass(frozen=True, slots=True)
class ClassicMetadata:
    """What a member that speaks the classic protocol told JoinGroup about itself."""

    session_timeout_ms: int
    protocols: tuple[ClassicProtocolEntry, ...]

    @property
    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    @classmethod
    def from_record(cls, value: ClassicMemberMetadata) -> ClassicMetadata:
        return cls(
            value.session_timeout_ms, tuple((p.name, p.metadata) for p in value.supported_protocols)
        )

    def to_record(self) -> ClassicMemberMetadata:
        return ClassicMemberMetadata(
            session_timeout_ms=self.session_timeout_ms,
            supported_protocols=[ClassicProtocol(name=n, metadata=m) for n, m in self.protocols],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerGroupMember:
    member_id: str
    member_epoch: int = 0
    previous_member_epoch: int = -1
    state: MemberState = MemberState.STABLE
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    client_id: str = ""
    client_host: str = ""
    subscribed_topic_names: frozenset[str] = frozenset()
    subscribed_topic_regex: str = ""
    server_assignor: str | None = None
    assigned_partitions: Partitions = field(default_factory=dict)
    partitions_pending_revocation: Partitions = field(default_factory=dict)
    #: Set for a member that joined with JoinGroup rather than ConsumerGroupHeartbeat.
    classic: ClassicMetadata | None = None

    @property
    def uses_classic_protocol(self) -> bool:
        return self.classic is not None

    def with_epoch(self, epoch: int) -> ConsumerGroupMember:
        """Move to ``epoch``, remembering the current one as the previous epoch."""
        return replace(self, member_epoch=epoch, previous_member_epoch=self.member_epoch)

    def is_reconciled_to(self, target_epoch: int) -> bool:
        return self.state is MemberState.STABLE and self.member_epoch == target_epoch

    def same_subscription(self, other: ConsumerGroupMember) -> bool:
        return (
            self.subscribed_topic_names == other.subscribed_topic_names
            and self.subscribed_topic_regex == other.subscribed_topic_regex
        )

    # -- records ---------------------------------------------------------------------

    def with_subscription_record(
        self, value: ConsumerGroupMemberMetadataValue
    ) -> ConsumerGroupMember:
        return replace(
            self,
            instance_id=value.instance_id,
            rack_id=value.rack_id,
            client_id=value.client_id,
            client_host=value.client_host,
            subscribed_topic_names=frozenset(value.subscribed_topic_names),
            subscribed_topic_regex=value.subscribed_topic_regex or "",
            rebalance_timeout_ms=value.rebalance_timeout_ms,
            server_assignor=value.server_assignor,
            classic=(
                None
                if value.classic_member_metadata is None
                else ClassicMetadata.from_record(value.classic_member_metadata)
            ),
        )

    def with_assignment_record(
        self, value: ConsumerGroupCurrentMemberAssignmentValue
    ) -> ConsumerGroupMember:
        return replace(
            self,
            member_epoch=value.member_epoch,
            previous_member_epoch=value.previous_member_epoch,
            state=MemberState.from_value(value.state),
            assigned_partitions=partitions_from(value.assigned_partitions),
            partitions_pending_revocation=partitions_from(value.partitions_pending_revocation),
        )

    def subscription_record_value(self) -> ConsumerGroupMemberMetadataValue:
        return ConsumerGroupMemberMetadataValue(
            instance_id=self.instance_id,
            rack_id=self.rack_id,
            client_id=self.client_id,
            client_host=self.client_host,
            subscribed_topic_names=sorted(self.subscribed_topic_names),
            subscribed_topic_regex=self.subscribed_topic_regex,
            rebalance_timeout_ms=self.rebalance_timeout_ms,
            server_assignor=self.server_assignor,
            classic_member_metadata=None if self.classic is None else self.classic.to_record(),
        )

    def assignment_record_value(self) -> ConsumerGroupCurrentMemberAssignmentValue:
        return ConsumerGroupCurrentMemberAssignmentValue(
            member_epoch=self.member_epoch,
            previous_member_epoch=self.previous_member_epoch,
            state=int(self.state),
            assigned_partitions=_record_partitions(self.assigned_partitions),
            partitions_pending_revocation=_record_partitions(self.partitions_pending_revocation),
        )


def _record_partitions(partitions: Partitions) -> list[TopicPartitions]:
    return [TopicPartitions(topic_id=t, partitions=ps) for t, ps in sorted_partitions(partitions)]
