"""A consumer group (KIP-848): epochs, members, the target assignment, partition ownership.

Kafka's ``ModernGroup`` and ``ConsumerGroup``. Everything here is what the group's
records say, kept up to date by replay (:mod:`.replay`):

* the **group epoch** (``ConsumerGroupMetadataValue``), bumped whenever the
  membership or what it subscribes to changes;
* the **subscription metadata** (``ConsumerGroupPartitionMetadataValue``): the
  subscribed topics that exist, with their ids and partition counts, as of the last
  epoch bump;
* the **target assignment** (``ConsumerGroupTargetAssignmentMember/MetadataValue``):
  what the server assignor computed for the group epoch it was computed at (the
  *assignment epoch*);
* the **members** with their current assignments.

Derived bookkeeping: subscribed topic counts, static member ids, server assignor
preferences, the members that speak the classic protocol and the protocols they all
support, and :meth:`ConsumerGroup.partition_epoch` -- which member epoch owns
each partition. A partition is owned by at most one member at a time; taking over
an owned partition is a bug and raises (Kafka's ``IllegalStateException``), so a
coordinator can never hand one partition to two members.

The state is a function of the rest (``maybeUpdateGroupState``): Empty without
members, Assigning while the target lags the group epoch, Reconciling while some
member has not caught up with the target, Stable otherwise.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from odradek.coordinator.group.topics import TopicsView
from odradek.protocol.errors import ErrorCode, KafkaError

from .member import ConsumerGroupMember, MemberState, Partitions

#: The consumer group's "protocol type", as ListGroups reports it.
CONSUMER_PROTOCOL_TYPE = "consumer"
OFFSET_COMMIT_MEMBER_EPOCH_VERSION = 9


class ConsumerGroupState(Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    topic_id: uuid.UUID
    name: str
    num_partitions: int


class ConsumerGroup:
    """A group of members speaking the consumer protocol (ConsumerGroupHeartbeat)."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.state = ConsumerGroupState.EMPTY
        self.members: dict[str, ConsumerGroupMember] = {}
        self.static_members: dict[str, str] = {}
        #: topic name -> metadata, for the subscribed topics that exist.
        self.subscription_metadata: dict[str, TopicMetadata] = {}
        self.target_assignment: dict[str, Partitions] = {}
        self.subscribed_topic_names: Counter[str] = Counter()
        self.subscribed_regexes: Counter[str] = Counter()
        self.server_assignors: Counter[str] = Counter()
        #: How many members joined with JoinGroup, and how many of them list each
        #: classic protocol name.
        self.classic_members = 0
        self.classic_protocols: Counter[str] = Counter()
        self._partition_epochs: dict[uuid.UUID, dict[int, int]] = {}
        #: Set when the topics may have changed; the next heartbeat recomputes the
        #: subscription metadata (Kafka's metadata refresh deadline).
        self.metadata_refresh_needed = True

    def __repr__(self) -> str:
        return (
            f"ConsumerGroup({self.group_id!r}, {self.state}, epoch={self.group_epoch}, "
            f"assignment_epoch={self.assignment_epoch}, members={list(self.members)})"
        )

    @property
    def is_empty(self) -> bool:
        return self.state is ConsumerGroupState.EMPTY

    def has_member(self, member_id: str) -> bool:
        return member_id in self.members

    def member(self, member_id: str) -> ConsumerGroupMember:
        member = self.members.get(member_id)
        if member is None:
            raise KafkaError(
                ErrorCode.UNKNOWN_MEMBER_ID,
                f"Member {member_id} is not a member of group {self.group_id}.",
            )
        return member

    def static_member(self, instance_id: str) -> ConsumerGroupMember | None:
        member_id = self.static_members.get(instance_id)
        return None if member_id is None else self.members[member_id]

    def target_of(self, member_id: str, instance_id: str | None = None) -> Partitions:
        """A member's target; a static member inherits the one of its instance id."""
        if instance_id is not None:
            previous = self.static_members.get(instance_id)
            if previous is not None:
                return self.target_assignment.get(previous, {})
            return {}
        return self.target_assignment.get(member_id, {})

    def partition_epoch(self, topic_id: uuid.UUID, partition: int) -> int:
        """The epoch of the member owning the partition, or -1 if no member owns it."""
        return self._partition_epochs.get(topic_id, {}).get(partition, -1)

    def owned_partitions(self) -> dict[tuple[uuid.UUID, int], int]:
        """Every owned partition with the epoch of its owner."""
        return {
            (topic_id, p): epoch
            for topic_id, owners in self._partition_epochs.items()
            for p, epoch in owners.items()
        }

    # -- replay --------------------------------------------------------------------

    def set_group_epoch(self, epoch: int) -> None:
        self.group_epoch = epoch
        self._update_state()

    def set_assignment_epoch(self, epoch: int) -> None:
        self.assignment_epoch = epoch
        self._update_state()

    def set_target(self, member_id: str, partitions: Partitions | None) -> None:
        if partitions is None:
            self.target_assignment.pop(member_id, None)
        else:
            self.target_assignment[member_id] = partitions

    def update_member(self, member: ConsumerGroupMember) -> None:
        old = self.members.get(member.member_id)
        self.members[member.member_id] = member
        self._count(old, -1)
        self._count(member, +1)
        if old is not None:
            self._release(old)
        self._own(member)
        if member.instance_id is not None:
            self.static_members[member.instance_id] = member.member_id
        self._update_state()

    def remove_member(self, member_id: str) -> None:
        old = self.members.pop(member_id, None)
        if old is None:
            return
        self._count(old, -1)
        self._release(old)
        if old.instance_id is not None and self.static_members.get(old.instance_id) == member_id:
            del self.static_members[old.instance_id]
        self._update_state()

    def _count(self, member: ConsumerGroupMember | None, delta: int) -> None:
        if member is None:
            return
        for name in member.subscribed_topic_names:
            self.subscribed_topic_names[name] += delta
        if member.subscribed_topic_regex:
            self.subscribed_regexes[member.subscribed_topic_regex] += delta
        if member.server_assignor is not None:
            self.server_assignors[member.server_assignor] += delta
        if member.classic is not None:
            self.classic_members += delta
            for name in set(member.classic.protocol_names):
                self.classic_protocols[name] += delta
        for counter in (
            self.subscribed_topic_names,
            self.subscribed_regexes,
            self.server_assignors,
            self.classic_protocols,
        ):
            for key in [k for k, n in counter.items() if n <= 0]:
                del counter[key]

    def _own(self, member: ConsumerGroupMember) -> None:
        for partitions in (member.assigned_partitions, member.partitions_pending_revocation):
            for topic_id, ids in partitions.items():
                owners = self._partition_epochs.setdefault(topic_id, {})
                for p in ids:
                    if p in owners:
                        raise AssertionError(
                            f"group {self.group_id}: {topic_id}-{p} is owned at epoch {owners[p]}"
                            f" and cannot be given to {member.member_id}"
                        )
                    owners[p] = member.member_epoch

    def _release(self, member: ConsumerGroupMember) -> None:
        for partitions in (member.assigned_partitions, member.partitions_pending_revocation):
            for topic_id, ids in partitions.items():
                owners = self._partition_epochs.get(topic_id, {})
                for p in ids:
                    owners.pop(p, None)
                if not owners:
                    self._partition_epochs.pop(topic_id, None)

    def _update_state(self) -> None:
        if not self.members:
            self.state = ConsumerGroupState.EMPTY
        elif self.group_epoch > self.assignment_epoch:
            self.state = ConsumerGroupState.ASSIGNING
        elif any(not m.is_reconciled_to(self.assignment_epoch) for m in self.members.values()):
            self.state = ConsumerGroupState.RECONCILING
        else:
            self.state = ConsumerGroupState.STABLE

    # -- classic members -------------------------------------------------------------

    def supports_classic_protocols(self, protocol_type: str | None, names: Iterable[str]) -> bool:
        """Whether a JoinGroup listing ``names`` can join: one of them must be supported
        by every classic member (``ConsumerGroup.supportsClassicProtocols``)."""
        if protocol_type != CONSUMER_PROTOCOL_TYPE:
            return False
        names = set(names)
        if self.is_empty:
            return bool(names)
        return any(self.classic_protocols[n] == self.classic_members for n in names)

    def all_members_use_classic_protocol_except(self, member_id: str) -> bool:
        """Whether ``member_id`` is the one member speaking the consumer protocol."""
        member = self.members.get(member_id)
        return (
            member is not None
            and member.classic is None
            and self.classic_members == len(self.members) - 1
        )

    def waiting_on_unreleased_partition(self, member: ConsumerGroupMember) -> bool:
        """Whether partitions of the member's target are still owned by another member."""
        if member.state is not MemberState.UNRELEASED_PARTITIONS:
            return False
        for topic_id, ids in self.target_assignment.get(member.member_id, {}).items():
            assigned = member.assigned_partitions.get(topic_id, frozenset())
            if any(p not in assigned and self.partition_epoch(topic_id, p) != -1 for p in ids):
                return True
        return False

    # -- subscriptions -------------------------------------------------------------

    def is_subscribed_to(self, topic: str) -> bool:
        if topic in self.subscribed_topic_names:
            return True
        return any(_matches(regex, topic) for regex in self.subscribed_regexes)

    def subscriptions_with(
        self, old: ConsumerGroupMember | None, new: ConsumerGroupMember | None
    ) -> tuple[Counter[str], Counter[str]]:
        """Subscribed topic names and regexes if ``old`` were replaced by ``new``."""
        names, regexes = Counter(self.subscribed_topic_names), Counter(self.subscribed_regexes)
        for member, delta in ((old, -1), (new, +1)):
            if member is None:
                continue
            for name in member.subscribed_topic_names:
                names[name] += delta
            if member.subscribed_topic_regex:
                regexes[member.subscribed_topic_regex] += delta
        return +names, +regexes

    def preferred_assignor(
        self, old: ConsumerGroupMember | None = None, new: ConsumerGroupMember | None = None
    ) -> str | None:
        """The server assignor most members ask for, counting ``new`` instead of ``old``."""
        counts = Counter(self.server_assignors)
        if old is not None and old.server_assignor is not None:
            counts[old.server_assignor] -= 1
        if new is not None and new.server_assignor is not None:
            counts[new.server_assignor] += 1
        counts = +counts
        return counts.most_common(1)[0][0] if counts else None

    # -- offsets ---------------------------------------------------------------------

    def validate_offset_commit(self, member_id: str, member_epoch: int, api_version: int) -> None:
        """A member commits at its epoch; a classic member's generation is its epoch."""
        if member_epoch < 0 and not self.members:
            return  # an admin client or a consumer without group management
        member = self.member(member_id)
        if member.classic is None and api_version < OFFSET_COMMIT_MEMBER_EPOCH_VERSION:
            raise KafkaError(
                ErrorCode.UNSUPPORTED_VERSION,
                "OffsetCommit version 9 or above must be used by members using the consumer "
                "group protocol",
            )
        _check_member_epoch(member, member_epoch)

    def validate_offset_fetch(self, member_id: str | None, member_epoch: int) -> None:
        if member_id is None and member_epoch < 0:
            return
        _check_member_epoch(self.member(member_id or ""), member_epoch)


