"""One member of a classic group: who it is, what it supports, what it was assigned.

Kafka's ``ClassicGroupMember``. A member is identified by the member id the
coordinator gave it and, for a static member, by the ``group.instance.id`` its user
configured. It lists the protocols it supports (for consumers: the assignors, each
with the subscription serialized as that assignor wants it) in order of preference;
the coordinator picks one protocol for the whole group and stores, per member, the
metadata of that protocol (its "subscription") and the assignment the leader computed.

A member parks at most one JoinGroup and one SyncGroup at a time: ``awaiting_join``
and ``awaiting_sync`` hold the :class:`~odradek.coordinator.group.result.Caller` to
answer when the rebalance moves on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from odradek.coordinator.group.result import Caller

#: (protocol name, protocol metadata), in the member's order of preference.
Protocol = tuple[str, bytes]


@dataclass(slots=True, eq=False)
class ClassicMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    protocol_type: str
    protocols: tuple[Protocol, ...]
    assignment: bytes = b""
    awaiting_join: Caller | None = field(default=None, repr=False)
    awaiting_sync: Caller | None = field(default=None, repr=False)
    #: Joined but not yet part of a completed generation: its session timer is the
    #: join timeout, and it gets no grace for being mid-rebalance.
    is_new: bool = False

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    @property
    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata(self, protocol_name: str) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol_name:
                return metadata
        raise ValueError(f"member {self.member_id} does not support protocol {protocol_name}")

    def matches(self, protocols: tuple[Protocol, ...]) -> bool:
        """Whether a JoinGroup with ``protocols`` changes nothing about this member."""
        return protocols == self.protocols

    def vote(self, candidates: set[str]) -> str:
        """The member's most preferred protocol among ``candidates``."""
        for name, _ in self.protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")

    def has_satisfied_heartbeat(self) -> bool:
        """Whether an expiring session timer should spare this member.

        A member parked in JoinGroup or SyncGroup cannot heartbeat, so it is spared;
        except a new member, whose only timer is the join timeout.
        """
        if self.is_new:
            return False
        return self.awaiting_join is not None or self.awaiting_sync is not None
