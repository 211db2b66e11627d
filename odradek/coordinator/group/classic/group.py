"""A classic group: its members, its generation, and the bookkeeping of a rebalance.

Kafka's ``ClassicGroup``. This class keeps the facts and enforces the invariants; the
decisions (when to rebalance, whom to answer, which timers to set) are in
:mod:`.rebalance` and the per-API modules.

What lives here, in two kinds:

* **Stored fields**, those a ``GroupMetadataValue`` record holds: protocol type,
  generation, selected protocol, leader, the state's timestamp, and each member with
  its subscription and assignment. A record is written when a generation completes
  (the leader's assignment is stored, or the group became empty, or a static member
  took a new member id) and :meth:`apply_record` is how replay brings these fields
  to what the record says, when loading the partition and on the live path alike.
* **Rebalance bookkeeping**, which no record holds: the state machine's position,
  members that joined since the last completed generation, the generation, protocol
  and leader handed out in JoinGroup responses before the leader's assignment is
  stored, parked requests, pending members (handed a member id, not yet rejoined)
  and pending syncs. A rebalance moves the fields above ahead of the log in memory,
  as Kafka's does; a coordinator that fails over loses that progress, and members of
  the interrupted rebalance find the last stored generation and rejoin.

Protocol selection is Kafka's: the candidates are the protocols every member
supports, each member votes for its most preferred candidate, the most votes win
(ties go to the protocol whose first vote came first, which makes the choice a
function of the join order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from odradek.coordinator.group.result import Caller
from odradek.protocol.codec import decode
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.consumer_protocol_subscription import (
    ConsumerProtocolSubscription,
)
from odradek.protocol.messages.clients.join_group_response import JoinGroupResponseMember
from odradek.protocol.messages.group_coordinator.group_metadata_value import (
    GroupMetadataValue,
    MemberMetadata,
)
from odradek.protocol.primitives import DecodeError

from .member import ClassicMember, Protocol
from .state import (
    COMPLETING_REBALANCE,
    DEAD,
    EMPTY,
    PREPARING_REBALANCE,
    STABLE,
    VALID_PREVIOUS,
    ClassicGroupState,
)

#: The protocol type of Kafka's consumers (``ConsumerProtocol.PROTOCOL_TYPE``).
CONSUMER_PROTOCOL_TYPE = "consumer"


class ClassicGroup:
    """A classic group (the JoinGroup/SyncGroup protocol)."""

    def __init__(
        self,
        group_id: str,
        *,
        state: ClassicGroupState = EMPTY,
        generation_id: int = 0,
        protocol_type: str | None = None,
        protocol_name: str | None = None,
        leader_id: str | None = None,
        state_timestamp_ms: int | None = None,
    ) -> None:
        self.group_id = group_id
        self.state = state
        self.previous_state = DEAD
        #: When the group entered its state; ``None`` for groups stored before Kafka 2.1.
        self.state_timestamp_ms = state_timestamp_ms
        self.protocol_type = protocol_type
        self.protocol_name = protocol_name
        self.generation_id = generation_id
        self.leader_id = leader_id
        self.members: dict[str, ClassicMember] = {}
        self.static_members: dict[str, str] = {}
        self.pending_join_members: set[str] = set()
        self.pending_sync_members: set[str] = set()
        #: Topics the members subscribe to, if known (consumer protocol only).
        self.subscribed_topics: frozenset[str] | None = None
        #: Set when a member joins during the initial delay, which then extends it.
        self.new_member_added = False
        self._protocol_support: Counter[str] = Counter()
        self._awaiting_join = 0

    def __repr__(self) -> str:
        return (
            f"ClassicGroup({self.group_id!r}, {self.state}, generation={self.generation_id}, "
            f"members={list(self.members)})"
        )

    # -- state ---------------------------------------------------------------------

    def is_in(self, state: ClassicGroupState) -> bool:
        return self.state is state

    @property
    def is_empty(self) -> bool:
        return self.state is EMPTY

    def can_rebalance(self) -> bool:
        return self.state in VALID_PREVIOUS[PREPARING_REBALANCE]

    def transition_to(self, state: ClassicGroupState, now_ms: int) -> None:
        if self.state not in VALID_PREVIOUS[state]:
            raise AssertionError(f"group {self.group_id} cannot move from {self.state} to {state}")
        self.previous_state = self.state
        self.state = state
        self.state_timestamp_ms = now_ms

    @property
    def uses_consumer_protocol(self) -> bool:
        return self.protocol_type == CONSUMER_PROTOCOL_TYPE

    # -- members -------------------------------------------------------------------

    def has_member(self, member_id: str) -> bool:
        return member_id in self.members

    def member(self, member_id: str) -> ClassicMember:
        return self.members[member_id]

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id is not None and self.leader_id == member_id

    def static_member_id(self, group_instance_id: str) -> str | None:
        return self.static_members.get(group_instance_id)

    def add(self, member: ClassicMember, awaiting_join: Caller | None = None) -> None:
        if member.group_instance_id is not None:
            if member.group_instance_id in self.static_members:
                raise AssertionError(f"instance {member.group_instance_id} is already a member")
            self.static_members[member.group_instance_id] = member.member_id
        if not self.members:
            self.protocol_type = member.protocol_type
        if member.protocol_type != self.protocol_type:
            raise AssertionError("the group and the member disagree on the protocol type")
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        self._protocol_support.update(member.protocol_names)
        member.awaiting_join = awaiting_join
        if awaiting_join is not None:
            self._awaiting_join += 1
        self.pending_join_members.discard(member.member_id)

    def remove(self, member_id: str) -> ClassicMember | None:
        """Drop a member (and its pending marks); the next member in join order leads."""
        removed = self.members.pop(member_id, None)
        if removed is not None:
            self._protocol_support.subtract(removed.protocol_names)
            if removed.awaiting_join is not None:
                self._awaiting_join -= 1
            if removed.group_instance_id is not None:
                self.static_members.pop(removed.group_instance_id, None)
        if self.is_leader(member_id):
            self.leader_id = next(iter(self.members), None)
        self.pending_join_members.discard(member_id)
        self.pending_sync_members.discard(member_id)
        return removed

    def update_member(
        self,
        member: ClassicMember,
        protocols: tuple[Protocol, ...],
        rebalance_timeout_ms: int,
        session_timeout_ms: int,
        awaiting_join: Caller | None,
    ) -> Caller | None:
        """Take a member's new JoinGroup; returns a parked JoinGroup it supersedes."""
        self._protocol_support.subtract(member.protocol_names)
        member.protocols = protocols
        self._protocol_support.update(member.protocol_names)
        member.rebalance_timeout_ms = rebalance_timeout_ms
        member.session_timeout_ms = session_timeout_ms
        superseded = member.awaiting_join
        if awaiting_join is not None and superseded is None:
            self._awaiting_join += 1
        elif awaiting_join is None and superseded is not None:
            self._awaiting_join -= 1
        member.awaiting_join = awaiting_join
        return superseded if awaiting_join is not None else None

    def take_awaiting_join(self, member: ClassicMember) -> Caller | None:
        """Unpark the member's JoinGroup, returning whom to answer."""
        caller = member.awaiting_join
        if caller is not None:
            member.awaiting_join = None
            self._awaiting_join -= 1
        return caller

    @staticmethod
    def take_awaiting_sync(member: ClassicMember) -> Caller | None:
        caller = member.awaiting_sync
        member.awaiting_sync = None
        return caller

    def replace_static_member(
        self, group_instance_id: str, old_member_id: str, new_member_id: str
    ) -> tuple[ClassicMember, ClassicMember]:
        """Give a static member a new member id; returns (new member, fenced old one).

        The old member's parked requests stay on the returned old member for the
        caller to answer with FENCED_INSTANCE_ID.
        """
        old = self.members.pop(old_member_id)
        if old.awaiting_join is not None:
            self._awaiting_join -= 1
        new = ClassicMember(
            member_id=new_member_id,
            group_instance_id=old.group_instance_id,
            client_id=old.client_id,
            client_host=old.client_host,
            rebalance_timeout_ms=old.rebalance_timeout_ms,
            session_timeout_ms=old.session_timeout_ms,
            protocol_type=old.protocol_type,
            protocols=old.protocols,
            assignment=old.assignment,
        )
        self.members[new_member_id] = new
        if self.is_leader(old_member_id):
            self.leader_id = new_member_id
        self.static_members[group_instance_id] = new_member_id
        return new, old

    def add_pending_member(self, member_id: str) -> None:
        if member_id in self.members:
            raise AssertionError(f"{member_id} is already a member")
        self.pending_join_members.add(member_id)

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self.pending_join_members

    def has_all_members_joined(self) -> bool:
        return len(self.members) == self._awaiting_join and not self.pending_join_members

    @property
    def awaiting_join_count(self) -> int:
        return self._awaiting_join

    def not_yet_rejoined(self) -> list[ClassicMember]:
        return [m for m in self.members.values() if m.awaiting_join is None]

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def validate_member(self, member_id: str, group_instance_id: str | None) -> None:
        """Raise UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID unless the ids name a member."""
        if group_instance_id is not None:
            existing = self.static_members.get(group_instance_id)
            if existing is None:
                raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
            if existing != member_id:
                raise KafkaError(ErrorCode.FENCED_INSTANCE_ID)
        if member_id not in self.members:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)

    # -- offsets ---------------------------------------------------------------------

    def validate_offset_commit(
        self, member_id: str, group_instance_id: str | None, generation_id: int
    ) -> None:
        """Raise the error an OffsetCommit from this member and generation gets, if any."""
        if self.state is DEAD:
            raise KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE)
        if generation_id < 0 and self.state is EMPTY:
            # Generation -1 is a consumer that does not use group management (or an
            # admin client): it may commit while the group has no members.
            return
        if generation_id >= 0 or member_id or group_instance_id is not None:
            self.validate_member(member_id, group_instance_id)
            if generation_id != self.generation_id:
                raise KafkaError(ErrorCode.ILLEGAL_GENERATION)
        elif self.state is not EMPTY:
            raise KafkaError(ErrorCode.UNKNOWN_MEMBER_ID)
        if self.state is COMPLETING_REBALANCE:
            # The member already has the new generation from its JoinGroup response
            # but no assignment yet: tell it to finish the rebalance first.
            raise KafkaError(ErrorCode.REBALANCE_IN_PROGRESS)

    def offset_expiry_base(self, commit_timestamp_ms: int) -> int | None:
        """When an offset's retention starts counting, or None if it cannot expire now.

        Kafka's ``ClassicGroup.offsetExpirationCondition``: offsets of an Empty group
        count from the moment it became empty; those of a Stable consumer group,
        from their commit, for topics it no longer subscribes to; those of a simple
        group (no protocol type), from their commit. Other groups keep their offsets.
        """
        if self.protocol_type is None:
            return commit_timestamp_ms
        if self.state is EMPTY:
            if self.state_timestamp_ms is None:
                return commit_timestamp_ms
            return self.state_timestamp_ms
        if (
            self.uses_consumer_protocol
            and self.subscribed_topics is not None
            and self.state is STABLE
        ):
            return commit_timestamp_ms
        return None

    # -- protocols and generations ---------------------------------------------------

    def supports_protocols(self, protocol_type: str, names: Iterable[str]) -> bool:
        names = list(names)
        if self.state is EMPTY:
            return bool(protocol_type) and bool(names)
        size = len(self.members)
        return protocol_type == self.protocol_type and any(
            self._protocol_support[name] == size for name in names
        )

    def select_protocol(self) -> str:
        if not self.members:
            raise AssertionError("cannot select a protocol for an empty group")
        size = len(self.members)
        candidates = {name for name, n in self._protocol_support.items() if n == size}
        votes: Counter[str] = Counter(m.vote(candidates) for m in self.members.values())
        # Counter.most_common keeps first-seen order among equal counts.
        return votes.most_common(1)[0][0]

    def maybe_elect_new_joined_leader(self) -> bool:
        """Make sure the leader is a member that rejoined; False if none rejoined."""
        if self.leader_id is None:
            return False
        if self.members[self.leader_id].awaiting_join is not None:
            return True
        for member in self.members.values():
            if member.awaiting_join is not None:
                self.leader_id = member.member_id
                return True
        return False

    def init_next_generation(self, now_ms: int) -> None:
        self.generation_id += 1
        if self.members:
            self.protocol_name = self.select_protocol()
            self.transition_to(COMPLETING_REBALANCE, now_ms)
        else:
            self.protocol_name = None
            self.transition_to(EMPTY, now_ms)
        self.subscribed_topics = self.compute_subscribed_topics()
        self.pending_sync_members.clear()

    def join_response_members(self) -> list[JoinGroupResponseMember]:
        """Every member's metadata for the selected protocol: what the leader assigns from."""
        if self.state in (DEAD, PREPARING_REBALANCE) or self.protocol_name is None:
            raise AssertionError(f"group {self.group_id} has no member metadata in {self.state}")
        return [
            JoinGroupResponseMember(
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                metadata=m.metadata(self.protocol_name),
            )
            for m in self.members.values()
        ]

    # -- topics --------------------------------------------------------------------

    def compute_subscribed_topics(self) -> frozenset[str] | None:
        """The topics of all members' consumer subscriptions, if that can be known.

        Only consumer-protocol groups say what they subscribe to. Every version of
        ``ConsumerProtocolSubscription`` starts with the fields of version 0, so the
        topics are read that way whatever version a client wrote.
        """
        if not self.uses_consumer_protocol:
            return None
        if not self.members:
            return frozenset()
        if self.protocol_name is None:
            return None
        topics: set[str] = set()
        try:
            for member in self.members.values():
                metadata = member.metadata(self.protocol_name)
                subscription = decode(
                    ConsumerProtocolSubscription, metadata[2:], 0, allow_trailing=True
                )
                topics.update(subscription.topics)
        except (DecodeError, ValueError):
            return None
        return frozenset(topics)

    def is_subscribed_to(self, topic: str) -> bool:
        if self.subscribed_topics is None:
            return self.uses_consumer_protocol
        return topic in self.subscribed_topics

    # -- the durable view ------------------------------------------------------------

    def to_record_value(self, assignments: dict[str, bytes]) -> GroupMetadataValue:
        """The GroupMetadataValue of this generation with ``assignments`` (member -> bytes)."""
        members = []
        for m in self.members.values():
            if self.protocol_name is None:
                raise AssertionError("a group with members has no selected protocol")
            members.append(
                MemberMetadata(
                    member_id=m.member_id,
                    group_instance_id=m.group_instance_id,
                    client_id=m.client_id,
                    client_host=m.client_host,
                    rebalance_timeout=m.rebalance_timeout_ms,
                    session_timeout=m.session_timeout_ms,
                    subscription=m.metadata(self.protocol_name),
                    assignment=assignments[m.member_id],
                )
            )
        return GroupMetadataValue(
            protocol_type=self.protocol_type or "",
            generation=self.generation_id,
            protocol=self.protocol_name,
            leader=self.leader_id,
            current_state_timestamp=(
                -1 if self.state_timestamp_ms is None else self.state_timestamp_ms
            ),
            members=members,
        )

    def apply_record(self, value: GroupMetadataValue) -> None:
        """Bring the durable fields to what ``value`` says (replay of a GroupMetadataValue).

        Members missing from the record leave, members new to it are added with the
        record's subscription as their only protocol, and every member takes the
        record's assignment. The state becomes Stable (members) or Empty (none): on
        the live path that is the leader's assignment completing a rebalance, or a
        no-op; on load it is the only state a stored group can be in. Parked requests
        and pending members are left alone.
        """
        self.protocol_type = value.protocol_type or None
        self.generation_id = value.generation
        self.protocol_name = value.protocol
        timestamp = value.current_state_timestamp
        self.state_timestamp_ms = None if timestamp == -1 else timestamp
        recorded = {m.member_id for m in value.members}
        for member_id in [m for m in self.members if m not in recorded]:
            self.remove(member_id)
        for stored in value.members:
            self._apply_member(stored, value)
        self.leader_id = value.leader
        target = STABLE if self.members else EMPTY
        if self.state is not target:
            self.previous_state, self.state = self.state, target
        self.subscribed_topics = self.compute_subscribed_topics()

    def _apply_member(self, stored: MemberMetadata, value: GroupMetadataValue) -> None:
        protocol = value.protocol or ""
        rebalance_timeout = (
            stored.session_timeout if stored.rebalance_timeout == -1 else stored.rebalance_timeout
        )
        member = self.members.get(stored.member_id)
        if member is None:
            self.add(
                ClassicMember(
                    member_id=stored.member_id,
                    group_instance_id=stored.group_instance_id,
                    client_id=stored.client_id,
                    client_host=stored.client_host,
                    rebalance_timeout_ms=rebalance_timeout,
                    session_timeout_ms=stored.session_timeout,
                    protocol_type=value.protocol_type,
                    protocols=((protocol, stored.subscription),),
                    assignment=stored.assignment,
                )
            )
            return
        # The record is the truth about the selected protocol; the other protocols a
        # live member offered are kept as long as they agree with it.
        if (protocol, stored.subscription) not in member.protocols:
            self._protocol_support.subtract(member.protocol_names)
            member.protocols = ((protocol, stored.subscription),)
            self._protocol_support.update(member.protocol_names)
        member.client_id = stored.client_id
        member.client_host = stored.client_host
        member.rebalance_timeout_ms = rebalance_timeout
        member.session_timeout_ms = stored.session_timeout
        member.assignment = stored.assignment
