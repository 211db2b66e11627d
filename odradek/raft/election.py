"""What a voter must remember across restarts: its epoch, its leader, and its vote.

Kafka's ``ElectionState`` (KIP-595, "Quorum State"). Raft's one-leader-per-epoch
guarantee rests on two promises a voter keeps even through a crash: it never goes back to
a lower epoch, and it never votes for two candidates in the same epoch. So before a voter
answers a Vote with "granted", or a candidate asks for votes in a new epoch, the new
election state is written to the ``quorum-state`` file
(:mod:`odradek.raft.quorum_state_store`); the core hands it to the driver in
:attr:`odradek.raft.ready.Ready.election` ahead of any message.

The record is the ``QuorumStateData`` message (``raft/QuorumStateData.json``): the
epoch, the leader if known (-1 otherwise), the candidate voted for in this epoch (-1 if
none), and at version 0 the voter ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from odradek.protocol.messages.raft.quorum_state_data import QuorumStateData, Voter

NO_LEADER = -1
NOT_VOTED = -1


@dataclass(frozen=True, slots=True)
class ElectionState:
    epoch: int
    leader_id: int | None = None
    voted_id: int | None = None
    voters: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.epoch < 0:
            raise ValueError(f"epoch {self.epoch} is negative")

    @classmethod
    def unknown_leader(cls, epoch: int, voters: Iterable[int]) -> ElectionState:
        return cls(epoch, None, None, frozenset(voters))

    def is_leader(self, node_id: int) -> bool:
        return self.leader_id == node_id

    def has_voted_for(self, node_id: int) -> bool:
        return self.voted_id == node_id

    def to_quorum_state_data(self) -> QuorumStateData:
        """The version-0 record Kafka writes for a quorum with a static voter set."""
        return QuorumStateData(
            cluster_id="",
            leader_id=NO_LEADER if self.leader_id is None else self.leader_id,
            leader_epoch=self.epoch,
            voted_id=NOT_VOTED if self.voted_id is None else self.voted_id,
            applied_offset=0,
            current_voters=[Voter(voter_id=v) for v in sorted(self.voters)],
        )

    @classmethod
    def from_quorum_state_data(
        cls, data: QuorumStateData, voters: Iterable[int] = ()
    ) -> ElectionState:
        """Read a stored record; version 1 records carry no voters, so ``voters`` fills in."""
        stored = {v.voter_id for v in data.current_voters or ()}
        return cls(
            epoch=data.leader_epoch,
            leader_id=None if data.leader_id < 0 else data.leader_id,
            voted_id=None if data.voted_id < 0 else data.voted_id,
            voters=frozenset(stored or voters),
        )

    def __str__(self) -> str:
        leader = "none" if self.leader_id is None else self.leader_id
        voted = "none" if self.voted_id is None else self.voted_id
        return f"epoch {self.epoch}, leader {leader}, voted {voted}"
