"""KRaft: the Raft consensus behind ``__cluster_metadata``, as a pure state machine.

Apache Kafka's ``raft`` module (KIP-595 Raft, KIP-630 snapshots, KIP-996 pre-vote; the
controller quorum of ``docs/ops.html``, "KRaft"), rebuilt as a core without I/O in the
manner of etcd's raft: the caller owns the network, the disk and the clock.

Theory of operation
===================

**Roles.** Every replica of the metadata log is a *voter* (a controller listed in
``controller.quorum.voters``) or an *observer* (a broker, which follows the log but
never votes). Time is divided into *epochs*; each epoch has at most one leader, elected
by a majority of voters. Every record carries the epoch of the leader that appended it.

**Election.** A voter that has not heard from a leader for a while (the fetch timeout,
or the election timeout if it never had one) becomes *prospective* and asks the others,
with a pre-vote, whether they would vote for it. Voters that still hear from a leader
refuse; otherwise a voter agrees if the asker's log is at least as up to date as its own
(a later last epoch, or the same epoch and at least as long). With a majority of
pre-votes the prospective voter becomes a *candidate*: it moves to the next epoch, votes
for itself, and asks for real votes. A voter grants one vote per epoch, to an up-to-date
log, and writes the vote to ``quorum-state`` before answering. A majority makes the
candidate *leader*: it appends a LeaderChange record and announces itself with
BeginQuorumEpoch. Pre-vote is why a voter coming back from a partition cannot depose a
healthy leader: it never wins the pre-vote, so it never raises the epoch. The only
voter of a one-voter quorum is its own majority: it leads as soon as it starts.
(:mod:`.quorum`, :mod:`.states`, :mod:`.voting`, :mod:`.epoch_notices`.)

**Replication is pulled.** Followers and observers send Fetch to the leader with the
offset they want next and the epoch of their last record. The leader checks that this
position is on its own log: if so it returns the records that follow; if the follower
holds records the leader does not (written by an old leader and never committed), it
returns the *diverging epoch* and the follower truncates to where the logs part; if the
position lies below the start of the leader's log, it returns a *snapshot id* and the
follower downloads that snapshot with FetchSnapshot. A fetch with nothing to return
waits at the leader (long poll). (:mod:`.leader_fetch`, :mod:`.follower_fetch`,
:mod:`.log`.)

**Commitment.** The fetch offset is the follower's acknowledgement. The *high
watermark* is the largest offset that a majority of voters (the leader included) hold
durably, once it has passed the first record of the leader's own epoch; it only moves
forward, and followers learn it from Fetch responses. Records below it are committed:
they are in the log of every future leader, and only they are handed to the state
machine. (:mod:`.leader_state`, :mod:`.majority`.)

**Check-quorum.** A leader that has not been fetched from by a majority within 1.5 fetch
timeouts resigns, so a leader cut off from the quorum stops acting as one.

**Snapshots.** The state machine writes a snapshot of its state at a committed offset
(Kafka's ``.checkpoint`` file); the log below it can then be deleted, and a replica too
far behind (or new) receives the snapshot instead of the log. (:mod:`.snapshots`.)

Using the core
==============

:class:`RaftCore` takes inputs -- :meth:`~RaftCore.receive` (a message),
:meth:`~RaftCore.tick` (time passed), :meth:`~RaftCore.append` (records to replicate,
on the leader), :meth:`~RaftCore.create_snapshot`, :meth:`~RaftCore.resign` -- and
writes to the :class:`~.log.RaftLog` it was given. Everything else it wants done comes
out of :meth:`~RaftCore.ready` as a :class:`Ready`: the election state to persist, how
far to flush the log, the messages to send, and the events for the state machine
(:class:`Commit`, :class:`LoadSnapshot`, :class:`LeaderChange`), to be carried out in
that order (:mod:`.ready` states the contract). Time is the ``now_ms`` passed with every
input, randomness an injected source: the same inputs always give the same outputs,
which is what lets ``tests/raft/simulation.py`` run whole quorums through crashes and
partitions deterministically.

Left out, for now: dynamic voter sets (KIP-853: AddRaftVoter, RemoveRaftVoter,
UpdateRaftVoter, and voter directory ids), the ``kraft.version`` feature, and
size- or time-based retention of the log behind snapshots (``metadata.max.retention.*``):
the log is truncated at each snapshot as soon as it is committed.
"""

from odradek.raft.batches import CommittedBatch, ControlRecord
from odradek.raft.config import QuorumConfig
from odradek.raft.core import RaftCore
from odradek.raft.election import ElectionState
from odradek.raft.errors import NotLeaderError, RaftSafetyError
from odradek.raft.file_log import FileRaftLog
from odradek.raft.log import RaftLog
from odradek.raft.memory_log import MemoryRaftLog
from odradek.raft.messages import RaftMessage, Request, Response
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.quorum_state_store import FileQuorumStateStore
from odradek.raft.ready import Commit, Event, LeaderChange, LoadSnapshot, Ready
from odradek.raft.snapshots import SnapshotContents, SnapshotWriter

__all__ = [
    "Commit",
    "CommittedBatch",
    "ControlRecord",
    "ElectionState",
    "Event",
    "FileQuorumStateStore",
    "FileRaftLog",
    "LeaderChange",
    "LoadSnapshot",
    "MemoryRaftLog",
    "NotLeaderError",
    "OffsetAndEpoch",
    "QuorumConfig",
    "RaftCore",
    "RaftLog",
    "RaftMessage",
    "RaftSafetyError",
    "Ready",
    "Request",
    "Response",
    "SnapshotContents",
    "SnapshotWriter",
]
