"""Vote and pre-vote: asking for, granting and counting votes.

KIP-595 ("Vote") and KIP-996 ("Pre-Vote"); Kafka's ``handleVoteRequest`` and
``handleVoteResponse``. A prospective voter asks with :attr:`Request.pre_vote
<odradek.raft.messages.Request.pre_vote>` set and its current epoch; a candidate asks
for real with its new epoch. Either way the request carries the asker's log end
(``last_offset`` with ``last_offset_epoch``), and nobody grants to a log less up to date
than its own: that is what keeps committed records in every future leader's log.

Receiving a request from a later epoch moves the receiver to that epoch first (as
Unattached, knowing no leader), so that its answer counts; a real vote then becomes a
promise, persisted before the answer goes out (:mod:`odradek.raft.quorum`). A pre-vote
promises nothing and changes no vote.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odradek.protocol.errors import ErrorCode
from odradek.raft import messages as m
from odradek.raft.offsets import OffsetAndEpoch, is_at_least
from odradek.raft.states import CandidateState, ProspectiveState, UnattachedState

if TYPE_CHECKING:
    from odradek.raft.core import RaftCore

#: The first step of the randomized exponential election backoff (Kafka's RETRY_BACKOFF_BASE_MS).
ELECTION_BACKOFF_BASE_MS = 100


def handle_vote_request(core: RaftCore, request: m.Request, now_ms: int) -> None:
    body = request.body
    assert isinstance(body, m.VoteRequest)
    if not core.valid_cluster_id(body.cluster_id):
        core.respond(
            request,
            m.vote_response(ErrorCode.NONE, top_level_error=ErrorCode.INCONSISTENT_CLUSTER_ID),
        )
        return
    if (
        len(body.topics) != 1
        or body.topics[0].topic_name != m.METADATA_TOPIC
        or len(body.topics[0].partitions) != 1
    ):
        core.respond(
            request, m.vote_response(ErrorCode.NONE, top_level_error=ErrorCode.INVALID_REQUEST)
        )
        return
    part = body.topics[0].partitions[0]
    pre_vote = request.pre_vote
    candidate_id = part.candidate_id
    candidate_epoch = part.candidate_epoch
    last = OffsetAndEpoch(part.last_offset, part.last_offset_epoch)
    # A candidate has bumped its epoch past its log's; a prospective one has not.
    illegal_epoch = last.epoch > candidate_epoch if pre_vote else last.epoch >= candidate_epoch
    if last.offset < 0 or last.epoch < 0 or illegal_epoch:
        _answer(core, request, ErrorCode.INVALID_REQUEST, False)
        return
    error = core.validate_voter_only_request(candidate_id, candidate_epoch)
    if error is not None:
        _answer(core, request, error, False)
        return
    if candidate_epoch > core.epoch:
        core.transition_to_unattached(candidate_epoch, now_ms)
    up_to_date = is_at_least(last, core.log_end())
    granted = core.quorum.state.can_grant_vote(candidate_id, up_to_date, pre_vote)
    if granted and not pre_vote:
        state = core.quorum.state
        if isinstance(state, UnattachedState) and state.voted_id is None:
            core.quorum.unattached_add_vote(candidate_id, now_ms)
        elif isinstance(state, ProspectiveState) and state.voted_id is None:
            core.quorum.prospective_add_vote(candidate_id, now_ms)
    _answer(core, request, ErrorCode.NONE, granted)


def _answer(core: RaftCore, request: m.Request, error: ErrorCode, granted: bool) -> None:
    core.respond(
        request,
        m.vote_response(error, leader_id=core.leader_id, epoch=core.epoch, granted=granted),
    )


def handle_vote_response(core: RaftCore, response: m.Response, now_ms: int) -> bool:
    body = response.body
    assert isinstance(body, m.VoteResponse)
    if body.error_code != ErrorCode.NONE:
        return core.handle_top_level_error(body.error_code)
    if len(body.topics) != 1 or len(body.topics[0].partitions) != 1:
        return False
    part = body.topics[0].partitions[0]
    handled = core.maybe_handle_common_response(
        part.error_code, m.optional_leader(part.leader_id), part.leader_epoch, now_ms
    )
    if handled is not None:
        return handled
    if part.error_code != ErrorCode.NONE:
        return False
    state = core.quorum.state
    if isinstance(state, ProspectiveState | CandidateState):
        state.tally.record(response.source, part.vote_granted)
        if isinstance(state, ProspectiveState):
            if state.tally.is_won:
                core.transition_to_candidate(now_ms)
            elif state.tally.is_lost:
                prospective_lost(core, now_ms)
        elif state.tally.is_won:
            core.transition_to_leader(now_ms)
        elif state.tally.is_lost and state.backoff_deadline is None:
            # Gridlocked: back off at once rather than wait out the election timeout.
            state.backoff_deadline = now_ms + election_backoff_ms(core, state.retries)
    return True


def prospective_lost(core: RaftCore, now_ms: int) -> None:
    """The pre-vote failed: follow the old leader again if there was one (KIP-996)."""
    state = core.quorum.state
    assert isinstance(state, ProspectiveState)
    if state.leader_id is not None:
        core.transition_to_follower(state.epoch, state.leader_id, now_ms)
    else:
        core.transition_to_unattached(state.epoch, now_ms)


def election_backoff_ms(core: RaftCore, retries: int) -> int:
    """Random and binary exponential in the retries, capped by the configured maximum."""
    spread = 2 << min(20, max(retries, 1) - 1)
    return min(
        ELECTION_BACKOFF_BASE_MS * core.rng.randrange(spread), core.config.election_backoff_max_ms
    )


def send_vote_requests(core: RaftCore, pre_vote: bool, now_ms: int) -> int | None:
    """Ask every voter that has not answered; returns when to try again."""
    state = core.quorum.state
    assert isinstance(state, ProspectiveState | CandidateState)
    waiting = sorted(state.tally.unrecorded)
    last = core.log_end()
    for voter in waiting:
        core.send_request(
            voter,
            m.vote_request(
                core.cluster_id,
                candidate_id=core.node_id,
                candidate_epoch=state.epoch,
                last_offset=last,
                voter_id=voter,
            ),
            now_ms,
            pre_vote=pre_vote,
        )
    return core.request_deadline(waiting, now_ms)
