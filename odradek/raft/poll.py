"""What each state does when time passes: its timers, and the requests it keeps sending.

Kafka's ``pollLeader``, ``pollCandidate``, ``pollFollower`` and the rest (KIP-595,
KIP-996). :func:`poll_state` runs after every input; it acts on whatever timer has run
out, sends the requests the state owes (subject to the one-in-flight rule of
:mod:`odradek.raft.request_manager`), and returns the time at which it next needs to
run. Time is only ever the ``now_ms`` it is given.

======================  ===================================================================
state                   on each poll
======================  ===================================================================
Leader                  resign if asked to or if check-quorum ran out; write lingered
                        batches; repeat BeginQuorumEpoch every half fetch timeout; answer
                        parked fetches whose wait is over
Candidate               ask unanswered voters for their vote; when the election times
                        out or is lost, back off (random, exponential), then Prospective
Prospective             ask unanswered voters for a pre-vote; when it times out or is
                        lost, back to following the old leader, or Unattached
Follower (voter)        fetch from the leader; when the fetch timeout runs out, Prospective
Follower (observer)     fetch from the leader; if it is silent, ask any voter instead
Unattached (voter)      when the election timeout runs out, Prospective
Unattached (observer)   fetch from any voter, to find the leader
Resigned                send EndQuorumEpoch until acknowledged; when the election timeout
                        runs out, Unattached in the next epoch
======================  ===================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odradek.raft import epoch_notices, follower_fetch, leader_fetch, voting
from odradek.raft.leader_state import LeaderState
from odradek.raft.states import (
    CandidateState,
    FollowerState,
    ProspectiveState,
    ResignedState,
    UnattachedState,
)

if TYPE_CHECKING:
    from odradek.raft.core import RaftCore

#: Returned when nothing is scheduled; the driver may sleep until an input arrives.
IDLE_MS = 2**62


def poll_state(core: RaftCore, now_ms: int) -> int:
    state = core.quorum.state
    if isinstance(state, LeaderState):
        return _poll_leader(core, state, now_ms)
    if isinstance(state, CandidateState):
        return _poll_candidate(core, state, now_ms)
    if isinstance(state, ProspectiveState):
        return _poll_prospective(core, state, now_ms)
    if isinstance(state, FollowerState):
        return _poll_follower(core, state, now_ms)
    if isinstance(state, UnattachedState):
        return _poll_unattached(core, state, now_ms)
    if isinstance(state, ResignedState):
        return _poll_resigned(core, state, now_ms)
    raise AssertionError(f"unknown state {state!r}")


def _earliest(*deadlines: int | None) -> int:
    return min((d for d in deadlines if d is not None), default=IDLE_MS)


def _poll_leader(core: RaftCore, state: LeaderState, now_ms: int) -> int:
    if state.resign_requested or state.check_quorum_expired(now_ms):
        core.transition_to_resigned(state.voters_by_descending_end_offset(), now_ms)
        return now_ms
    accumulator = core.accumulator
    assert accumulator is not None
    for batch in accumulator.drain(now_ms):
        core.write_leader_batch(batch, now_ms)
    if now_ms >= state.begin_quorum_epoch_deadline:
        epoch_notices.send_begin_quorum_epoch(core, state, now_ms)
        state.begin_quorum_epoch_deadline = now_ms + core.config.begin_quorum_epoch_interval_ms
    for parked in core.purgatory.take_expired(now_ms):
        leader_fetch.complete_parked_fetch(core, parked.request, now_ms)
    state.expire_observers(now_ms)
    return _earliest(
        accumulator.drain_deadline(),
        state.begin_quorum_epoch_deadline,
        state.check_quorum_deadline if len(state.voters) > 1 else None,
        core.purgatory.earliest_deadline(),
    )


def _poll_candidate(core: RaftCore, state: CandidateState, now_ms: int) -> int:
    if state.backoff_deadline is not None:
        if now_ms >= state.backoff_deadline:
            core.transition_to_prospective(now_ms)
            return now_ms
        return state.backoff_deadline
    if now_ms >= state.election_deadline or state.tally.is_lost:
        state.backoff_deadline = now_ms + voting.election_backoff_ms(core, state.retries)
        return state.backoff_deadline
    return _earliest(
        voting.send_vote_requests(core, pre_vote=False, now_ms=now_ms), state.election_deadline
    )


def _poll_prospective(core: RaftCore, state: ProspectiveState, now_ms: int) -> int:
    if now_ms >= state.election_deadline or state.tally.is_lost:
        voting.prospective_lost(core, now_ms)
        return now_ms
    return _earliest(
        voting.send_vote_requests(core, pre_vote=True, now_ms=now_ms), state.election_deadline
    )


def _poll_follower(core: RaftCore, state: FollowerState, now_ms: int) -> int:
    leader = state.leader_id
    if core.quorum.is_voter:
        if now_ms >= state.fetch_deadline:
            core.transition_to_prospective(now_ms)
            return now_ms
        return _earliest(
            follower_fetch.send_fetch(core, leader, state.epoch, now_ms), state.fetch_deadline
        )
    requests = core.requests
    timed_out = requests.has_request_timed_out(leader, now_ms)
    if timed_out:
        requests.reset(leader)
    if now_ms >= state.fetch_deadline or timed_out or requests.is_backing_off(leader, now_ms):
        # The leader is silent: another voter may know of a newer one.
        wait = state.fetch_deadline if now_ms < state.fetch_deadline else None
        return _earliest(follower_fetch.send_fetch_to_any_voter(core, now_ms), wait)
    if requests.has_any_inflight(now_ms):
        return _earliest(requests.earliest_deadline(now_ms), state.fetch_deadline)
    return _earliest(
        follower_fetch.send_fetch(core, leader, state.epoch, now_ms), state.fetch_deadline
    )


def _poll_unattached(core: RaftCore, state: UnattachedState, now_ms: int) -> int:
    if state.election_deadline is None:
        return _earliest(follower_fetch.send_fetch_to_any_voter(core, now_ms))
    if now_ms >= state.election_deadline:
        core.transition_to_prospective(now_ms)
        return now_ms
    return state.election_deadline


def _poll_resigned(core: RaftCore, state: ResignedState, now_ms: int) -> int:
    if now_ms >= state.election_deadline:
        core.transition_to_unattached(state.epoch + 1, now_ms)
        return now_ms
    return _earliest(
        epoch_notices.send_end_quorum_epoch(core, state, now_ms), state.election_deadline
    )
