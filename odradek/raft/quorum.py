"""Which epoch state a replica is in, and the only ways it may move between them.

Kafka's ``QuorumState`` (KIP-595 with KIP-996's Prospective state). The transitions, as
data (a voter may take every arrow; an observer only those between Unattached and
Follower):

==============  ==============================================================  ===========
from            to, and why                                                     persisted
==============  ==============================================================  ===========
Unattached      Unattached: a higher epoch; or a vote granted in this epoch     yes
                Prospective: the election timeout ran out; or at start, as the  no
                only voter
                Follower: a leader of this or a higher epoch made itself known  yes
Prospective     Candidate: a majority granted the pre-vote                      yes
                Follower: a leader made itself known (a higher epoch, or this   yes
                epoch if it had none); or the pre-vote failed and it had one
                Unattached: a higher epoch; or the pre-vote failed without a    yes
                leader to go back to
Candidate       Leader: a majority granted the vote                             yes
                Prospective: lost or timed out, after the election backoff      no
                Follower / Unattached: a leader or a higher epoch               yes
Leader          Resigned: shutting down, or check-quorum failed                 no
                Follower / Unattached: a higher epoch                           yes
Follower        Prospective: the fetch timeout ran out; or at start, as the     no
                only voter
                Follower / Unattached: a higher epoch                           yes
Resigned        Unattached (next epoch): the election timeout ran out           yes
                Prospective: at start, as the only voter                        no
                Follower / Unattached: a higher epoch                           yes
==============  ==============================================================  ===========

"Persisted" transitions change the epoch, the leader or the vote, so their new
:class:`~odradek.raft.election.ElectionState` is queued in :attr:`QuorumState.pending_election`
for the driver to write before anything else leaves (see :mod:`odradek.raft.ready`). The
others keep what is on disk true: a Prospective replica has not voted for itself yet,
and a Resigned leader restarts as Resigned anyway (a restarted leader is Resigned in its
old epoch so that it never leads or votes there again).

The only voter's own pre-vote and vote are a majority, and nobody else can answer, so
at start it runs through Prospective and Candidate to Leader at once, as Kafka's
``KafkaRaftClient.initialize`` does; restored as Candidate, it leads at once (see
:meth:`RaftCore._elect_at_start <odradek.raft.core.RaftCore._elect_at_start>`).

A transition that breaks these rules raises :class:`IllegalTransitionError`: it would be
a bug in the core, never a consequence of what the network delivered.
"""

from __future__ import annotations

from typing import Protocol

from odradek.raft.config import QuorumConfig
from odradek.raft.election import ElectionState
from odradek.raft.leader_state import LeaderState
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.states import (
    CandidateState,
    EpochState,
    FollowerState,
    ProspectiveState,
    ResignedState,
    UnattachedState,
)


class RandomSource(Protocol):
    """The randomness the core needs, injected (``random.Random`` is one)."""

    def randrange(self, stop: int, /) -> int: ...


class IllegalTransitionError(Exception):
    pass


