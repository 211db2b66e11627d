"""The states a replica can be in within one epoch, except Leader.

Kafka's ``EpochState`` and its subclasses (KIP-595, "Leader Election"; KIP-996,
"Pre-Vote"). Each state knows its epoch, the leader and vote it would persist
(:meth:`EpochState.election`), its own timer as an absolute deadline in milliseconds, and
whether it may grant a vote (:meth:`EpochState.can_grant_vote`). Which state follows
which is decided in :mod:`odradek.raft.quorum`; the leader's state, with its view of
every replica, is :mod:`odradek.raft.leader_state`.

How votes are granted, state by state (``log_up_to_date``: the requester's last
``(epoch, offset)`` is at least ours, :func:`odradek.raft.offsets.is_at_least`):

============  =========================================  ===============================
state         pre-vote (no epoch change, no promise)     vote (a promise for the epoch)
============  =========================================  ===============================
Unattached    if the log is up to date                   if voted for this candidate, or
Prospective                                              if no vote, no leader and the
                                                         log is up to date
Candidate     if the log is up to date                   never (voted for itself)
Follower      if the log is up to date *and* no fetch    never (has a leader)
              from the leader has succeeded yet
Resigned      if the log is up to date                   never (was the leader)
Leader        never                                      never
============  =========================================  ===============================

The Follower row is what makes pre-vote useful: a voter that still hears from its
leader refuses, so a replica coming back from a partition cannot win a pre-vote while the
leader is healthy, and never bumps the epoch that would depose it.
"""

from __future__ import annotations

from typing import ClassVar

from odradek.raft.election import ElectionState
from odradek.raft.log import RawSnapshotWriter
from odradek.raft.majority import VoteTally


class EpochState:
    """What every state shares: an epoch, a voter set, and a high watermark if known."""

    name: ClassVar[str] = "?"

    def __init__(self, epoch: int, voters: frozenset[int], high_watermark: int | None) -> None:
        self.epoch = epoch
        self.voters = voters
        self.high_watermark = high_watermark

    @property
    def leader_id(self) -> int | None:
        return None

    @property
    def voted_id(self) -> int | None:
        return None

    def election(self) -> ElectionState:
        return ElectionState(self.epoch, self.leader_id, self.voted_id, self.voters)

    def can_grant_vote(self, candidate_id: int, log_up_to_date: bool, pre_vote: bool) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{self.name}({self.election()})"


class _WithoutLeaderState(EpochState):
    """Unattached and Prospective: a leader they may remember and a vote they may have
    cast in this epoch, and the same rule for granting votes."""

    _leader_id: int | None
    _voted_id: int | None

    @property
    def leader_id(self) -> int | None:
        return self._leader_id

    @property
    def voted_id(self) -> int | None:
        return self._voted_id

    def can_grant_vote(self, candidate_id: int, log_up_to_date: bool, pre_vote: bool) -> bool:
        if pre_vote:
            return log_up_to_date
        if self._voted_id is not None:
            # Granting the same candidate again is safe (a retried request) and needed.
            return self._voted_id == candidate_id
        if self._leader_id is not None:
            return False
        return log_up_to_date


class UnattachedState(_WithoutLeaderState):
    """An epoch is known but no leader is followed: waiting for an election to end.

    A voter that voted in this epoch remembers whom (``voted_id``). Observers have no
    election timer (``election_deadline`` None): they never run for leader.
    """

    name = "Unattached"

    def __init__(
        self,
        epoch: int,
        voters: frozenset[int],
        *,
        leader_id: int | None = None,
        voted_id: int | None = None,
        election_deadline: int | None,
        high_watermark: int | None = None,
    ) -> None:
        super().__init__(epoch, voters, high_watermark)
        self._leader_id = leader_id
        self._voted_id = voted_id
        self.election_deadline = election_deadline


class ProspectiveState(_WithoutLeaderState):
    """Asking the other voters whether they would vote for us, without changing the epoch.

    KIP-996. A voter whose leader went silent (or that never found one) becomes
    prospective in its current epoch and sends pre-votes. A majority of grants makes it a
    candidate in the next epoch; a majority of rejections, or the election timeout, sends
    it back to following its old leader if it had one, else to Unattached.
    """

    name = "Prospective"

    def __init__(
        self,
        epoch: int,
        local_id: int,
        voters: frozenset[int],
        *,
        leader_id: int | None,
        voted_id: int | None,
        election_deadline: int,
        retries: int,
        high_watermark: int | None,
    ) -> None:
        super().__init__(epoch, voters, high_watermark)
        self.local_id = local_id
        self._leader_id = leader_id
        self._voted_id = voted_id
        self.election_deadline = election_deadline
        self.retries = retries
        self.tally = VoteTally(voters)
        self.tally.record(local_id, True)


