"""One core at a time: its answers to single requests, and the promises of its Ready."""

from __future__ import annotations

import random

import pytest

from odradek.protocol.errors import ErrorCode
from odradek.raft import messages as m
from odradek.raft.batches import data_batch
from odradek.raft.core import RaftCore
from odradek.raft.election import ElectionState
from odradek.raft.errors import NotLeaderError
from odradek.raft.memory_log import MemoryRaftLog
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.ready import Commit, LeaderChange, Ready
from odradek.raft.states import (
    CandidateState,
    FollowerState,
    ResignedState,
    UnattachedState,
)

VOTERS = (1, 2, 3)


def make_core(
    node_id: int = 1,
    voters: tuple[int, ...] = VOTERS,
    *,
    election: ElectionState | None = None,
    log: MemoryRaftLog | None = None,
    cluster_id: str | None = None,
) -> RaftCore:
    return RaftCore(
        node_id=node_id,
        voters=voters,
        log=log or MemoryRaftLog(),
        rng=random.Random(0),
        now_ms=0,
        election=election,
        cluster_id=cluster_id,
    )


def ask(
    core: RaftCore, body: m.RequestBody, *, source: int, now: int = 1, pre_vote: bool = False
) -> Ready:
    core.receive(m.Request(source, core.node_id, 77, body, pre_vote), now)
    return core.ready(now)


def answer(ready: Ready, source: int) -> m.ResponseBody:
    (response,) = [
        x for x in ready.messages if isinstance(x, m.Response) and x.destination == source
    ]
    return response.body


EMPTY = OffsetAndEpoch(0, 0)


def vote(epoch: int, candidate: int, last: OffsetAndEpoch = EMPTY) -> m.VoteRequest:
    return m.vote_request(
        None, candidate_id=candidate, candidate_epoch=epoch, last_offset=last, voter_id=1
    )


def vote_result(body: m.ResponseBody) -> tuple[int, bool, int]:
    assert isinstance(body, m.VoteResponse)
    part = body.topics[0].partitions[0]
    return part.error_code, part.vote_granted, part.leader_epoch


def test_a_single_voter_elects_itself_and_commits_alone() -> None:
    core = make_core(voters=(1,))
    core.tick(3_000)
    assert core.is_leader
    ready = core.ready(3_000)
    assert ready.election == ElectionState(1, 1, 1, frozenset({1}))
    assert ready.flush_offset == 1  # the LeaderChange record
    offset = core.append([b"hello"], core.epoch, 3_001)
    assert offset == 1
    core.tick(3_100)  # past the linger time
    ready = core.ready(3_100)
    assert ready.flush_offset == 2
    commits = [e for e in ready.events if isinstance(e, Commit)]
    assert commits[-1].batches[-1].records == (b"hello",)
    assert core.high_watermark == 2


ALONE = frozenset({1})


def test_a_single_voter_leads_before_any_time_passes() -> None:
    """Kafka's ``initialize``: the only voter's own votes are a majority, so it does not
    wait out an election timeout; the core leads as soon as it is built."""
    core = make_core(voters=(1,))
    assert core.is_leader
    assert core.epoch == 1
    ready = core.ready(0)
    assert ready.election == ElectionState(1, 1, 1, ALONE)
    assert ready.flush_offset == 1  # the LeaderChange record
    assert ready.messages == []
    assert [type(e).__name__ for e in ready.events] == ["Commit", "LeaderChange"]
    assert ready.events[-1] == LeaderChange(1, 1)
    assert core.high_watermark == 1
    assert core.append([b"hello"], 1, 0) == 1


def _log_with_epoch(epoch: int) -> MemoryRaftLog:
    log = MemoryRaftLog()
    log.append_as_leader(
        data_batch([b"a", b"b"], base_offset=0, epoch=epoch, append_time_ms=0), epoch
    )
    log.flush(log.end_offset)
    return log