class QuorumState:
    def __init__(
        self, local_id: int, voters: frozenset[int], config: QuorumConfig, rng: RandomSource
    ) -> None:
        if not voters:
            raise ValueError("the quorum needs at least one voter")
        self.local_id = local_id
        self.voters = voters
        self.config = config
        self.rng = rng
        self.state: EpochState = UnattachedState(0, voters, election_deadline=None)
        self.pending_election: ElectionState | None = None

    # -- what the replica is -------------------------------------------------------------

    @property
    def is_voter(self) -> bool:
        return self.local_id in self.voters

    @property
    def is_observer(self) -> bool:
        return not self.is_voter

    @property
    def is_only_voter(self) -> bool:
        return self.voters == {self.local_id}

    @property
    def epoch(self) -> int:
        return self.state.epoch

    @property
    def leader_id(self) -> int | None:
        return self.state.leader_id

    @property
    def high_watermark(self) -> int | None:
        return self.state.high_watermark

    def random_election_timeout_ms(self) -> int:
        timeout = self.config.election_timeout_ms
        return timeout + self.rng.randrange(timeout) if timeout > 0 else 0

    def _election_deadline(self, now_ms: int) -> int | None:
        return now_ms + self.random_election_timeout_ms() if self.is_voter else None

    def _durable(self, state: EpochState) -> None:
        self.state = state
        self.pending_election = state.election()

    def _memory(self, state: EpochState) -> None:
        self.state = state

    # -- start -----------------------------------------------------------------------------

    def initialize(
        self, stored: ElectionState | None, log_end: OffsetAndEpoch, now_ms: int
    ) -> None:
        """Start from the stored election state (None for a new replica) and the log's end."""
        election = stored or ElectionState.unknown_leader(0, self.voters)
        if election.voted_id is not None and self.is_observer:
            raise IllegalTransitionError(f"observer {self.local_id} has a stored vote: {election}")
        deadline = self._election_deadline(now_ms)
        state: EpochState
        if election.epoch < log_end.epoch:
            # The log saw a later epoch than the file (written by an older version, or
            # lost): start there, knowing nothing else of it.
            state = UnattachedState(log_end.epoch, self.voters, election_deadline=deadline)
        elif election.is_leader(self.local_id):
            assert deadline is not None
            state = ResignedState(
                election.epoch,
                self.local_id,
                self.voters,
                election_deadline=deadline,
                preferred_successors=[],
            )
        elif election.has_voted_for(self.local_id) and self.is_voter:
            assert deadline is not None
            state = CandidateState(
                election.epoch,
                self.local_id,
                self.voters,
                election_deadline=deadline,
                retries=1,
                high_watermark=None,
            )
        elif election.leader_id is not None:
            state = FollowerState(
                election.epoch,
                election.leader_id,
                self.voters,
                voted_id=election.voted_id,
                fetch_deadline=now_ms + self.config.fetch_timeout_ms,
                high_watermark=None,
            )
        else:
            state = UnattachedState(
                election.epoch,
                self.voters,
                voted_id=election.voted_id,
                election_deadline=deadline,
            )
        self._durable(state)

    # -- transitions -----------------------------------------------------------------------

    def to_resigned(self, preferred_successors: list[int], now_ms: int) -> ResignedState:
        if not isinstance(self.state, LeaderState):
            raise IllegalTransitionError(f"only a leader resigns, not {self.state}")
        state = ResignedState(
            self.epoch,
            self.local_id,
            self.voters,
            election_deadline=now_ms + self.random_election_timeout_ms(),
            preferred_successors=preferred_successors,
        )
        self._memory(state)
        return state

    def to_unattached(self, epoch: int, now_ms: int, leader_id: int | None = None) -> None:
        current = self.state
        same_epoch = epoch == current.epoch
        if epoch < current.epoch or (same_epoch and not isinstance(current, ProspectiveState)):
            raise IllegalTransitionError(f"cannot go to Unattached in epoch {epoch} from {current}")
        deadline: int | None
        if self.is_observer:
            deadline = None
        elif isinstance(current, CandidateState | UnattachedState | ResignedState) or (
            isinstance(current, ProspectiveState) and not current.tally.is_lost
        ):
            deadline = current.election_deadline
        else:
            deadline = self._election_deadline(now_ms)
        self._durable(
            UnattachedState(
                epoch,
                self.voters,
                leader_id=leader_id,
                # Within one epoch a vote is never forgotten.
                voted_id=current.voted_id if same_epoch else None,
                election_deadline=deadline,
                high_watermark=current.high_watermark,
            )
        )

    def unattached_add_vote(self, candidate_id: int, now_ms: int) -> None:
        current = self.state
        if (
            not isinstance(current, UnattachedState)
            or current.voted_id is not None
            or candidate_id == self.local_id
            or self.is_observer
        ):
            raise IllegalTransitionError(f"cannot vote for {candidate_id} from {current}")
        # Voting restarts the timer: the candidate has as good a chance as this replica.
        self._durable(
            UnattachedState(
                current.epoch,
                self.voters,
                leader_id=current.leader_id,
                voted_id=candidate_id,
                election_deadline=self._election_deadline(now_ms),
                high_watermark=current.high_watermark,
            )
        )

    def prospective_add_vote(self, candidate_id: int, now_ms: int) -> None:
        current = self.state
        if (
            not isinstance(current, ProspectiveState)
            or current.voted_id is not None
            or candidate_id == self.local_id
        ):
            raise IllegalTransitionError(f"cannot vote for {candidate_id} from {current}")
        self._durable(
            ProspectiveState(
                current.epoch,
                self.local_id,
                self.voters,
                leader_id=current.leader_id,
                voted_id=candidate_id,
                election_deadline=now_ms + self.random_election_timeout_ms(),
                retries=current.retries,
                high_watermark=current.high_watermark,
            )
        )

    def to_follower(self, epoch: int, leader_id: int, now_ms: int) -> FollowerState:
        current = self.state
        if leader_id == self.local_id:
            raise IllegalTransitionError(f"cannot follow itself in epoch {epoch}")
        if epoch < current.epoch or (
            epoch == current.epoch and isinstance(current, FollowerState | LeaderState)
        ):
            raise IllegalTransitionError(
                f"cannot follow {leader_id} in epoch {epoch} from {current}"
            )
        state = FollowerState(
            epoch,
            leader_id,
            self.voters,
            voted_id=current.voted_id if epoch == current.epoch else None,
            fetch_deadline=now_ms + self.config.fetch_timeout_ms,
            high_watermark=current.high_watermark,
        )
        self._durable(state)
        return state

    def to_prospective(self, now_ms: int) -> ProspectiveState:
        current = self.state
        if self.is_observer or isinstance(current, LeaderState | ProspectiveState):
            raise IllegalTransitionError(f"cannot become prospective from {current}")
        retries = current.retries + 1 if isinstance(current, CandidateState) else 1
        # A restarted leader (Resigned) runs again without a leader to go back to: it
        # never follows itself.
        leader_id = None if current.leader_id == self.local_id else current.leader_id
        state = ProspectiveState(
            current.epoch,
            self.local_id,
            self.voters,
            leader_id=leader_id,
            voted_id=current.voted_id,
            election_deadline=now_ms + self.random_election_timeout_ms(),
            retries=retries,
            high_watermark=current.high_watermark,
        )
        self._memory(state)
        return state

    def to_candidate(self, now_ms: int) -> CandidateState:
        current = self.state
        if self.is_observer or not isinstance(current, ProspectiveState):
            raise IllegalTransitionError(f"only a prospective voter runs, not {current}")
        state = CandidateState(
            current.epoch + 1,
            self.local_id,
            self.voters,
            election_deadline=now_ms + self.random_election_timeout_ms(),
            retries=current.retries,
            high_watermark=current.high_watermark,
        )
        self._durable(state)
        return state

    def to_leader(self, epoch_start_offset: int, now_ms: int) -> LeaderState:
        current = self.state
        if not isinstance(current, CandidateState) or not current.tally.is_won:
            raise IllegalTransitionError(f"cannot lead from {current}")
        # The high watermark is not carried over: the new leader learns it again once a
        # record of its own epoch is committed, so that it can only move forward.
        state = LeaderState(
            current.epoch,
            self.local_id,
            self.voters,
            epoch_start_offset=epoch_start_offset,
            granting_voters=current.tally.granted,
            now_ms=now_ms,
            check_quorum_timeout_ms=self.config.check_quorum_timeout_ms,
        )
        self._durable(state)
        return state