class CandidateState(EpochState):
    """Running for leader in a new epoch, having voted for itself.

    After a lost election (a majority rejected) or an election timeout the candidate
    backs off for a random, exponentially growing time (``backoff_deadline``), then goes
    back to Prospective.
    """

    name = "Candidate"

    def __init__(
        self,
        epoch: int,
        local_id: int,
        voters: frozenset[int],
        *,
        election_deadline: int,
        retries: int,
        high_watermark: int | None,
    ) -> None:
        super().__init__(epoch, voters, high_watermark)
        self.local_id = local_id
        self.election_deadline = election_deadline
        self.retries = retries
        self.backoff_deadline: int | None = None
        self.tally = VoteTally(voters)
        self.tally.record(local_id, True)

    @property
    def voted_id(self) -> int | None:
        return self.local_id

    def can_grant_vote(self, candidate_id: int, log_up_to_date: bool, pre_vote: bool) -> bool:
        # Its own vote is implicit, never granted through a request.
        return pre_vote and log_up_to_date


class FollowerState(EpochState):
    """Following a known leader: fetching from it, or fetching a snapshot from it.

    The fetch timer restarts with every successful Fetch or FetchSnapshot response; when
    it runs out a voter becomes prospective (an observer looks for the leader elsewhere).
    ``fetching_snapshot`` holds the partial snapshot while one is being transferred.
    """

    name = "Follower"

    def __init__(
        self,
        epoch: int,
        leader_id: int,
        voters: frozenset[int],
        *,
        voted_id: int | None,
        fetch_deadline: int,
        high_watermark: int | None,
    ) -> None:
        super().__init__(epoch, voters, high_watermark)
        self._leader_id = leader_id
        self._voted_id = voted_id
        self.fetch_deadline = fetch_deadline
        self.has_fetched_from_leader = False
        self.fetching_snapshot: RawSnapshotWriter | None = None

    @property
    def leader_id(self) -> int:
        return self._leader_id

    @property
    def voted_id(self) -> int | None:
        return self._voted_id

    def can_grant_vote(self, candidate_id: int, log_up_to_date: bool, pre_vote: bool) -> bool:
        return pre_vote and log_up_to_date and not self.has_fetched_from_leader

    def update_high_watermark(self, high_watermark: int) -> bool:
        """Take a new high watermark from the leader; returns whether it moved.

        It never moves back: a lower value means two leaders disagree on what is
        committed, which Raft rules out, so it is raised as a bug.
        """
        if self.high_watermark is not None:
            if high_watermark < self.high_watermark:
                raise AssertionError(
                    f"high watermark would move back from {self.high_watermark} to "
                    f"{high_watermark} in epoch {self.epoch}"
                )
            if high_watermark == self.high_watermark:
                return False
        self.high_watermark = high_watermark
        return True


class ResignedState(EpochState):
    """A leader that stepped down (shutdown, or lost contact with a majority).

    It keeps its epoch so it cannot vote in it, tells the voters with EndQuorumEpoch
    (``unacked_voters`` are those that have not answered), and when its election timer
    runs out moves to the next epoch as Unattached. A leader that restarts starts here
    too, for the same reason: it must never lead, or vote, in that epoch again.
    """

    name = "Resigned"

    def __init__(
        self,
        epoch: int,
        local_id: int,
        voters: frozenset[int],
        *,
        election_deadline: int,
        preferred_successors: list[int],
    ) -> None:
        super().__init__(epoch, voters, None)
        self.local_id = local_id
        self.election_deadline = election_deadline
        self.preferred_successors = preferred_successors
        self.unacked_voters = set(voters) - {local_id}

    @property
    def leader_id(self) -> int:
        return self.local_id

    def can_grant_vote(self, candidate_id: int, log_up_to_date: bool, pre_vote: bool) -> bool:
        return pre_vote and log_up_to_date
