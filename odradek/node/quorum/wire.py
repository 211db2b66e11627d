"""The Raft messages as they cross the network: which version, and the pre-vote mark.

KIP-595 ("Raft RPCs") and KIP-996 ("Pre-Vote"); the specs are
``shared/kafka-spec/clients/{Vote,BeginQuorumEpoch,EndQuorumEpoch,Fetch,FetchSnapshot,
DescribeQuorum}{Request,Response}.json``. The core (:mod:`odradek.raft.messages`) builds
each body in its newest form; this module picks the version a peer is sent and turns
the envelope's pre-vote flag into bytes and back.

**Versions.** Each request goes at the highest version both sides speak: this node's
codec (:data:`HIGHEST_VERSIONS`) and the peer's ApiVersions answer. Raft needs Fetch 12
or later (``last_fetched_epoch``, ``diverging_epoch``, ``current_leader``); before 15 the
fetching replica is named in ``replica_id`` rather than ``replica_state``
(:func:`odradek.raft.messages.fetch_request_for_version`).

**Pre-vote.** Kafka marks a pre-vote with ``PreVote``, a field that VoteRequest gained in
version 2. The specs this codec is generated from stop at version 1, so a pre-vote
cannot be sent the way Kafka sends it. Sending it as a plain Vote is not an option
either: a pre-vote carries the asker's *current* epoch, which a real vote must exceed
(the receiver would refuse it with INVALID_REQUEST, or, worse, spend its vote of that
epoch on a replica that is not a candidate). So the mark rides in a tagged field of the
partition (tag :data:`PRE_VOTE_TAG`, one byte, 1), which version 1 -- flexible -- can
carry and which a reader that does not know it skips. Between Odradek voters a pre-vote
is therefore a pre-vote; Kafka's own controllers never join an Odradek quorum.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from odradek.raft import messages as m

#: The highest version of each Raft API this node's codec speaks.
HIGHEST_VERSIONS: Mapping[int, int] = {52: 1, 53: 1, 54: 1, 1: 17, 59: 1, 55: 2}
#: The lowest version this node sends or accepts: Raft's Fetch needs 12 (see above).
LOWEST_VERSIONS: Mapping[int, int] = {52: 0, 53: 0, 54: 0, 1: 12, 59: 0, 55: 0}
#: The tagged field of a VoteRequest partition that marks a pre-vote. Far above the tags
#: Kafka numbers from 0 upwards, so that it never collides with one of theirs.
PRE_VOTE_TAG = 0x4F44
_TRUE = b"\x01"


def request_version(api_key: int, peer_highest: int | None) -> int | None:
    """The version to send ``api_key`` at, or None if the peer speaks none that works."""
    ours = HIGHEST_VERSIONS[api_key]
    version = ours if peer_highest is None else min(ours, peer_highest)
    return version if version >= LOWEST_VERSIONS[api_key] else None


def outgoing_body(request: m.Request, version: int) -> m.RequestBody:
    """The body of ``request`` as it is encoded at ``version``."""
    body = request.body
    if isinstance(body, m.FetchRequest):
        return m.fetch_request_for_version(body, version)
    if isinstance(body, m.VoteRequest) and request.pre_vote:
        return mark_pre_vote(body)
    return body


def mark_pre_vote(body: m.VoteRequest) -> m.VoteRequest:
    """The same request, with every partition carrying the pre-vote mark."""
    topics = []
    for topic in body.topics:
        partitions = [
            msgspec.structs.replace(
                part,
                unknown_tagged_fields=[
                    *(f for f in part.unknown_tagged_fields or () if f[0] != PRE_VOTE_TAG),
                    (PRE_VOTE_TAG, _TRUE),
                ],
            )
            for part in topic.partitions
        ]
        topics.append(msgspec.structs.replace(topic, partitions=partitions))
    return msgspec.structs.replace(body, topics=topics)


def is_pre_vote(body: m.VoteRequest) -> bool:
    """Whether a received VoteRequest is a pre-vote (its partition carries the mark)."""
    return any(
        tag == PRE_VOTE_TAG and value == _TRUE
        for topic in body.topics
        for part in topic.partitions
        for tag, value in part.unknown_tagged_fields or ()
    )


def source_of(body: m.RequestBody) -> int:
    """The replica a request claims to come from (-1 for a tool's DescribeQuorum).

    The driver addresses the answer's envelope to it; the core itself reads the ids it
    needs from the body.
    """
    if isinstance(body, m.FetchRequest):
        return m.fetch_replica_id(body)
    if isinstance(body, m.FetchSnapshotRequest):
        return body.replica_id
    if isinstance(body, m.VoteRequest):
        votes = [p.candidate_id for t in body.topics for p in t.partitions]
        return votes[0] if votes else -1
    if isinstance(body, m.BeginQuorumEpochRequest):
        begins = [p.leader_id for t in body.topics for p in t.partitions]
        return begins[0] if begins else -1
    if isinstance(body, m.EndQuorumEpochRequest):
        ends = [p.leader_id for t in body.topics for p in t.partitions]
        return ends[0] if ends else -1
    return -1
