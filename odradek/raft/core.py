"""The Raft core: one replica of the metadata log, as a state machine without I/O.

Kafka's ``KafkaRaftClient`` (KIP-595, KIP-630, KIP-996), cut into a pure core that takes
inputs and returns outputs; see :mod:`odradek.raft` for the theory of operation and
:mod:`odradek.raft.ready` for the contract with the driver. This module holds what every
part shares: the inputs, the transitions with their side effects, the handling common to
all responses, and the assembly of a :class:`~odradek.raft.ready.Ready`. The protocol's
handlers live beside it, one module per conversation:

* :mod:`odradek.raft.voting` -- Vote and pre-vote, both sides;
* :mod:`odradek.raft.epoch_notices` -- BeginQuorumEpoch and EndQuorumEpoch;
* :mod:`odradek.raft.leader_fetch` -- Fetch, FetchSnapshot and DescribeQuorum at the leader;
* :mod:`odradek.raft.follower_fetch` -- their responses at a follower or observer;
* :mod:`odradek.raft.poll` -- what each state does when its timers run out.

Any exception from an input other than :class:`NotLeaderError`,
:class:`~odradek.raft.accumulator.RecordBatchTooLargeError` and ``ValueError`` for a bad
argument is a bug; :class:`RaftSafetyError` means the core caught a broken Raft
invariant (two leaders in one epoch, a committed record about to be removed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from odradek.protocol.errors import ErrorCode
from odradek.raft import epoch_notices, follower_fetch, leader_fetch, poll, voting
from odradek.raft.accumulator import BatchAccumulator, PendingBatch
from odradek.raft.batches import data_batch, decode_batches, leader_change_batch
from odradek.raft.config import MAX_BATCH_SIZE_BYTES, QuorumConfig
from odradek.raft.election import ElectionState
from odradek.raft.errors import NotLeaderError, RaftSafetyError
from odradek.raft.leader_state import LeaderState
from odradek.raft.log import RaftLog
from odradek.raft.messages import RaftMessage, Request, RequestBody, Response, ResponseBody
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.purgatory import FetchPurgatory
from odradek.raft.quorum import QuorumState, RandomSource
from odradek.raft.ready import Commit, Event, LeaderChange, LoadSnapshot, Ready
from odradek.raft.request_manager import RequestManager
from odradek.raft.snapshots import SnapshotWriter, read_snapshot
from odradek.raft.states import (
    CandidateState,
    EpochState,
    FollowerState,
    ResignedState,
    UnattachedState,
)

if TYPE_CHECKING:
    from collections.abc import Callable

#: How many bytes of committed log one Commit event reads at most (one read per event).
COMMIT_READ_BYTES = 8 * 1024 * 1024


_REQUEST_HANDLERS: dict[int, Callable[[RaftCore, Request, int], None]] = {
    52: voting.handle_vote_request,
    53: epoch_notices.handle_begin_quorum_epoch_request,
    54: epoch_notices.handle_end_quorum_epoch_request,
    1: leader_fetch.handle_fetch_request,
    59: leader_fetch.handle_fetch_snapshot_request,
    55: leader_fetch.handle_describe_quorum_request,
}
_RESPONSE_HANDLERS: dict[int, Callable[[RaftCore, Response, int], bool]] = {
    52: voting.handle_vote_response,
    53: epoch_notices.handle_begin_quorum_epoch_response,
    54: epoch_notices.handle_end_quorum_epoch_response,
    1: follower_fetch.handle_fetch_response,
    59: follower_fetch.handle_fetch_snapshot_response,
}


class RaftCore:
    """One replica: a voter if ``node_id`` is in ``voters``, else an observer.

    ``election`` is what ``quorum-state`` held (None for a new replica); ``log`` is the
    replica's log, as recovered. ``rng`` draws election timeouts and backoffs.
    ``truncate_log_at_snapshots`` moves the log start to each committed snapshot at once
    (Kafka keeps some log behind snapshots, per ``metadata.max.retention.*``).
    """

    def __init__(
        self,
        *,
        node_id: int,
        voters: Collection[int],
        log: RaftLog,
        rng: RandomSource,
        now_ms: int,
        config: QuorumConfig | None = None,
        election: ElectionState | None = None,
        cluster_id: str | None = None,
        truncate_log_at_snapshots: bool = True,
    ) -> None:
        self.node_id = node_id
        self.voters = frozenset(voters)
        self.log = log
        self.rng = rng
        self.config = config or QuorumConfig()
        self.cluster_id = cluster_id
        self.truncate_log_at_snapshots = truncate_log_at_snapshots
        self.quorum = QuorumState(node_id, self.voters, self.config, rng)
        self.requests = RequestManager(
            self.config.retry_backoff_ms,
            self.config.request_timeout_ms,
            first_correlation_id=rng.randrange(1 << 30),
        )
        self.purgatory = FetchPurgatory()
        self.accumulator: BatchAccumulator | None = None
        self._outbox: list[RaftMessage] = []
        self._events: list[Event] = []
        self._log_dirty = False
        self._listener_next: int | None = None
        self._last_fired: tuple[int | None, int] | None = None
        self._next_tick_ms = now_ms
        self.quorum.initialize(election, self.log_end(), now_ms)
        self.requests.reset_all()
        self._elect_at_start(now_ms)
        self._poll(now_ms)

    # -- what the replica is -------------------------------------------------------------

    @property
    def state(self) -> EpochState:
        return self.quorum.state

    @property
    def epoch(self) -> int:
        return self.quorum.epoch

    @property
    def leader_id(self) -> int | None:
        return self.quorum.leader_id

    @property
    def high_watermark(self) -> int | None:
        return self.quorum.high_watermark

    @property
    def is_leader(self) -> bool:
        return isinstance(self.quorum.state, LeaderState)

    def log_end(self) -> OffsetAndEpoch:
        return OffsetAndEpoch(self.log.end_offset, self.log.last_fetched_epoch)

    def __repr__(self) -> str:
        return (
            f"RaftCore(node {self.node_id}, {self.quorum.state!r}, hw={self.high_watermark}, "
            f"log=[{self.log.start_offset}, {self.log.end_offset}))"
        )

    # -- inputs --------------------------------------------------------------------------

    def receive(self, message: RaftMessage, now_ms: int) -> None:
        """A request or response addressed to this replica arrived."""
        if isinstance(message, Request):
            handler = _REQUEST_HANDLERS.get(message.body.API_KEY)
            if handler is not None:
                handler(self, message, now_ms)
        else:
            api_key = message.body.API_KEY
            handle = _RESPONSE_HANDLERS.get(api_key)
            # Late answers, duplicates and answers to an earlier state are dropped here.
            if handle is not None and self.requests.is_response_expected(
                message.source, message.correlation_id, api_key
            ):
                success = handle(self, message, now_ms)
                self.requests.on_response(message.source, message.correlation_id, success, now_ms)
        self._poll(now_ms)

    def request_failed(self, destination: int, correlation_id: int, now_ms: int) -> None:
        """The transport could not deliver a request (or lost its connection)."""
        self.requests.on_response(destination, correlation_id, False, now_ms)
        self._poll(now_ms)

    def tick(self, now_ms: int) -> None:
        """Time passed: run whatever timers have run out."""
        self._poll(now_ms)

    def append(self, records: Sequence[bytes], epoch: int, now_ms: int) -> int:
        """Append records as the leader of ``epoch``; returns the offset of the last one.

        The records are committed (and handed to the state machine) once a majority has
        them; if leadership is lost first they are dropped, and the state machine learns
        of it by a :class:`~odradek.raft.ready.LeaderChange`.
        """
        state = self.quorum.state
        if not isinstance(state, LeaderState) or state.epoch != epoch or state.resign_requested:
            raise NotLeaderError(f"node {self.node_id} is not the leader of epoch {epoch}")
        assert self.accumulator is not None
        offset = self.accumulator.append(records, now_ms)
        self._poll(now_ms)
        return offset

    def resign(self, epoch: int, now_ms: int) -> None:
        """Give up leadership of ``epoch`` (before a shutdown): tell the voters to elect."""
        state = self.quorum.state
        if not isinstance(state, LeaderState) or state.epoch != epoch:
            raise NotLeaderError(f"node {self.node_id} is not the leader of epoch {epoch}")
        state.resign_requested = True
        self._poll(now_ms)

    def create_snapshot(
        self, snapshot_id: OffsetAndEpoch, last_contained_log_time_ms: int, now_ms: int
    ) -> SnapshotWriter | None:
        """A writer for a snapshot of the state up to ``snapshot_id`` (None if it exists).

        ``snapshot_id`` is the end offset and the epoch of the last record the state
        covers; it must be committed. Once the writer is frozen, the log below it may go.
        """
        hw = self.quorum.high_watermark
        if hw is None or snapshot_id.offset > hw:
            raise ValueError(f"snapshot {snapshot_id} is past the high watermark {hw}")
        if snapshot_id.offset < self.log.start_offset:
            return None
        if snapshot_id.offset == self.log.start_offset:
            # Only the snapshot the log starts from can end there, and it exists.
            return None
        epoch = self.log.epoch_of_offset(snapshot_id.offset - 1)
        if epoch != snapshot_id.epoch:
            raise ValueError(f"snapshot {snapshot_id}: the record before its end has epoch {epoch}")
        raw = self.log.create_snapshot(snapshot_id)
        if raw is None:
            return None
        return SnapshotWriter(
            raw, last_contained_log_time_ms=last_contained_log_time_ms, append_time_ms=now_ms
        )

    # -- output --------------------------------------------------------------------------

    def ready(self, now_ms: int) -> Ready:
        """Everything the driver must now do, in order (see :mod:`odradek.raft.ready`)."""
        flush_offset = None
        if self._log_dirty:
            flush_offset = self.log.end_offset
            self._log_dirty = False
        state = self.quorum.state
        # The leader's end counts as durable now: the flush above happens before anything
        # (a fetch response, a commit) reveals it.
        if isinstance(state, LeaderState) and state.update_local_end_offset(
            self.log.end_offset, now_ms
        ):
            self.on_leader_high_watermark(now_ms)
        self._update_listener()
        self._maybe_clean_log()
        ready = Ready(
            election=self.quorum.pending_election,
            flush_offset=flush_offset,
            messages=self._outbox,
            events=self._events,
            next_tick_ms=self._next_tick_ms,
        )
        self.quorum.pending_election = None
        self._outbox = []
        self._events = []
        return ready

    # -- for the handlers: sending -------------------------------------------------------

    def send_request(
        self, destination: int, body: RequestBody, now_ms: int, *, pre_vote: bool = False
    ) -> bool:
        """Send ``body`` unless a request to ``destination`` is in flight or backing off."""
        if not self.requests.is_ready(destination, now_ms):
            return False
        correlation_id = self.requests.on_request_sent(destination, body.API_KEY, now_ms)
        self._outbox.append(Request(self.node_id, destination, correlation_id, body, pre_vote))
        return True

    def respond(self, request: Request, body: ResponseBody) -> None:
        self._outbox.append(Response(self.node_id, request.source, request.correlation_id, body))

    def request_deadline(self, destinations: Collection[int], now_ms: int) -> int | None:
        """When the first of ``destinations`` can be sent to again (None: all can now)."""
        deadlines = [d for v in destinations if (d := self.requests.deadline(v, now_ms))]
        return min(deadlines, default=None)

    def mark_log_written(self) -> None:
        self._log_dirty = True

    # -- for the handlers: validation ----------------------------------------------------

    def valid_cluster_id(self, cluster_id: str | None) -> bool:
        # A request without a cluster id is accepted, as Kafka does.
        return cluster_id is None or self.cluster_id is None or cluster_id == self.cluster_id

    def validate_voter_only_request(self, remote_id: int, epoch: int) -> ErrorCode | None:
        if epoch < self.epoch:
            return ErrorCode.FENCED_LEADER_EPOCH
        if remote_id < 0:
            return ErrorCode.INVALID_REQUEST
        if self.quorum.is_observer or remote_id not in self.voters:
            return ErrorCode.INCONSISTENT_VOTER_SET
        return None

    def validate_leader_only_request(self, epoch: int) -> ErrorCode | None:
        if epoch < self.epoch:
            return ErrorCode.FENCED_LEADER_EPOCH
        if epoch > self.epoch:
            return ErrorCode.UNKNOWN_LEADER_EPOCH
        state = self.quorum.state
        if not isinstance(state, LeaderState) or state.resign_requested:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER
        return None

    # -- for the handlers: what every response may teach ---------------------------------

    def maybe_handle_common_response(
        self, error: int, leader_id: int | None, epoch: int, now_ms: int
    ) -> bool | None:
        """Learn the epoch and leader a response reports; True/False if that settles it.

        Kafka's ``maybeHandleCommonResponse``: an answer from an older epoch is stale; one
        from a newer epoch, or saying we asked the wrong node, moves us to that epoch (as
        follower if it names the leader); one naming the leader of our own epoch, when we
        did not know it, makes us its follower. None: the handler carries on.
        """
        if epoch < self.epoch or error == ErrorCode.UNKNOWN_LEADER_EPOCH:
            return True
        if epoch > self.epoch or error in (
            ErrorCode.FENCED_LEADER_EPOCH,
            ErrorCode.NOT_LEADER_OR_FOLLOWER,
        ):
            self.maybe_transition(leader_id, epoch, now_ms)
            return True
        if leader_id is not None and self.quorum.leader_id is None:
            self.maybe_transition(leader_id, epoch, now_ms)
            return None if error == ErrorCode.NONE else True
        if error == ErrorCode.BROKER_NOT_AVAILABLE:
            return False
        return None

    def handle_top_level_error(self, error: int) -> bool:
        # A malformed or refused request: back off before the next one to that node.
        return False

    def maybe_transition(self, leader_id: int | None, epoch: int, now_ms: int) -> None:
        """Move to ``epoch`` (as follower of ``leader_id`` if known), if it is news."""
        known = self.quorum.leader_id
        if (
            epoch == self.epoch
            and known is not None
            and leader_id is not None
            and known != leader_id
        ):
            raise RaftSafetyError(
                f"node {self.node_id} knows leader {known} for epoch {epoch}, "
                f"but is told it is {leader_id}"
            )
        if leader_id == self.node_id and not self.is_leader and epoch >= self.epoch:
            if known != self.node_id:
                raise RaftSafetyError(
                    f"node {self.node_id} is told it leads epoch {epoch}, which it never did"
                )
            return
        if epoch > self.epoch:
            if leader_id is not None:
                self.transition_to_follower(epoch, leader_id, now_ms)
            else:
                self.transition_to_unattached(epoch, now_ms)
        elif leader_id is not None and known is None:
            self.transition_to_follower(epoch, leader_id, now_ms)

    # -- transitions, with what each entails ---------------------------------------------

    def _leave_state(self) -> list[Request]:
        """Undo what belongs to the state being left; returns parked fetches to answer."""
        state = self.quorum.state
        parked = [p.request for p in self.purgatory.take_all()]
        self.accumulator = None
        if isinstance(state, FollowerState) and state.fetching_snapshot is not None:
            state.fetching_snapshot.abort()
            state.fetching_snapshot = None
        return parked

    def _entered_state(self, parked: list[Request], now_ms: int) -> None:
        self.requests.reset_all()
        for request in parked:
            leader_fetch.answer_not_leader(self, request)

    def transition_to_unattached(
        self, epoch: int, now_ms: int, leader_id: int | None = None
    ) -> None:
        parked = self._leave_state()
        self.quorum.to_unattached(epoch, now_ms, leader_id)
        self._entered_state(parked, now_ms)

    def transition_to_follower(self, epoch: int, leader_id: int, now_ms: int) -> None:
        parked = self._leave_state()
        self.quorum.to_follower(epoch, leader_id, now_ms)
        self._entered_state(parked, now_ms)

    def transition_to_prospective(self, now_ms: int) -> None:
        parked = self._leave_state()
        state = self.quorum.to_prospective(now_ms)
        self._entered_state(parked, now_ms)
        if state.tally.is_won:  # the only voter
            self.transition_to_candidate(now_ms)

    def transition_to_candidate(self, now_ms: int) -> None:
        parked = self._leave_state()
        state = self.quorum.to_candidate(now_ms)
        self._entered_state(parked, now_ms)
        if state.tally.is_won:
            self.transition_to_leader(now_ms)

    def transition_to_leader(self, now_ms: int) -> None:
        parked = self._leave_state()
        epoch_start = self.log.end_offset
        state = self.quorum.to_leader(epoch_start, now_ms)
        self.log.initialize_leader_epoch(state.epoch)
        # The first record of the epoch: committing it commits everything before it.
        self.log.append_as_leader(
            leader_change_batch(
                self.node_id,
                self.voters,
                state.granting_voters,
                base_offset=epoch_start,
                epoch=state.epoch,
                append_time_ms=now_ms,
            ),
            state.epoch,
        )
        self._log_dirty = True
        self.accumulator = BatchAccumulator(
            state.epoch, self.log.end_offset, self.config.append_linger_ms, MAX_BATCH_SIZE_BYTES
        )
        self._entered_state(parked, now_ms)

    def transition_to_resigned(self, preferred_successors: list[int], now_ms: int) -> None:
        parked = self._leave_state()
        self.quorum.to_resigned(preferred_successors, now_ms)
        self._entered_state(parked, now_ms)

    # -- the leader's log ----------------------------------------------------------------

    def write_leader_batch(self, batch: PendingBatch, now_ms: int) -> None:
        state = self.quorum.state
        assert isinstance(state, LeaderState)
        if batch.base_offset != self.log.end_offset:
            raise RaftSafetyError(
                f"batch at {batch.base_offset} does not follow the log end {self.log.end_offset}"
            )
        self.log.append_as_leader(
            data_batch(
                batch.records,
                base_offset=batch.base_offset,
                epoch=state.epoch,
                append_time_ms=now_ms,
            ),
            state.epoch,
        )
        self._log_dirty = True
        for parked in self.purgatory.take_satisfied(self.log.end_offset):
            leader_fetch.complete_parked_fetch(self, parked.request, now_ms)

    def on_leader_high_watermark(self, now_ms: int) -> None:
        hw = self.quorum.high_watermark
        assert hw is not None
        self.log.update_high_watermark(hw)
        # Followers learn of the commit without waiting for their fetch to time out.
        for parked in self.purgatory.take_all():
            leader_fetch.complete_parked_fetch(self, parked.request, now_ms)

    def update_follower_high_watermark(self, state: FollowerState, high_watermark: int) -> None:
        if high_watermark < 0:
            return
        if state.update_high_watermark(min(self.log.end_offset, high_watermark)):
            assert state.high_watermark is not None
            self.log.update_high_watermark(state.high_watermark)

    def finish_snapshot_download(self, state: FollowerState, snapshot_id: OffsetAndEpoch) -> None:
        if not self.log.truncate_to_latest_snapshot():
            raise RaftSafetyError(
                f"node {self.node_id} fetched snapshot {snapshot_id} but its log "
                f"[{self.log.start_offset}, {self.log.end_offset}) is not behind it"
            )
        self.update_follower_high_watermark(state, snapshot_id.offset)

    # -- internals -----------------------------------------------------------------------

    def _elect_at_start(self, now_ms: int) -> None:
        """Kafka's ``initialize``: run at once whatever election cannot be lost.

        A candidate restored from ``quorum-state`` already holds its own vote, which is a
        majority when it is the only voter: it leads the epoch it ran in. And the only
        voter, however else it starts (new, after leading, or after following a voter
        that has since left the set), never hears from a leader other than itself, so
        waiting out an election timeout would only delay the first commit: it goes
        through Prospective and Candidate to Leader in this one step, in the epoch after
        the last it knew.
        """
        state = self.quorum.state
        if isinstance(state, CandidateState):
            if state.tally.is_won:
                self.transition_to_leader(now_ms)
        elif self.quorum.is_only_voter and isinstance(
            state, UnattachedState | FollowerState | ResignedState
        ):
            self.transition_to_prospective(now_ms)

    def _poll(self, now_ms: int) -> None:
        # A state's timer can move it on, and the next state may act at once (a single
        # voter goes from Prospective to Leader in one poll); stop when it settles.
        for _ in range(8):
            state = self.quorum.state
            deadline = poll.poll_state(self, now_ms)
            if self.quorum.state is state:
                break
        self._next_tick_ms = max(deadline, now_ms)

    def _update_listener(self) -> None:
        """Hand the state machine what became committed, and leadership news."""
        hw = self.quorum.high_watermark
        if hw is not None:
            self._advance_listener(hw)
        state = self.quorum.state
        current = (self.quorum.leader_id, self.quorum.epoch)
        if isinstance(state, LeaderState) and (
            self._listener_next is None or self._listener_next < state.epoch_start_offset
        ):
            return
        last = self._last_fired
        if (
            last is None
            or current[1] > last[1]
            or (current[1] == last[1] and current[0] is not None and last[0] is None)
        ):
            self._last_fired = current
            self._events.append(LeaderChange(current[0], current[1]))

    def _advance_listener(self, hw: int) -> None:
        next_offset = self._listener_next
        log = self.log
        if next_offset is None or next_offset < log.start_offset:
            snapshot_id = log.latest_snapshot_id()
            if snapshot_id is not None and (next_offset is None or next_offset < hw):
                reader = log.read_snapshot(snapshot_id)
                assert reader is not None
                self._events.append(LoadSnapshot(read_snapshot(reader)))
                next_offset = snapshot_id.offset
            elif next_offset is None:
                if log.start_offset != 0:
                    raise RaftSafetyError("the log has no start and no snapshot")
                next_offset = 0
            else:
                raise RaftSafetyError(
                    f"the state machine is at {next_offset}, below the log start "
                    f"{log.start_offset}, and no snapshot covers it"
                )
        while next_offset < hw:
            batches = [
                b
                for b in decode_batches(log.read(next_offset, COMMIT_READ_BYTES))
                if b.last_offset < hw
            ]
            if not batches or batches[0].base_offset != next_offset:
                raise RaftSafetyError(f"committed offset {next_offset} cannot be read")
            self._events.append(Commit(tuple(batches)))
            next_offset = batches[-1].last_offset + 1
        self._listener_next = next_offset

    def _maybe_clean_log(self) -> None:
        if not self.truncate_log_at_snapshots:
            return
        latest = self.log.latest_snapshot_id()
        hw = self.quorum.high_watermark
        if (
            latest is not None
            and hw is not None
            and self.log.start_offset < latest.offset <= hw
            and self._listener_next is not None
            and latest.offset <= self._listener_next
        ):
            self.log.delete_before_snapshot(latest)
