"""The follower's side of replication: sending Fetch, and acting on the answers.

KIP-595 ("Fetch"), KIP-630 ("FetchSnapshot"); Kafka's ``handleFetchResponse`` and
``handleFetchSnapshotResponse``. A follower (voter or observer) keeps one request in
flight to its leader: Fetch from its log end, or FetchSnapshot from the size of the
partial snapshot it holds. Each successful answer restarts its fetch timer.

* **Records** are appended as they came (their CRCs checked); the high watermark becomes
  the leader's, capped by the local log end.
* A **diverging epoch** means the end of the local log is not on the leader's log:
  truncate to where they part (:func:`odradek.raft.log.truncate_to_end_offset`). Raft
  guarantees that point is never below the high watermark; if it were, a committed
  record would be lost, so the core stops with :class:`~odradek.raft.core.RaftSafetyError`.
* A **snapshot id** starts a snapshot transfer. When the last chunk arrives the snapshot
  is frozen, the log is emptied and restarted at the snapshot's end, and the state
  machine is handed the snapshot (:class:`~odradek.raft.ready.LoadSnapshot`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from odradek.protocol.errors import ErrorCode
from odradek.raft import messages as m
from odradek.raft.batches import whole_batches
from odradek.raft.config import FETCH_MAX_WAIT_MS
from odradek.raft.errors import RaftSafetyError
from odradek.raft.log import truncate_to_end_offset
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.states import FollowerState
from odradek.storage.errors import CorruptRecordError

if TYPE_CHECKING:
    from odradek.raft.core import RaftCore

_RESTART_FROM_LOG = (
    ErrorCode.SNAPSHOT_NOT_FOUND,
    ErrorCode.OFFSET_OUT_OF_RANGE,
    ErrorCode.POSITION_OUT_OF_RANGE,
)


def send_fetch(core: RaftCore, destination: int, epoch: int, now_ms: int) -> int | None:
    """Fetch (or fetch the snapshot in transfer) from ``destination``; returns when to retry."""
    state = core.quorum.state
    body: m.RequestBody
    if isinstance(state, FollowerState) and state.fetching_snapshot is not None:
        writer = state.fetching_snapshot
        body = m.fetch_snapshot_request(
            core.cluster_id,
            replica_id=core.node_id,
            epoch=epoch,
            snapshot_id=writer.snapshot_id,
            position=writer.size(),
            max_bytes=core.config.fetch_snapshot_max_bytes,
        )
    else:
        log = core.log
        body = m.fetch_request(
            core.cluster_id,
            replica_id=core.node_id,
            epoch=epoch,
            fetch_offset=log.end_offset,
            last_fetched_epoch=log.last_fetched_epoch,
            log_start_offset=log.start_offset,
            max_wait_ms=FETCH_MAX_WAIT_MS,
            max_bytes=core.config.fetch_max_bytes,
        )
    core.send_request(destination, body, now_ms)
    return core.requests.deadline(destination, now_ms)


def send_fetch_to_any_voter(core: RaftCore, now_ms: int) -> int | None:
    """An observer looking for the leader: ask a random voter that is free."""
    if core.requests.has_any_inflight(now_ms):
        return core.requests.earliest_deadline(now_ms)
    candidates = sorted(v for v in core.voters if core.requests.is_ready(v, now_ms))
    if not candidates:
        return core.requests.earliest_deadline(now_ms)
    voter = candidates[core.rng.randrange(len(candidates))]
    return send_fetch(core, voter, core.epoch, now_ms)


def handle_fetch_response(core: RaftCore, response: m.Response, now_ms: int) -> bool:
    body = response.body
    assert isinstance(body, m.FetchResponse)
    if body.error_code != ErrorCode.NONE:
        return core.handle_top_level_error(body.error_code)
    part = m.fetch_response_partition(body)
    if part is None:
        return False
    leader = part.current_leader
    handled = core.maybe_handle_common_response(
        part.error_code, m.optional_leader(leader.leader_id), leader.leader_epoch, now_ms
    )
    if handled is not None:
        return handled
    if part.error_code != ErrorCode.NONE:
        return False
    state = core.quorum.state
    if not isinstance(state, FollowerState) or state.fetching_snapshot is not None:
        return True
    log = core.log
    diverging = part.diverging_epoch
    snapshot = part.snapshot_id
    if diverging.epoch >= 0:
        target = OffsetAndEpoch(diverging.end_offset, diverging.epoch)
        hw = state.high_watermark
        if hw is not None and target.offset < hw:
            raise_truncation_below_high_watermark(core, target, hw)
        truncate_to_end_offset(log, target)
        if hw is not None and log.end_offset < hw:
            raise_truncation_below_high_watermark(core, target, hw)
        core.mark_log_written()
    elif snapshot.epoch >= 0 or snapshot.end_offset >= 0:
        if snapshot.epoch < 0 or snapshot.end_offset < 0:
            return False
        snapshot_id = OffsetAndEpoch(snapshot.end_offset, snapshot.epoch)
        writer = log.create_snapshot(snapshot_id)
        if writer is None:
            # Already held whole (frozen just before a crash, say): start from it.
            core.finish_snapshot_download(state, snapshot_id)
        else:
            state.fetching_snapshot = writer
    else:
        raw = part.records or b""
        records = whole_batches(
            raw if isinstance(raw, bytes | memoryview | bytearray) else bytes(raw)
        )
        if records:
            try:
                log.append_as_follower(bytes(records))
            except CorruptRecordError:
                return False  # damaged in transit: back off and fetch again
            core.mark_log_written()
        core.update_follower_high_watermark(state, part.high_watermark)
    _heard_from_leader(core, state, now_ms)
    return True


def raise_truncation_below_high_watermark(core: RaftCore, target: OffsetAndEpoch, hw: int) -> None:
    raise RaftSafetyError(
        f"node {core.node_id} was asked to truncate to {target}, below its high watermark {hw}"
    )


def handle_fetch_snapshot_response(core: RaftCore, response: m.Response, now_ms: int) -> bool:
    body = response.body
    assert isinstance(body, m.FetchSnapshotResponse)
    if body.error_code != ErrorCode.NONE:
        return core.handle_top_level_error(body.error_code)
    part = m.fetch_snapshot_response_partition(body)
    if part is None:
        return False
    leader = part.current_leader
    handled = core.maybe_handle_common_response(
        part.error_code, m.optional_leader(leader.leader_id), leader.leader_epoch, now_ms
    )
    if handled is not None:
        return handled
    state = core.quorum.state
    if not isinstance(state, FollowerState) or state.fetching_snapshot is None:
        return True
    writer = state.fetching_snapshot
    if part.error_code in _RESTART_FROM_LOG:
        # The leader moved on to a newer snapshot: start over with a Fetch.
        writer.abort()
        state.fetching_snapshot = None
        return True
    if part.error_code != ErrorCode.NONE:
        return False
    snapshot_id = OffsetAndEpoch(part.snapshot_id.end_offset, part.snapshot_id.epoch)
    data = part.unaligned_records or b""
    if snapshot_id != writer.snapshot_id or part.position != writer.size():
        return False
    writer.append(bytes(data))
    if writer.size() > part.size:
        writer.abort()
        state.fetching_snapshot = None
        return False
    if writer.size() == part.size:
        writer.freeze()
        state.fetching_snapshot = None
        core.finish_snapshot_download(state, snapshot_id)
    _heard_from_leader(core, state, now_ms)
    return True


def _heard_from_leader(core: RaftCore, state: FollowerState, now_ms: int) -> None:
    state.fetch_deadline = now_ms + core.config.fetch_timeout_ms
    state.has_fetched_from_leader = True
