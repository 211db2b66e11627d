"""The messages the quorum exchanges: Kafka's own requests and responses, in envelopes.

KIP-595 ("Raft RPCs"), KIP-630 (FetchSnapshot), KIP-996 (pre-vote). The bodies are the
generated classes of :mod:`odradek.protocol.messages.clients`, so the network shell
encodes them as they are: Vote, BeginQuorumEpoch, EndQuorumEpoch, DescribeQuorum (specs
``clients/<Name>Request.json`` and ``Response.json``), Fetch (the Raft form of it: the
follower's id in ``replica_state``, its last epoch in ``last_fetched_epoch``; the leader
answers with ``diverging_epoch``, ``current_leader`` or ``snapshot_id``) and
FetchSnapshot. Each names one topic and partition: ``__cluster_metadata``, partition 0,
whose topic id is Kafka's fixed ``METADATA_TOPIC_ID``.

An envelope (:class:`Request`, :class:`Response`) adds what the transport knows: who
sent it, to whom, and the correlation id that pairs a response with its request. For a
request from outside the quorum (a tool's DescribeQuorum, say) ``source`` is whatever id
the driver uses to route the answer back.

**Pre-vote on the wire.** Kafka marks a pre-vote with ``PreVote``, a field of
VoteRequest version 2. The specs this codec is generated from stop at version 1, so the
core carries the flag on the envelope (:attr:`Request.pre_vote`); the network shell must
send it as version 2 (or not at all to a peer that cannot read it: such a peer would
take it for a real vote).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from odradek.protocol.errors import ErrorCode, lookup
from odradek.protocol.messages.clients import (
    begin_quorum_epoch_request as bqe_req,
)
from odradek.protocol.messages.clients import (
    begin_quorum_epoch_response as bqe_resp,
)
from odradek.protocol.messages.clients import (
    describe_quorum_request as dq_req,
)
from odradek.protocol.messages.clients import (
    describe_quorum_response as dq_resp,
)
from odradek.protocol.messages.clients import (
    end_quorum_epoch_request as eqe_req,
)
from odradek.protocol.messages.clients import (
    end_quorum_epoch_response as eqe_resp,
)
from odradek.protocol.messages.clients import (
    fetch_request as fetch_req,
)
from odradek.protocol.messages.clients import (
    fetch_response as fetch_resp,
)
from odradek.protocol.messages.clients import (
    fetch_snapshot_request as fs_req,
)
from odradek.protocol.messages.clients import (
    fetch_snapshot_response as fs_resp,
)
from odradek.protocol.messages.clients import (
    vote_request as vote_req,
)
from odradek.protocol.messages.clients import (
    vote_response as vote_resp,
)
from odradek.raft.offsets import OffsetAndEpoch

METADATA_TOPIC = "__cluster_metadata"
METADATA_PARTITION = 0
#: Kafka's ``Uuid.METADATA_TOPIC_ID``: most significant bits 0, least significant 1.
METADATA_TOPIC_ID = uuid.UUID(int=1)
NO_LEADER = -1

VoteRequest = vote_req.VoteRequest
VoteResponse = vote_resp.VoteResponse
BeginQuorumEpochRequest = bqe_req.BeginQuorumEpochRequest
BeginQuorumEpochResponse = bqe_resp.BeginQuorumEpochResponse
EndQuorumEpochRequest = eqe_req.EndQuorumEpochRequest
EndQuorumEpochResponse = eqe_resp.EndQuorumEpochResponse
FetchRequest = fetch_req.FetchRequest
FetchResponse = fetch_resp.FetchResponse
FetchSnapshotRequest = fs_req.FetchSnapshotRequest
FetchSnapshotResponse = fs_resp.FetchSnapshotResponse
DescribeQuorumRequest = dq_req.DescribeQuorumRequest
DescribeQuorumResponse = dq_resp.DescribeQuorumResponse

RequestBody = (
    VoteRequest
    | BeginQuorumEpochRequest
    | EndQuorumEpochRequest
    | FetchRequest
    | FetchSnapshotRequest
    | DescribeQuorumRequest
)
ResponseBody = (
    VoteResponse
    | BeginQuorumEpochResponse
    | EndQuorumEpochResponse
    | FetchResponse
    | FetchSnapshotResponse
    | DescribeQuorumResponse
)


@dataclass(frozen=True, slots=True)
class Request:
    source: int
    destination: int
    correlation_id: int
    body: RequestBody
    #: A VoteRequest that asks "would you vote for me?" without changing any epoch.
    pre_vote: bool = False


@dataclass(frozen=True, slots=True)
class Response:
    source: int
    destination: int
    correlation_id: int
    body: ResponseBody


RaftMessage = Request | Response


def _leader(leader_id: int | None) -> int:
    return NO_LEADER if leader_id is None else leader_id


def optional_leader(leader_id: int) -> int | None:
    return None if leader_id < 0 else leader_id


# -- Vote -------------------------------------------------------------------------------


def vote_request(
    cluster_id: str | None,
    *,
    candidate_id: int,
    candidate_epoch: int,
    last_offset: OffsetAndEpoch,
    voter_id: int,
) -> VoteRequest:
    return VoteRequest(
        cluster_id=cluster_id,
        voter_id=voter_id,
        topics=[
            vote_req.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    vote_req.PartitionData(
                        partition_index=METADATA_PARTITION,
                        candidate_epoch=candidate_epoch,
                        candidate_id=candidate_id,
                        last_offset_epoch=last_offset.epoch,
                        last_offset=last_offset.offset,
                    )
                ],
            )
        ],
    )


def vote_response(
    error: ErrorCode,
    *,
    leader_id: int | None = None,
    epoch: int = -1,
    granted: bool = False,
    top_level_error: ErrorCode = ErrorCode.NONE,
) -> VoteResponse:
    return VoteResponse(
        error_code=top_level_error,
        topics=[]
        if top_level_error
        else [
            vote_resp.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    vote_resp.PartitionData(
                        partition_index=METADATA_PARTITION,
                        error_code=error,
                        leader_id=_leader(leader_id),
                        leader_epoch=epoch,
                        vote_granted=granted,
                    )
                ],
            )
        ],
    )


# -- BeginQuorumEpoch and EndQuorumEpoch ------------------------------------------------


def begin_quorum_epoch_request(
    cluster_id: str | None, *, leader_id: int, epoch: int, voter_id: int
) -> BeginQuorumEpochRequest:
    return BeginQuorumEpochRequest(
        cluster_id=cluster_id,
        voter_id=voter_id,
        topics=[
            bqe_req.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    bqe_req.PartitionData(
                        partition_index=METADATA_PARTITION, leader_id=leader_id, leader_epoch=epoch
                    )
                ],
            )
        ],
    )


def begin_quorum_epoch_response(
    error: ErrorCode,
    *,
    leader_id: int | None = None,
    epoch: int = -1,
    top_level_error: ErrorCode = ErrorCode.NONE,
) -> BeginQuorumEpochResponse:
    return BeginQuorumEpochResponse(
        error_code=top_level_error,
        topics=[]
        if top_level_error
        else [
            bqe_resp.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    bqe_resp.PartitionData(
                        partition_index=METADATA_PARTITION,
                        error_code=error,
                        leader_id=_leader(leader_id),
                        leader_epoch=epoch,
                    )
                ],
            )
        ],
    )


def end_quorum_epoch_request(
    cluster_id: str | None, *, leader_id: int, epoch: int, preferred_successors: Sequence[int]
) -> EndQuorumEpochRequest:
    return EndQuorumEpochRequest(
        cluster_id=cluster_id,
        topics=[
            eqe_req.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    eqe_req.PartitionData(
                        partition_index=METADATA_PARTITION,
                        leader_id=leader_id,
                        leader_epoch=epoch,
                        preferred_successors=list(preferred_successors),
                        preferred_candidates=[
                            eqe_req.ReplicaInfo(candidate_id=c) for c in preferred_successors
                        ],
                    )
                ],
            )
        ],
    )


def end_quorum_epoch_response(
    error: ErrorCode,
    *,
    leader_id: int | None = None,
    epoch: int = -1,
    top_level_error: ErrorCode = ErrorCode.NONE,
) -> EndQuorumEpochResponse:
    return EndQuorumEpochResponse(
        error_code=top_level_error,
        topics=[]
        if top_level_error
        else [
            eqe_resp.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    eqe_resp.PartitionData(
                        partition_index=METADATA_PARTITION,
                        error_code=error,
                        leader_id=_leader(leader_id),
                        leader_epoch=epoch,
                    )
                ],
            )
        ],
    )


# -- Fetch ------------------------------------------------------------------------------


def fetch_request(
    cluster_id: str | None,
    *,
    replica_id: int,
    epoch: int,
    fetch_offset: int,
    last_fetched_epoch: int,
    log_start_offset: int,
    max_wait_ms: int,
    max_bytes: int,
) -> FetchRequest:
    return FetchRequest(
        cluster_id=cluster_id,
        replica_state=fetch_req.ReplicaState(replica_id=replica_id, replica_epoch=-1),
        max_wait_ms=max_wait_ms,
        min_bytes=0,
        max_bytes=max_bytes,
        topics=[
            fetch_req.FetchTopic(
                topic=METADATA_TOPIC,
                topic_id=METADATA_TOPIC_ID,
                partitions=[
                    fetch_req.FetchPartition(
                        partition=METADATA_PARTITION,
                        current_leader_epoch=epoch,
                        fetch_offset=fetch_offset,
                        last_fetched_epoch=last_fetched_epoch,
                        log_start_offset=log_start_offset,
                        partition_max_bytes=max_bytes,
                    )
                ],
            )
        ],
    )


def fetch_request_for_version(request: FetchRequest, version: int) -> FetchRequest:
    """The request as ``version`` can carry it: before 15 the replica id is a plain field.

    The core builds Fetch in its newest form; a shell that must speak an older version
    to its peer calls this first.
    """
    if version >= 15 or request.replica_state.replica_id < 0:
        return request
    return msgspec.structs.replace(
        request,
        replica_id=request.replica_state.replica_id,
        replica_state=fetch_req.ReplicaState(),
    )


def fetch_replica_id(request: FetchRequest) -> int:
    """The fetching replica: ``replica_state`` from version 15, ``replica_id`` before."""
    state_id = request.replica_state.replica_id
    return state_id if state_id >= 0 else request.replica_id


def fetch_partition(request: FetchRequest) -> fetch_req.FetchPartition | None:
    """The one metadata partition a Raft Fetch must name, or None if it does not."""
    if len(request.topics) != 1:
        return None
    topic = request.topics[0]
    if topic.topic != METADATA_TOPIC and topic.topic_id != METADATA_TOPIC_ID:
        return None
    if len(topic.partitions) != 1 or topic.partitions[0].partition != METADATA_PARTITION:
        return None
    return topic.partitions[0]


def fetch_response(
    error: ErrorCode,
    *,
    leader_id: int | None,
    epoch: int,
    high_watermark: int | None,
    log_start_offset: int,
    records: bytes | None = None,
    diverging: OffsetAndEpoch | None = None,
    snapshot_id: OffsetAndEpoch | None = None,
    top_level_error: ErrorCode = ErrorCode.NONE,
) -> FetchResponse:
    partition = fetch_resp.PartitionData(
        partition_index=METADATA_PARTITION,
        error_code=error,
        high_watermark=-1 if high_watermark is None else high_watermark,
        log_start_offset=log_start_offset,
        current_leader=fetch_resp.LeaderIdAndEpoch(
            leader_id=_leader(leader_id), leader_epoch=epoch
        ),
        records=records if records is not None else b"",
    )
    if diverging is not None:
        partition.diverging_epoch = fetch_resp.EpochEndOffset(
            epoch=diverging.epoch, end_offset=diverging.offset
        )
    if snapshot_id is not None:
        partition.snapshot_id = fetch_resp.SnapshotId(
            end_offset=snapshot_id.offset, epoch=snapshot_id.epoch
        )
    return FetchResponse(
        error_code=top_level_error,
        responses=[]
        if top_level_error
        else [
            fetch_resp.FetchableTopicResponse(
                topic=METADATA_TOPIC, topic_id=METADATA_TOPIC_ID, partitions=[partition]
            )
        ],
    )


def fetch_response_partition(response: FetchResponse) -> fetch_resp.PartitionData | None:
    if len(response.responses) != 1:
        return None
    topic = response.responses[0]
    if topic.topic != METADATA_TOPIC and topic.topic_id != METADATA_TOPIC_ID:
        return None
    if len(topic.partitions) != 1 or topic.partitions[0].partition_index != METADATA_PARTITION:
        return None
    return topic.partitions[0]


# -- FetchSnapshot ----------------------------------------------------------------------


def fetch_snapshot_request(
    cluster_id: str | None,
    *,
    replica_id: int,
    epoch: int,
    snapshot_id: OffsetAndEpoch,
    position: int,
    max_bytes: int,
) -> FetchSnapshotRequest:
    return FetchSnapshotRequest(
        cluster_id=cluster_id,
        replica_id=replica_id,
        max_bytes=max_bytes,
        topics=[
            fs_req.TopicSnapshot(
                name=METADATA_TOPIC,
                partitions=[
                    fs_req.PartitionSnapshot(
                        partition=METADATA_PARTITION,
                        current_leader_epoch=epoch,
                        snapshot_id=fs_req.SnapshotId(
                            end_offset=snapshot_id.offset, epoch=snapshot_id.epoch
                        ),
                        position=position,
                    )
                ],
            )
        ],
    )


def fetch_snapshot_partition(request: FetchSnapshotRequest) -> fs_req.PartitionSnapshot | None:
    if len(request.topics) != 1 or request.topics[0].name != METADATA_TOPIC:
        return None
    partitions = request.topics[0].partitions
    if len(partitions) != 1 or partitions[0].partition != METADATA_PARTITION:
        return None
    return partitions[0]


def fetch_snapshot_response(
    error: ErrorCode,
    *,
    leader_id: int | None,
    epoch: int,
    snapshot_id: OffsetAndEpoch | None = None,
    size: int = 0,
    position: int = 0,
    data: bytes = b"",
    top_level_error: ErrorCode = ErrorCode.NONE,
) -> FetchSnapshotResponse:
    partition = fs_resp.PartitionSnapshot(
        index=METADATA_PARTITION,
        error_code=error,
        current_leader=fs_resp.LeaderIdAndEpoch(leader_id=_leader(leader_id), leader_epoch=epoch),
        size=size,
        position=position,
        unaligned_records=data,
    )
    if snapshot_id is not None:
        partition.snapshot_id = fs_resp.SnapshotId(
            end_offset=snapshot_id.offset, epoch=snapshot_id.epoch
        )
    return FetchSnapshotResponse(
        error_code=top_level_error,
        topics=[]
        if top_level_error
        else [fs_resp.TopicSnapshot(name=METADATA_TOPIC, partitions=[partition])],
    )


def fetch_snapshot_response_partition(
    response: FetchSnapshotResponse,
) -> fs_resp.PartitionSnapshot | None:
    if len(response.topics) != 1 or response.topics[0].name != METADATA_TOPIC:
        return None
    partitions = response.topics[0].partitions
    if len(partitions) != 1 or partitions[0].index != METADATA_PARTITION:
        return None
    return partitions[0]


# -- DescribeQuorum ---------------------------------------------------------------------


def describe_quorum_request() -> DescribeQuorumRequest:
    return DescribeQuorumRequest(
        topics=[
            dq_req.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[dq_req.PartitionData(partition_index=METADATA_PARTITION)],
            )
        ]
    )


def describe_quorum_asks_for_metadata(request: DescribeQuorumRequest) -> bool:
    return (
        len(request.topics) == 1
        and request.topics[0].topic_name == METADATA_TOPIC
        and len(request.topics[0].partitions) == 1
        and request.topics[0].partitions[0].partition_index == METADATA_PARTITION
    )


@dataclass(frozen=True, slots=True)
class ReplicaDescription:
    replica_id: int
    log_end_offset: int
    last_fetch_ms: int
    last_caught_up_ms: int


def describe_quorum_response(
    error: ErrorCode,
    *,
    leader_id: int | None = None,
    epoch: int = -1,
    high_watermark: int = -1,
    voters: Sequence[ReplicaDescription] = (),
    observers: Sequence[ReplicaDescription] = (),
    top_level_error: ErrorCode = ErrorCode.NONE,
) -> DescribeQuorumResponse:
    def states(replicas: Sequence[ReplicaDescription]) -> list[dq_resp.ReplicaState]:
        return [
            dq_resp.ReplicaState(
                replica_id=r.replica_id,
                log_end_offset=r.log_end_offset,
                last_fetch_timestamp=r.last_fetch_ms,
                last_caught_up_timestamp=r.last_caught_up_ms,
            )
            for r in replicas
        ]

    return DescribeQuorumResponse(
        error_code=top_level_error,
        error_message=None,
        topics=[]
        if top_level_error
        else [
            dq_resp.TopicData(
                topic_name=METADATA_TOPIC,
                partitions=[
                    dq_resp.PartitionData(
                        partition_index=METADATA_PARTITION,
                        error_code=error,
                        error_message=None,
                        leader_id=_leader(leader_id),
                        leader_epoch=epoch,
                        high_watermark=high_watermark,
                        current_voters=states(voters),
                        observers=states(observers),
                    )
                ],
            )
        ],
    )


# -- one line per message, for logs and transcripts -------------------------------------


def summarize(message: RaftMessage) -> str:
    """A short, stable description of a message (the simulation's transcripts use it)."""
    body = message.body
    if isinstance(body, VoteRequest):
        vote = body.topics[0].partitions[0]
        kind = "PreVote" if isinstance(message, Request) and message.pre_vote else "Vote"
        last = f"{vote.last_offset}@{vote.last_offset_epoch}"
        return f"{kind}(epoch={vote.candidate_epoch}, last={last})"
    if isinstance(body, VoteResponse):
        if not body.topics:
            return f"VoteResponse({_name(body.error_code)})"
        answer = body.topics[0].partitions[0]
        verdict = "granted" if answer.vote_granted else "rejected"
        return f"VoteResponse({verdict}, epoch={answer.leader_epoch}{_error(answer.error_code)})"
    if isinstance(body, BeginQuorumEpochRequest):
        begin = body.topics[0].partitions[0]
        return f"BeginQuorumEpoch(leader={begin.leader_id}, epoch={begin.leader_epoch})"
    if isinstance(body, EndQuorumEpochRequest):
        end = body.topics[0].partitions[0]
        return (
            f"EndQuorumEpoch(leader={end.leader_id}, epoch={end.leader_epoch}, "
            f"successors={list(end.preferred_successors)})"
        )
    if isinstance(body, BeginQuorumEpochResponse):
        if not body.topics:
            return f"BeginQuorumEpochResponse({_name(body.error_code)})"
        began = body.topics[0].partitions[0]
        return f"BeginQuorumEpochResponse(epoch={began.leader_epoch}{_error(began.error_code)})"
    if isinstance(body, EndQuorumEpochResponse):
        if not body.topics:
            return f"EndQuorumEpochResponse({_name(body.error_code)})"
        ended = body.topics[0].partitions[0]
        return f"EndQuorumEpochResponse(epoch={ended.leader_epoch}{_error(ended.error_code)})"
    if isinstance(body, FetchRequest):
        wanted = body.topics[0].partitions[0]
        return (
            f"Fetch(offset={wanted.fetch_offset}, last_epoch={wanted.last_fetched_epoch}, "
            f"epoch={wanted.current_leader_epoch})"
        )
    if isinstance(body, FetchResponse):
        got = fetch_response_partition(body)
        if got is None:
            return f"FetchResponse({_name(body.error_code)})"
        details = [f"epoch={got.current_leader.leader_epoch}", f"hw={got.high_watermark}"]
        if got.diverging_epoch.epoch >= 0:
            details.append(
                f"diverging={got.diverging_epoch.end_offset}@{got.diverging_epoch.epoch}"
            )
        elif got.snapshot_id.epoch >= 0:
            details.append(f"snapshot={got.snapshot_id.end_offset}@{got.snapshot_id.epoch}")
        elif got.records:
            details.append(f"{len(got.records)} bytes")
        return f"FetchResponse({', '.join(details)}{_error(got.error_code)})"
    if isinstance(body, FetchSnapshotRequest):
        chunk = body.topics[0].partitions[0]
        return (
            f"FetchSnapshot(snapshot={chunk.snapshot_id.end_offset}@{chunk.snapshot_id.epoch}, "
            f"position={chunk.position})"
        )
    if isinstance(body, FetchSnapshotResponse):
        sent = fetch_snapshot_response_partition(body)
        if sent is None:
            return f"FetchSnapshotResponse({_name(body.error_code)})"
        data = sent.unaligned_records or b""
        return (
            f"FetchSnapshotResponse(position={sent.position}, {len(data)} of {sent.size} bytes"
            f"{_error(sent.error_code)})"
        )
    return type(body).__name__.removesuffix("Request")


def _name(code: int) -> str:
    known = lookup(code)
    return known.name if known is not None else f"error {code}"


def _error(code: int) -> str:
    return "" if code == ErrorCode.NONE else f", {_name(code)}"