@pytest.mark.parametrize(
    ("stored", "log_epoch", "epoch"),
    [
        # It led epoch 4: restored Resigned there, it runs in epoch 5.
        pytest.param(ElectionState(4, 1, 1, ALONE), 4, 5, id="after-leading"),
        # It had voted for itself in epoch 5: restored Candidate, it holds a majority.
        pytest.param(ElectionState(5, None, 1, ALONE), 4, 5, id="after-voting-for-itself"),
        pytest.param(ElectionState(3, None, None, ALONE), 3, 4, id="unattached"),
        # It followed voter 2, since removed from the voter set.
        pytest.param(ElectionState(6, 2, None, frozenset({1, 2})), 6, 7, id="after-following"),
        # The log saw a later epoch than quorum-state.
        pytest.param(ElectionState(2, None, None, ALONE), 5, 6, id="log-ahead-of-state"),
    ],
)
def test_a_restarted_single_voter_leads_before_any_time_passes(
    stored: ElectionState, log_epoch: int, epoch: int
) -> None:
    core = make_core(voters=(1,), election=stored, log=_log_with_epoch(log_epoch))
    assert core.is_leader
    assert core.epoch == epoch
    ready = core.ready(0)
    assert ready.election == ElectionState(epoch, 1, 1, ALONE)
    # The records of earlier epochs commit with the new epoch's LeaderChange record.
    commits = [e for e in ready.events if isinstance(e, Commit)]
    assert commits[0].batches[0].records == (b"a", b"b")
    assert core.high_watermark == 3
    assert ready.events[-1] == LeaderChange(1, epoch)


def test_a_single_voter_restarted_from_its_own_files_leads_at_once() -> None:
    log = MemoryRaftLog()
    core = make_core(voters=(1,), log=log)
    stored = core.ready(0).election
    core.append([b"kept"], core.epoch, 0)
    core.tick(1_000)  # past the linger time
    ready = core.ready(1_000)
    assert ready.flush_offset == 2
    log.flush(ready.flush_offset)
    log.lose_unflushed()
    restarted = RaftCore(
        node_id=1, voters=(1,), log=log, rng=random.Random(1), now_ms=5_000, election=stored
    )
    assert restarted.is_leader
    assert restarted.epoch == 2
    ready = restarted.ready(5_000)
    records = [
        r for e in ready.events if isinstance(e, Commit) for b in e.batches for r in b.records
    ]
    assert b"kept" in records
    assert restarted.high_watermark == 3


def test_only_the_only_voter_elects_itself_at_start() -> None:
    observer = make_core(node_id=2, voters=(1,))
    assert isinstance(observer.state, UnattachedState)
    assert observer.epoch == 0
    one_of_three = make_core()
    assert isinstance(one_of_three.state, UnattachedState)
    restored_candidate = make_core(election=ElectionState(5, None, 1, frozenset(VOTERS)))
    assert isinstance(restored_candidate.state, CandidateState)


def test_a_vote_is_persisted_in_the_same_ready_that_grants_it() -> None:
    core = make_core()
    ready = ask(core, vote(epoch=3, candidate=2), source=2)
    assert vote_result(answer(ready, 2)) == (ErrorCode.NONE, True, 3)
    assert ready.election == ElectionState(3, None, 2, frozenset(VOTERS))
    # A second candidate in the same epoch is refused; the first is granted again.
    ready = ask(core, vote(epoch=3, candidate=3), source=3)
    assert vote_result(answer(ready, 3)) == (ErrorCode.NONE, False, 3)
    ready = ask(core, vote(epoch=3, candidate=2), source=2)
    assert vote_result(answer(ready, 2)) == (ErrorCode.NONE, True, 3)


def test_a_restarted_voter_remembers_its_vote() -> None:
    core = make_core(election=ElectionState(3, None, 2, frozenset(VOTERS)))
    assert isinstance(core.state, UnattachedState)
    ready = ask(core, vote(epoch=3, candidate=3), source=3)
    assert vote_result(answer(ready, 3)) == (ErrorCode.NONE, False, 3)