def _check_member_epoch(member: ConsumerGroupMember, received: int) -> None:
    if received == member.member_epoch:
        return
    if member.classic is not None:
        raise KafkaError(
            ErrorCode.ILLEGAL_GENERATION,
            f"The received generation id {received} does not match the expected member epoch "
            f"{member.member_epoch}.",
        )
    raise KafkaError(
        ErrorCode.STALE_MEMBER_EPOCH,
        f"The received member epoch {received} does not match the expected member "
        f"epoch {member.member_epoch}.",
    )


def subscribed_topics(
    names: Iterable[str], regexes: Iterable[str], topic_names: Iterable[str]
) -> set[str]:
    """Topic names subscribed to by name, plus the existing topics a regex matches."""
    result = set(names)
    patterns = [r for r in regexes if r]
    if patterns:
        result.update(t for t in topic_names if any(_matches(r, t) for r in patterns))
    return result


def subscription_metadata(
    names: Iterable[str], regexes: Iterable[str], topics: TopicsView
) -> dict[str, TopicMetadata]:
    """The subscribed topics that exist: by name, and those a regex matches."""
    wanted = subscribed_topics(names, regexes, topics.by_name)
    metadata = {}
    for name in wanted:
        topic = topics.get_by_name(name)
        if topic is not None:
            metadata[name] = TopicMetadata(topic.topic_id, name, len(topic.partitions))
    return metadata


def member_topics(
    member: ConsumerGroupMember, metadata: Mapping[str, TopicMetadata]
) -> frozenset[uuid.UUID]:
    """The ids of the topics in ``metadata`` the member subscribes to."""
    names = subscribed_topics(
        member.subscribed_topic_names, [member.subscribed_topic_regex], metadata
    )
    return frozenset(metadata[n].topic_id for n in names if n in metadata)


def _matches(regex: str, topic: str) -> bool:
    # Kafka matches with RE2/J, whole topic names; Python's re agrees with it on the
    # patterns subscriptions use (classes, alternation, repetition), not on every
    # corner of the syntax.
    try:
        return re.fullmatch(regex, topic) is not None
    except re.error:
        return False
