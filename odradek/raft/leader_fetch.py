"""The leader's side of replication: Fetch, FetchSnapshot, and DescribeQuorum.

KIP-595 ("Fetch"), KIP-630 ("FetchSnapshot"), KIP-595/KIP-836 ("DescribeQuorum"). Every
follower and observer pulls: it sends Fetch with the offset it wants next and the epoch
of its last record, and the leader answers one of three ways
(:func:`odradek.raft.log.validate_offset_and_epoch`):

* **records** from that offset, if the position is on the leader's log; the fetch
  offset is then the replica's acknowledgement, and may raise the high watermark;
* **diverging epoch**: the replica's last epoch ends earlier (or is not) in the leader's
  log, so it holds records the leader does not; it truncates to the returned end and
  fetches again;
* **snapshot id**: the position lies below the leader's log start (or the replica has
  nothing and a snapshot exists); it fetches the snapshot, in chunks, with FetchSnapshot.

A fetch with nothing to return waits in the purgatory (:mod:`odradek.raft.purgatory`).
Only the leader answers: anyone else says ``NOT_LEADER_OR_FOLLOWER`` with the leader and
epoch it knows, which is how observers find the leader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odradek.protocol.errors import ErrorCode
from odradek.raft import messages as m
from odradek.raft.leader_state import LeaderState, ReplicaState
from odradek.raft.log import validate_offset_and_epoch
from odradek.raft.offsets import OffsetAndEpoch, ValidityKind, ValidOffsetAndEpoch

if TYPE_CHECKING:
    from odradek.raft.core import RaftCore

#: The epoch-0 empty snapshot Kafka uses to bootstrap a log; never worth sending.
BOOTSTRAP_SNAPSHOT_ID = OffsetAndEpoch(0, 0)


def handle_fetch_request(core: RaftCore, request: m.Request, now_ms: int) -> None:
    body = request.body
    assert isinstance(body, m.FetchRequest)
    if not core.valid_cluster_id(body.cluster_id):
        core.respond(request, _top_level(ErrorCode.INCONSISTENT_CLUSTER_ID))
        return
    part = m.fetch_partition(body)
    if part is None:
        core.respond(request, _top_level(ErrorCode.INVALID_REQUEST))
        return
    if (
        body.max_wait_ms < 0
        or part.fetch_offset < 0
        or part.last_fetched_epoch < 0
        or part.last_fetched_epoch > part.current_leader_epoch
    ):
        core.respond(request, _empty(core, ErrorCode.INVALID_REQUEST))
        return
    response, answer_now = _try_complete(core, request, now_ms)
    if answer_now or body.max_wait_ms == 0:
        core.respond(request, response)
    else:
        core.purgatory.park(request, part.fetch_offset, now_ms + body.max_wait_ms)


def complete_parked_fetch(core: RaftCore, request: m.Request, now_ms: int) -> None:
    core.respond(request, _try_complete(core, request, now_ms)[0])


def answer_not_leader(core: RaftCore, request: m.Request) -> None:
    """A parked fetch outlived the leadership it was waiting on."""
    core.respond(request, _empty(core, ErrorCode.NOT_LEADER_OR_FOLLOWER))


def _try_complete(core: RaftCore, request: m.Request, now_ms: int) -> tuple[m.FetchResponse, bool]:
    """The answer as of now, and whether it should go out rather than wait for more."""
    body = request.body
    assert isinstance(body, m.FetchRequest)
    part = m.fetch_partition(body)
    assert part is not None
    error = core.validate_leader_only_request(part.current_leader_epoch)
    if error is not None:
        return _empty(core, error), True
    state = core.quorum.state
    assert isinstance(state, LeaderState)
    log = core.log
    latest = log.latest_snapshot_id()
    valid: ValidOffsetAndEpoch
    if part.fetch_offset == 0 and latest is not None and latest != BOOTSTRAP_SNAPSHOT_ID:
        # An empty replica is better served by the snapshot than by the whole log.
        valid = ValidOffsetAndEpoch.snapshot(latest)
    else:
        valid = validate_offset_and_epoch(log, part.fetch_offset, part.last_fetched_epoch)
    records = b""
    if valid.kind is ValidityKind.VALID:
        records = log.read(part.fetch_offset, min(core.config.fetch_max_bytes, body.max_bytes))
        replica_id = m.fetch_replica_id(body)
        if state.update_replica_state(replica_id, part.fetch_offset, now_ms):
            core.on_leader_high_watermark(now_ms)
    response = m.fetch_response(
        ErrorCode.NONE,
        leader_id=core.node_id,
        epoch=state.epoch,
        high_watermark=state.high_watermark,
        log_start_offset=log.start_offset,
        records=records,
        diverging=valid.offset_and_epoch if valid.kind is ValidityKind.DIVERGING else None,
        snapshot_id=valid.offset_and_epoch if valid.kind is ValidityKind.SNAPSHOT else None,
    )
    return response, bool(records) or valid.kind is not ValidityKind.VALID


def _empty(core: RaftCore, error: ErrorCode) -> m.FetchResponse:
    return m.fetch_response(
        error,
        leader_id=core.leader_id,
        epoch=core.epoch,
        high_watermark=None,
        log_start_offset=core.log.start_offset,
    )


def _top_level(error: ErrorCode) -> m.FetchResponse:
    return m.fetch_response(
        ErrorCode.NONE,
        leader_id=None,
        epoch=-1,
        high_watermark=None,
        log_start_offset=-1,
        top_level_error=error,
    )


def handle_fetch_snapshot_request(core: RaftCore, request: m.Request, now_ms: int) -> None:
    body = request.body
    assert isinstance(body, m.FetchSnapshotRequest)
    if not core.valid_cluster_id(body.cluster_id):
        core.respond(
            request,
            m.fetch_snapshot_response(
                ErrorCode.NONE,
                leader_id=None,
                epoch=-1,
                top_level_error=ErrorCode.INCONSISTENT_CLUSTER_ID,
            ),
        )
        return
    part = m.fetch_snapshot_partition(body)
    if part is None:
        core.respond(
            request,
            m.fetch_snapshot_response(
                ErrorCode.NONE, leader_id=None, epoch=-1, top_level_error=ErrorCode.INVALID_REQUEST
            ),
        )
        return
    error = core.validate_leader_only_request(part.current_leader_epoch)
    snapshot_id = OffsetAndEpoch(part.snapshot_id.end_offset, part.snapshot_id.epoch)
    reader = core.log.read_snapshot(snapshot_id) if error is None else None
    if error is None and reader is None:
        error = ErrorCode.SNAPSHOT_NOT_FOUND
    if error is not None or reader is None:
        core.respond(
            request,
            m.fetch_snapshot_response(
                error or ErrorCode.SNAPSHOT_NOT_FOUND,
                leader_id=core.leader_id,
                epoch=core.epoch,
                snapshot_id=snapshot_id,
            ),
        )
        return
    size = reader.size()
    if part.position < 0 or part.position >= size:
        core.respond(
            request,
            m.fetch_snapshot_response(
                ErrorCode.POSITION_OUT_OF_RANGE,
                leader_id=core.leader_id,
                epoch=core.epoch,
                snapshot_id=snapshot_id,
            ),
        )
        return
    state = core.quorum.state
    assert isinstance(state, LeaderState)
    # A follower busy with a snapshot is still following: it counts for check-quorum.
    state.update_check_quorum(body.replica_id, now_ms)
    chunk = min(body.max_bytes, core.config.fetch_snapshot_max_bytes)
    core.respond(
        request,
        m.fetch_snapshot_response(
            ErrorCode.NONE,
            leader_id=core.node_id,
            epoch=state.epoch,
            snapshot_id=snapshot_id,
            size=size,
            position=part.position,
            data=reader.read(part.position, chunk),
        ),
    )


def handle_describe_quorum_request(core: RaftCore, request: m.Request, now_ms: int) -> None:
    body = request.body
    assert isinstance(body, m.DescribeQuorumRequest)
    if not m.describe_quorum_asks_for_metadata(body):
        core.respond(
            request,
            m.describe_quorum_response(ErrorCode.NONE, top_level_error=ErrorCode.INVALID_REQUEST),
        )
        return
    state = core.quorum.state
    if not isinstance(state, LeaderState):
        core.respond(
            request,
            m.describe_quorum_response(
                ErrorCode.NOT_LEADER_OR_FOLLOWER, leader_id=core.leader_id, epoch=core.epoch
            ),
        )
        return

    def describe(replica: ReplicaState) -> m.ReplicaDescription:
        if replica.node_id == core.node_id:
            return m.ReplicaDescription(replica.node_id, core.log.end_offset, now_ms, now_ms)
        return m.ReplicaDescription(
            replica.node_id,
            -1 if replica.end_offset is None else replica.end_offset,
            replica.last_fetch_ms,
            replica.last_caught_up_ms,
        )

    core.respond(
        request,
        m.describe_quorum_response(
            ErrorCode.NONE,
            leader_id=core.node_id,
            epoch=state.epoch,
            high_watermark=-1 if state.high_watermark is None else state.high_watermark,
            voters=[describe(r) for r in state.voter_states.values()],
            observers=[describe(r) for r in state.observer_states.values()],
        ),
    )