def test_a_restarted_leader_is_resigned_in_its_epoch() -> None:
    core = make_core(election=ElectionState(4, 1, 1, frozenset(VOTERS)))
    assert isinstance(core.state, ResignedState)
    assert core.epoch == 4
    ready = ask(core, vote(epoch=4, candidate=2), source=2)
    assert vote_result(answer(ready, 2))[1] is False
    with pytest.raises(NotLeaderError):
        core.append([b"x"], 4, 2)


def test_a_restarted_candidate_runs_again_in_its_epoch() -> None:
    core = make_core(election=ElectionState(5, None, 1, frozenset(VOTERS)))
    assert isinstance(core.state, CandidateState)
    ready = core.ready(0)
    votes = [x for x in ready.messages if isinstance(x, m.Request)]
    assert sorted(x.destination for x in votes) == [2, 3]
    assert all(isinstance(x.body, m.VoteRequest) and not x.pre_vote for x in votes)


def test_no_vote_for_a_less_up_to_date_log() -> None:
    log = MemoryRaftLog()
    log.append_as_leader(data_batch([b"a", b"b"], base_offset=0, epoch=2, append_time_ms=0), 2)
    core = make_core(log=log, election=ElectionState(2, None, None, frozenset(VOTERS)))
    shorter = vote(epoch=3, candidate=2, last=OffsetAndEpoch(1, 2))
    assert vote_result(answer(ask(core, shorter, source=2), 2))[1] is False
    older_epoch = vote(epoch=4, candidate=3, last=OffsetAndEpoch(9, 1))
    assert vote_result(answer(ask(core, older_epoch, source=3), 3))[1] is False
    equal = vote(epoch=5, candidate=2, last=OffsetAndEpoch(2, 2))
    assert vote_result(answer(ask(core, equal, source=2), 2))[1] is True


def test_a_pre_vote_changes_nothing_on_disk() -> None:
    core = make_core()
    core.ready(0)
    ready = ask(core, vote(epoch=0, candidate=2), source=2, pre_vote=True)
    assert vote_result(answer(ready, 2)) == (ErrorCode.NONE, True, 0)
    assert ready.election is None
    assert core.state.voted_id is None


def test_a_follower_that_hears_from_its_leader_refuses_pre_votes() -> None:
    core = make_core()
    ready = ask(
        core, m.begin_quorum_epoch_request(None, leader_id=2, epoch=1, voter_id=1), source=2
    )
    assert isinstance(core.state, FollowerState)
    # Before any fetch succeeds the leader may be gone already: a pre-vote is granted.
    ready_pre = ask(core, vote(epoch=1, candidate=3), source=3, now=2, pre_vote=True)
    assert vote_result(answer(ready_pre, 3)) == (ErrorCode.NONE, True, 1)
    fetch = next(x for x in ready.messages if isinstance(x.body, m.FetchRequest))
    response = m.fetch_response(
        ErrorCode.NONE, leader_id=2, epoch=1, high_watermark=0, log_start_offset=0
    )
    core.receive(m.Response(2, 1, fetch.correlation_id, response), 5)
    ready = ask(core, vote(epoch=1, candidate=3), source=3, now=6, pre_vote=True)
    assert vote_result(answer(ready, 3)) == (ErrorCode.NONE, False, 1)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (vote(epoch=2, candidate=7), ErrorCode.INCONSISTENT_VOTER_SET),
        (vote(epoch=2, candidate=2, last=OffsetAndEpoch(0, 2)), ErrorCode.INVALID_REQUEST),
    ],
)
def test_vote_errors(body: m.VoteRequest, error: ErrorCode) -> None:
    core = make_core()
    assert vote_result(answer(ask(core, body, source=7), 7))[0] == error


def test_a_stale_vote_is_fenced() -> None:
    core = make_core(election=ElectionState(5, None, None, frozenset(VOTERS)))
    assert vote_result(answer(ask(core, vote(epoch=4, candidate=2), source=2), 2)) == (
        ErrorCode.FENCED_LEADER_EPOCH,
        False,
        5,
    )


