"""BeginQuorumEpoch and EndQuorumEpoch: a leader announcing its epoch, and its end.

KIP-595 ("BeginQuorumEpoch", "EndQuorumEpoch"). A new leader tells every voter at once
(and again every half fetch timeout, for voters that were away), so they follow it
without waiting for their own timers. A leader that resigns tells them too, naming its
preferred successors, most caught up first; a follower that reads itself early in that
list starts its election sooner (a strict exponential backoff by position: the first
at once, the next after a fraction of ``election.backoff.max.ms``, and so on), which
keeps elections after a clean shutdown short and rarely split.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from odradek.protocol.errors import ErrorCode
from odradek.raft import messages as m
from odradek.raft.leader_state import LeaderState
from odradek.raft.states import FollowerState, ResignedState

if TYPE_CHECKING:
    from odradek.raft.core import RaftCore


def handle_begin_quorum_epoch_request(core: RaftCore, request: m.Request, now_ms: int) -> None:
    body = request.body
    assert isinstance(body, m.BeginQuorumEpochRequest)
    if not core.valid_cluster_id(body.cluster_id):
        core.respond(
            request,
            m.begin_quorum_epoch_response(
                ErrorCode.NONE, top_level_error=ErrorCode.INCONSISTENT_CLUSTER_ID
            ),
        )
        return
    if not _single_metadata_partition(body.topics):
        core.respond(
            request,
            m.begin_quorum_epoch_response(
                ErrorCode.NONE, top_level_error=ErrorCode.INVALID_REQUEST
            ),
        )
        return
    part = body.topics[0].partitions[0]
    error = core.validate_voter_only_request(part.leader_id, part.leader_epoch)
    if error is None:
        core.maybe_transition(part.leader_id, part.leader_epoch, now_ms)
    core.respond(
        request,
        m.begin_quorum_epoch_response(
            error or ErrorCode.NONE, leader_id=core.leader_id, epoch=core.epoch
        ),
    )


def _response_outcome(
    core: RaftCore, body: m.BeginQuorumEpochResponse | m.EndQuorumEpochResponse, now_ms: int
) -> bool | None:
    """What a Begin/EndQuorumEpoch response amounts to, or None if it is a success the
    caller acts on: errors (top level or of the partition) and news of a newer epoch
    or leader are handled here, the same for both."""
    if body.error_code != ErrorCode.NONE:
        return core.handle_top_level_error(body.error_code)
    if not _single_metadata_partition(body.topics):
        return False
    part = body.topics[0].partitions[0]
    handled = core.maybe_handle_common_response(
        part.error_code, m.optional_leader(part.leader_id), part.leader_epoch, now_ms
    )
    if handled is not None:
        return handled
    if part.error_code != ErrorCode.NONE:
        return False
    return None


def handle_begin_quorum_epoch_response(core: RaftCore, response: m.Response, now_ms: int) -> bool:
    body = response.body
    assert isinstance(body, m.BeginQuorumEpochResponse)
    outcome = _response_outcome(core, body, now_ms)
    if outcome is not None:
        return outcome
    state = core.quorum.state
    if isinstance(state, LeaderState):
        state.add_acknowledgement(response.source)
    return True


def handle_end_quorum_epoch_request(core: RaftCore, request: m.Request, now_ms: int) -> None:
    body = request.body
    assert isinstance(body, m.EndQuorumEpochRequest)
    if not core.valid_cluster_id(body.cluster_id):
        core.respond(
            request,
            m.end_quorum_epoch_response(
                ErrorCode.NONE, top_level_error=ErrorCode.INCONSISTENT_CLUSTER_ID
            ),
        )
        return
    if not _single_metadata_partition(body.topics):
        core.respond(
            request,
            m.end_quorum_epoch_response(ErrorCode.NONE, top_level_error=ErrorCode.INVALID_REQUEST),
        )
        return
    part = body.topics[0].partitions[0]
    error = core.validate_voter_only_request(part.leader_id, part.leader_epoch)
    if error is None:
        core.maybe_transition(part.leader_id, part.leader_epoch, now_ms)
        state = core.quorum.state
        if isinstance(state, FollowerState) and state.leader_id == part.leader_id:
            successors = [c.candidate_id for c in part.preferred_candidates] or list(
                part.preferred_successors
            )
            backoff = successor_backoff_ms(core, successors)
            state.fetch_deadline = min(state.fetch_deadline, now_ms + backoff)
    core.respond(
        request,
        m.end_quorum_epoch_response(
            error or ErrorCode.NONE, leader_id=core.leader_id, epoch=core.epoch
        ),
    )


def successor_backoff_ms(core: RaftCore, successors: list[int]) -> int:
    """How long this voter waits before its election, by its rank among the successors."""
    maximum = core.config.election_backoff_max_ms
    if core.node_id not in successors:
        return maximum
    position = successors.index(core.node_id)
    if position == 0:
        return 0
    base = maximum >> (len(successors) - 1)
    return min(maximum, base << (position - 1))


def handle_end_quorum_epoch_response(core: RaftCore, response: m.Response, now_ms: int) -> bool:
    body = response.body
    assert isinstance(body, m.EndQuorumEpochResponse)
    outcome = _response_outcome(core, body, now_ms)
    if outcome is not None:
        return outcome
    state = core.quorum.state
    if isinstance(state, ResignedState):
        state.unacked_voters.discard(response.source)
    return True


def send_begin_quorum_epoch(core: RaftCore, state: LeaderState, now_ms: int) -> None:
    for voter in state.other_voters():
        core.send_request(
            voter,
            m.begin_quorum_epoch_request(
                core.cluster_id, leader_id=core.node_id, epoch=state.epoch, voter_id=voter
            ),
            now_ms,
        )


def send_end_quorum_epoch(core: RaftCore, state: ResignedState, now_ms: int) -> int | None:
    waiting = sorted(state.unacked_voters)
    for voter in waiting:
        core.send_request(
            voter,
            m.end_quorum_epoch_request(
                core.cluster_id,
                leader_id=core.node_id,
                epoch=state.epoch,
                preferred_successors=state.preferred_successors,
            ),
            now_ms,
        )
    return core.request_deadline(waiting, now_ms)


def _single_metadata_partition(topics: Sequence[Any]) -> bool:
    return (
        len(topics) == 1
        and topics[0].topic_name == m.METADATA_TOPIC
        and len(topics[0].partitions) == 1
        and topics[0].partitions[0].partition_index == m.METADATA_PARTITION
    )
