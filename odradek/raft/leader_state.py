"""The leader's state: every replica's progress, the high watermark, and check-quorum.

Kafka's ``LeaderState`` (KIP-595, "High Watermark" and "Fetch"; check-quorum from
KAFKA-15489). Replication is pull-based: followers and observers send Fetch with the
offset they want next, and that offset is the leader's only news of how far each one
has got (their logs are durable up to it: a replica flushes before it fetches again).

**High watermark.** The leader's own end offset counts as soon as it is flushed (the
core reports it just before the flush that the driver performs ahead of any message
that could reveal it). The high watermark is the offset a majority of voters have
reached (:func:`odradek.raft.majority.majority_end_offset`), with one more condition:
it must pass ``epoch_start_offset``, the offset of the leader's own first record in its
epoch (the LeaderChange control record). Until a record of its own epoch is committed a
new leader cannot know whether the older records it holds are committed, so it exposes
none (Raft's "commit only entries of the current term", section 5.4.2 of the Raft paper).
The high watermark never moves back, even if a follower's reported offset does.

**Check-quorum.** A leader cut off from a majority would otherwise go on believing it
leads. Every time voters making a majority with the leader have fetched, the timer
restarts; if it runs out (1.5 fetch timeouts) the leader resigns.
"""

from __future__ import annotations

from dataclasses import dataclass

from odradek.raft.majority import majority_end_offset, majority_size
from odradek.raft.states import EpochState

#: Observers silent for this long are forgotten (Kafka's OBSERVER_SESSION_TIMEOUT_MS).
OBSERVER_SESSION_TIMEOUT_MS = 300_000


@dataclass(slots=True)
class ReplicaState:
    """What the leader knows of one replica (DescribeQuorum reports it)."""

    node_id: int
    end_offset: int | None = None
    last_fetch_ms: int = -1
    last_caught_up_ms: int = -1
    #: The leader's end offset when this replica last fetched, to date "caught up".
    last_fetch_leader_end_offset: int = -1
    has_acknowledged_leader: bool = False

    def update_from_fetch(self, now_ms: int, fetch_offset: int, leader_end: int | None) -> None:
        # A fetch that reaches the leader's end offset of the previous fetch shows the
        # replica was caught up at that previous fetch's time.
        if leader_end is not None:
            if fetch_offset >= leader_end:
                self.last_caught_up_ms = max(self.last_caught_up_ms, now_ms)
            elif 0 < self.last_fetch_leader_end_offset <= fetch_offset:
                self.last_caught_up_ms = max(self.last_caught_up_ms, self.last_fetch_ms)
            self.last_fetch_leader_end_offset = leader_end
        self.last_fetch_ms = max(self.last_fetch_ms, now_ms)
        self.end_offset = fetch_offset
        self.has_acknowledged_leader = True


class LeaderState(EpochState):
    name = "Leader"

    def __init__(
        self,
        epoch: int,
        local_id: int,
        voters: frozenset[int],
        *,
        epoch_start_offset: int,
        granting_voters: frozenset[int],
        now_ms: int,
        check_quorum_timeout_ms: int,
    ) -> None:
        super().__init__(epoch, voters, None)
        self.local_id = local_id
        self.epoch_start_offset = epoch_start_offset
        self.granting_voters = granting_voters
        self.voter_states = {
            v: ReplicaState(v, has_acknowledged_leader=v == local_id) for v in sorted(voters)
        }
        self.observer_states: dict[int, ReplicaState] = {}
        self._check_quorum_timeout_ms = check_quorum_timeout_ms
        self.check_quorum_deadline = now_ms + check_quorum_timeout_ms
        self._fetched_voters: set[int] = set()
        #: When BeginQuorumEpoch goes out again; the first round goes out at once.
        self.begin_quorum_epoch_deadline = now_ms
        self.resign_requested = False

    @property
    def leader_id(self) -> int:
        return self.local_id

    @property
    def voted_id(self) -> int:
        return self.local_id

    # -- the high watermark --------------------------------------------------------------

    def update_local_end_offset(self, end_offset: int, now_ms: int) -> bool:
        """The leader's own log is durable up to ``end_offset``; returns whether the HW moved."""
        state = self.voter_states[self.local_id]
        state.end_offset = end_offset
        state.last_fetch_ms = state.last_caught_up_ms = now_ms
        return self._maybe_update_high_watermark()

    def update_replica_state(self, replica_id: int, fetch_offset: int, now_ms: int) -> bool:
        """A replica fetched from ``fetch_offset``; returns whether the HW moved."""
        if replica_id < 0:
            return False  # not a replica (a tool reading the log)
        if replica_id == self.local_id:
            raise ValueError(f"replica {replica_id} is the leader itself")
        state = self.voter_states.get(replica_id)
        if state is None:
            state = self.observer_states.setdefault(replica_id, ReplicaState(replica_id))
        leader_end = self.voter_states[self.local_id].end_offset
        state.update_from_fetch(now_ms, fetch_offset, leader_end)
        self.update_check_quorum(replica_id, now_ms)
        return replica_id in self.voter_states and self._maybe_update_high_watermark()

    def _maybe_update_high_watermark(self) -> bool:
        offsets = {v: s.end_offset for v, s in self.voter_states.items()}
        candidate = majority_end_offset(offsets, self.voters)
        if candidate is None or candidate <= self.epoch_start_offset:
            return False
        if self.high_watermark is not None and candidate <= self.high_watermark:
            return False
        self.high_watermark = candidate
        return True

    # -- check-quorum --------------------------------------------------------------------

    def update_check_quorum(self, voter_id: int, now_ms: int) -> None:
        """A voter fetched (log or snapshot): count it toward this check-quorum round."""
        if voter_id not in self.voter_states or voter_id == self.local_id:
            return
        self._fetched_voters.add(voter_id)
        # The leader is a voter too and counts itself without fetching.
        if len(self._fetched_voters) + 1 >= majority_size(len(self.voters)):
            self._fetched_voters.clear()
            self.check_quorum_deadline = now_ms + self._check_quorum_timeout_ms

    def check_quorum_expired(self, now_ms: int) -> bool:
        return len(self.voters) > 1 and now_ms >= self.check_quorum_deadline

    # -- the other voters ----------------------------------------------------------------

    def add_acknowledgement(self, voter_id: int) -> None:
        """A voter answered BeginQuorumEpoch: it knows this leader."""
        state = self.voter_states.get(voter_id)
        if state is not None:
            state.has_acknowledged_leader = True

    def other_voters(self) -> list[int]:
        return [v for v in self.voter_states if v != self.local_id]

    def voters_by_descending_end_offset(self) -> list[int]:
        """The other voters, most caught-up first: the preferred successors on resigning."""
        others = [self.voter_states[v] for v in self.other_voters()]
        others.sort(key=lambda s: -1 if s.end_offset is None else s.end_offset, reverse=True)
        return [s.node_id for s in others]

    def expire_observers(self, now_ms: int) -> None:
        stale = [
            node
            for node, state in self.observer_states.items()
            if now_ms - state.last_fetch_ms >= OBSERVER_SESSION_TIMEOUT_MS
        ]
        for node in stale:
            del self.observer_states[node]
