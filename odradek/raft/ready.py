"""The core's output, and the contract of the loop that drives it.

etcd's ``Ready`` (``node.go``) for Kafka's KRaft. After giving the core inputs (a message,
a tick, an append), the driver takes one :class:`Ready` with
:meth:`odradek.raft.core.RaftCore.ready` and carries it out **in field order, each step
finished before the next**, then goes back for more input:

1. :attr:`Ready.election` -- if not None, write it to ``quorum-state`` and fsync
   (:class:`odradek.raft.quorum_state_store.FileQuorumStateStore`). A vote or a new
   epoch must be on disk before the message that announces it leaves: a voter that
   crashed after saying "granted" and forgot would vote again in the same epoch.
2. :attr:`Ready.flush_offset` -- if not None, ``log.flush(flush_offset)`` on the
   :class:`~odradek.raft.log.RaftLog` given to the core. The core has already written
   (appended, truncated) the log; this makes it durable. Every message below may reveal
   the log's end: a follower's next Fetch tells the leader "I hold everything below this",
   which the leader counts toward committing; the leader counts its own end offset the
   same way. Both are only true once flushed.
3. :attr:`Ready.messages` -- send each, in any order, over any connection; losing some is
   allowed (the core retries on its timers), delivering twice is harmless. A response
   may only be given back to the core that sent the request it answers: a restarted
   replica must not receive answers meant for its previous life (over TCP that is
   automatic, the connection died with it). A request that cannot be delivered can be
   reported with :meth:`~odradek.raft.core.RaftCore.request_failed`.
4. :attr:`Ready.events` -- hand each to the state machine, in order. They only ever
   describe committed data (below the high watermark) or leadership, so they can be
   applied as soon as the steps above are done; the state machine never sees a record
   that could still be lost.
5. :attr:`Ready.next_tick_ms` -- call :meth:`~odradek.raft.core.RaftCore.tick` at that
   time (or earlier, harmlessly), unless another input comes first. A time far in the
   future (:data:`odradek.raft.poll.IDLE_MS`) means nothing is scheduled.

A driver that crashes partway leaves nothing inconsistent: whatever it did not reach
simply did not happen, and the restarted core starts from ``quorum-state`` and the log.
The converse matters as much: the core counts a Ready as done once it has handed it out
(the leader, for one, already counts its flushed end toward the high watermark), so a
step that fails -- a write or fsync error -- must end the replica, never be skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from odradek.raft.batches import CommittedBatch
from odradek.raft.election import ElectionState
from odradek.raft.messages import RaftMessage
from odradek.raft.snapshots import SnapshotContents


@dataclass(frozen=True, slots=True)
class Commit:
    """``handle_commit``: committed batches, contiguous with everything handed before."""

    batches: tuple[CommittedBatch, ...]

    @property
    def last_offset(self) -> int:
        return self.batches[-1].last_offset


@dataclass(frozen=True, slots=True)
class LoadSnapshot:
    """``handle_load_snapshot``: replace the whole state with this snapshot.

    Commits that follow continue from ``snapshot.snapshot_id.offset``.
    """

    snapshot: SnapshotContents


@dataclass(frozen=True, slots=True)
class LeaderChange:
    """``handle_leader_change``: the leader and epoch now known (leader None: unknown).

    When this replica becomes the leader, the event comes only once every record
    committed before its epoch has been handed over, so the state machine is complete
    before it starts appending on top.
    """

    leader_id: int | None
    epoch: int


Event = Commit | LoadSnapshot | LeaderChange


@dataclass(slots=True)
class Ready:
    election: ElectionState | None = None
    flush_offset: int | None = None
    messages: list[RaftMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    next_tick_ms: int = 0

    @property
    def is_empty(self) -> bool:
        return (
            self.election is None
            and self.flush_offset is None
            and not self.messages
            and not self.events
        )