def test_another_cluster_is_refused() -> None:
    core = make_core(cluster_id="abc")
    body = m.vote_request(
        "xyz", candidate_id=2, candidate_epoch=1, last_offset=OffsetAndEpoch(0, 0), voter_id=1
    )
    response = answer(ask(core, body, source=2), 2)
    assert isinstance(response, m.VoteResponse)
    assert response.error_code == ErrorCode.INCONSISTENT_CLUSTER_ID


def leader_core() -> RaftCore:
    core = make_core(voters=(1,))
    core.tick(3_000)
    core.ready(3_000)
    assert core.is_leader
    return core


def fetch(epoch: int, offset: int, last_epoch: int, replica: int = 5) -> m.FetchRequest:
    return m.fetch_request(
        None,
        replica_id=replica,
        epoch=epoch,
        fetch_offset=offset,
        last_fetched_epoch=last_epoch,
        log_start_offset=0,
        max_wait_ms=0,
        max_bytes=1 << 20,
    )


def fetch_error(ready: Ready) -> int:
    body = answer(ready, 5)
    assert isinstance(body, m.FetchResponse)
    part = m.fetch_response_partition(body)
    assert part is not None
    return part.error_code


@pytest.mark.parametrize(
    ("epoch", "last_epoch", "error"),
    [
        (1, 0, ErrorCode.NONE),
        (0, 0, ErrorCode.FENCED_LEADER_EPOCH),
        (2, 0, ErrorCode.UNKNOWN_LEADER_EPOCH),
        (1, 2, ErrorCode.INVALID_REQUEST),
    ],
)
def test_fetch_validation(epoch: int, last_epoch: int, error: ErrorCode) -> None:
    core = leader_core()
    assert fetch_error(ask(core, fetch(epoch, 0, last_epoch), source=5, now=3_001)) == error


def test_a_non_leader_names_the_leader() -> None:
    core = make_core()
    ask(core, m.begin_quorum_epoch_request(None, leader_id=2, epoch=1, voter_id=1), source=2)
    body = answer(ask(core, fetch(1, 0, 0), source=5), 5)
    assert isinstance(body, m.FetchResponse)
    part = m.fetch_response_partition(body)
    assert part is not None
    assert part.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert (part.current_leader.leader_id, part.current_leader.leader_epoch) == (2, 1)


def test_an_observer_fetch_is_recorded_and_described() -> None:
    core = leader_core()
    ask(core, fetch(1, 1, 1), source=5, now=3_005)
    body = answer(ask(core, m.describe_quorum_request(), source=-1, now=3_006), -1)
    assert isinstance(body, m.DescribeQuorumResponse)
    part = body.topics[0].partitions[0]
    assert (part.leader_id, part.leader_epoch, part.high_watermark) == (1, 1, 1)
    assert [(v.replica_id, v.log_end_offset) for v in part.current_voters] == [(1, 1)]
    assert [(o.replica_id, o.log_end_offset) for o in part.observers] == [(5, 1)]


def test_appends_only_in_the_leaders_epoch() -> None:
    core = leader_core()
    with pytest.raises(NotLeaderError):
        core.append([b"x"], core.epoch + 1, 3_001)
    follower = make_core()
    with pytest.raises(NotLeaderError):
        follower.append([b"x"], 0, 1)


def test_snapshots_only_of_committed_offsets() -> None:
    core = leader_core()
    with pytest.raises(ValueError, match="high watermark"):
        core.create_snapshot(OffsetAndEpoch(5, 1), 0, 3_001)
    with pytest.raises(ValueError, match="epoch"):
        core.create_snapshot(OffsetAndEpoch(1, 0), 0, 3_001)
    writer = core.create_snapshot(OffsetAndEpoch(1, 1), 0, 3_001)
    assert writer is not None


def test_the_leader_learns_of_its_leadership_after_catching_up() -> None:
    core = make_core(voters=(1,))
    core.tick(3_000)
    ready = core.ready(3_000)
    kinds = [type(e).__name__ for e in ready.events]
    # Everything committed up to the epoch start is handed over before the news.
    assert kinds == ["Commit", "LeaderChange"]
    assert ready.events[-1] == LeaderChange(1, 1)
