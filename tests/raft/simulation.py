"""A whole quorum in one process: simulated clock, network, disks and crashes.

After Kafka's ``RaftEventSimulationTest``: one seeded ``random.Random`` drives
everything, one event queue orders everything, and the Raft invariants are checked after
every single event. Nothing here sleeps or touches a socket: time is the timestamp of
the event being processed.

**Nodes.** Each node is a :class:`~odradek.raft.core.RaftCore` with what survives a crash
-- a :class:`~odradek.raft.memory_log.MemoryRaftLog` and the last ``quorum-state`` it
wrote -- and what does not: the core itself and its state machine
(:class:`CountingStateMachine`, which applies committed records into a running digest
and snapshots that digest). Voters are ids ``1..n``, observers follow.

**The driver.** After each input the node's :class:`~odradek.raft.ready.Ready` is carried
out in the documented order: persist the election, flush the log, send, apply. A crash
can strike *between* those steps (:attr:`Profile.crash_mid_ready`), which is how the test
shows the order is sufficient: the log then loses everything since its last flush.

**The network** (:class:`Router`) delays each message independently (so it reorders),
loses some, duplicates some, and drops everything across a partition. A message to a
node that restarted since it was sent is dropped: its connection is gone.

**Invariants** (:class:`Invariants`), after every event:

* at most one leader per epoch, ever;
* every node's high watermark only grows while it is up;
* committed records never change: every node's log below its high watermark agrees,
  batch for batch, with one global history, and no truncation or crash reaches below
  what was verified;
* every state machine's digest equals the history's digest at its offset (so snapshots
  carry exactly the committed state);
* the only voter of a one-voter quorum leads from the instant it starts.

And at the end, once every fault is healed: one leader, every live replica holding and
having applied every committed record (liveness).
"""

from __future__ import annotations

import bisect
import collections
import hashlib
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from odradek.protocol.codec import decode, encode
from odradek.raft.batches import BatchInfo, decode_batches, split_batches
from odradek.raft.config import QuorumConfig
from odradek.raft.core import RaftCore
from odradek.raft.election import ElectionState
from odradek.raft.errors import NotLeaderError
from odradek.raft.file_log import FileRaftLog
from odradek.raft.memory_log import MemoryRaftLog
from odradek.raft.messages import RaftMessage, Request, Response, summarize
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.ready import Commit, LeaderChange, LoadSnapshot
from odradek.raft.states import EpochState

#: The highest version of each Raft message the codec has, for wire round trips.
WIRE_VERSIONS = {1: 17, 52: 1, 53: 1, 54: 1, 55: 2, 59: 1}


#: Kafka's timeouts scaled down (as its own simulation does), so that a short run sees
#: many elections; the fetch long poll (500 ms) still fits inside the request timeout.
FAST_TIMEOUTS = QuorumConfig(
    election_timeout_ms=300,
    fetch_timeout_ms=900,
    election_backoff_max_ms=300,
    request_timeout_ms=800,
    retry_backoff_ms=20,
    append_linger_ms=10,
    # Small enough that catching up takes several fetches and snapshots several chunks.
    fetch_max_bytes=400,
    fetch_snapshot_max_bytes=64,
)


class InvariantViolation(AssertionError):
    pass


@dataclass(frozen=True)
class Profile:
    """The shape of one simulated run."""

    voters: int = 3
    observers: int = 1
    #: Faults happen during this long; then everything heals.
    chaos_ms: int = 8_000
    #: How long the healed cluster gets to converge before it is a liveness failure.
    settle_ms: int = 30_000
    min_delay_ms: int = 1
    max_delay_ms: int = 25
    loss: float = 0.03
    duplicate: float = 0.02
    append_every_ms: int = 40
    #: Mean time between crashes (of a random node) and between partitions.
    crash_every_ms: int = 1_500
    partition_every_ms: int = 1_500
    #: Mean time between graceful resignations of the leader.
    resign_every_ms: int = 3_000
    #: The chance that a crash strikes in the middle of carrying out a Ready.
    crash_mid_ready: float = 0.01
    #: A state machine snapshots after applying this many records.
    snapshot_every: int = 20
    #: Round-trip every message through the Kafka codec.
    wire: bool = False
    config: QuorumConfig = field(default_factory=lambda: FAST_TIMEOUTS)


class CountingStateMachine:
    """The state machine under test: how many records, and a digest of all of them."""

    def __init__(self) -> None:
        self.next_offset: int | None = None
        self.count = 0
        self.digest = b""
        self.last_epoch = 0
        self.last_append_ms = 0
        self.since_snapshot = 0
        self.leader: tuple[int | None, int] = (None, -1)

    def apply(self, event: Commit | LoadSnapshot | LeaderChange) -> None:
        if isinstance(event, LeaderChange):
            self.leader = (event.leader_id, event.epoch)
        elif isinstance(event, LoadSnapshot):
            contents = event.snapshot
            (state,) = contents.records
            offset, count, digest = state.split(b":")
            if int(offset) != contents.snapshot_id.offset:
                raise InvariantViolation(
                    f"snapshot {contents.snapshot_id} holds state of {offset!r}"
                )
            self.next_offset = contents.snapshot_id.offset
            self.count = int(count)
            self.digest = bytes.fromhex(digest.decode())
            self.last_epoch = contents.snapshot_id.epoch
            self.last_append_ms = contents.last_contained_log_time_ms
            self.since_snapshot = 0
        else:
            for batch in event.batches:
                if self.next_offset is not None and batch.base_offset != self.next_offset:
                    raise InvariantViolation(
                        f"commit at {batch.base_offset} after state at {self.next_offset}"
                    )
                for record in batch.records:
                    self.digest = chain(self.digest, record)
                self.count += len(batch.records)
                self.since_snapshot += len(batch.records)
                self.next_offset = batch.last_offset + 1
                self.last_epoch = batch.epoch
                self.last_append_ms = batch.append_time_ms

    def snapshot_record(self) -> bytes:
        return f"{self.next_offset}:{self.count}:{self.digest.hex()}".encode()


def chain(digest: bytes, record: bytes) -> bytes:
    return hashlib.blake2b(digest + record, digest_size=8).digest()


class TrackedFileLog(FileRaftLog):
    """The file log, noting its truncations as the memory log does, for the invariants."""

    lowest_truncation: int | None = None

    def truncate_to(self, offset: int) -> None:
        super().truncate_to(offset)
        self._note(self.end_offset)

    def truncate_to_latest_snapshot(self) -> bool:
        before = self.end_offset
        truncated = super().truncate_to_latest_snapshot()
        if truncated and before > self.start_offset:
            self._note(self.start_offset)
        return truncated

    def _note(self, offset: int) -> None:
        if self.lowest_truncation is None or offset < self.lowest_truncation:
            self.lowest_truncation = offset

    def batches_from(self, offset: int) -> list[BatchInfo]:
        batches: list[BatchInfo] = []
        while offset < self.end_offset:
            read = split_batches(self.read(offset, 1 << 20), verify_crc=False)
            batches.extend(read)
            offset = read[-1].last_offset + 1
        return batches


SimulatedLog = MemoryRaftLog | TrackedFileLog


def crashed(log: SimulatedLog) -> SimulatedLog:
    """The log as the node finds it after a crash."""
    if isinstance(log, MemoryRaftLog):
        log.lose_unflushed()
        return log
    # A process crash leaves the page cache: nothing is lost, but the log is recovered.
    log.log.close_handlers()
    reopened = TrackedFileLog.open(log.directory, time_ms=lambda: 0, config=log.log.config)
    reopened.lowest_truncation = log.lowest_truncation
    return reopened


@dataclass
class Node:
    node_id: int
    log: SimulatedLog
    rng: random.Random
    stored_election: ElectionState | None = None
    core: RaftCore | None = None
    machine: CountingStateMachine = field(default_factory=CountingStateMachine)
    incarnation: int = 0
    tick_at: int | None = None
    tick_generation: int = 0
    same_time_ticks: int = 0
    last_state: EpochState | None = None
    last_view: str = ""

    @property
    def alive(self) -> bool:
        return self.core is not None


class Router:
    """An unreliable network: delay, loss, duplication, partitions."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.loss = 0.0
        self.duplicate = 0.0
        #: Node id -> partition group; nodes in different groups cannot talk.
        self.groups: dict[int, int] = {}
        #: Links cut both ways, on top of the groups (for non-transitive partitions).
        self.cut: set[tuple[int, int]] = set()
        #: (responder, requester, correlation id) -> the requester's incarnation when it
        #: sent the request: an answer only reaches the life that asked (TCP would drop it).
        self.askers: dict[tuple[int, int, int], int] = {}
        self.sent = 0
        self.delivered = 0

    def connected(self, a: int, b: int) -> bool:
        return self.groups.get(a, 0) == self.groups.get(b, 0) and (a, b) not in self.cut

    def send(self, message: RaftMessage) -> None:
        sim = self.sim
        self.sent += 1
        if sim.profile.wire:
            message = round_trip(message)
        copies = 1
        if sim.rng.random() < self.loss:
            copies = 0
            sim.trace(Noted("  lost ", message))
        elif sim.rng.random() < self.duplicate:
            copies = 2
        target = sim.nodes.get(message.destination)
        if target is None:
            return
        incarnation = target.incarnation
        sender = sim.nodes[message.source].incarnation
        if isinstance(message, Response):
            key = (message.source, message.destination, message.correlation_id)
            incarnation = self.askers.get(key, incarnation)
        for _ in range(copies):
            delay = sim.rng.randint(sim.profile.min_delay_ms, sim.profile.max_delay_ms)
            sim.schedule(delay, "deliver", message.destination, (message, incarnation, sender))

    def note_request(self, message: Request, sender_incarnation: int) -> None:
        key = (message.destination, message.source, message.correlation_id)
        self.askers[key] = sender_incarnation


def round_trip(message: RaftMessage) -> RaftMessage:
    body = message.body
    version = WIRE_VERSIONS[body.API_KEY]
    decoded: Any = decode(type(body), encode(body, version), version)
    if isinstance(message, Request):
        return Request(
            message.source, message.destination, message.correlation_id, decoded, message.pre_vote
        )
    return Response(message.source, message.destination, message.correlation_id, decoded)


def describe(message: RaftMessage) -> str:
    return f"n{message.source} -> n{message.destination} {summarize(message)}"


@dataclass(frozen=True, slots=True)
class Noted:
    """A transcript line about a message, formatted only when printed."""

    prefix: str
    message: RaftMessage

    def __str__(self) -> str:
        return self.prefix + describe(self.message)


def view(state: EpochState) -> str:
    parts = [f"epoch {state.epoch}"]
    if state.leader_id is not None:
        parts.append(f"leader {state.leader_id}")
    if state.voted_id is not None and state.voted_id != state.leader_id:
        parts.append(f"voted {state.voted_id}")
    return f"{state.name}({', '.join(parts)})"


class Invariants:
    """The safety properties, checked after every event."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.leaders: dict[int, int] = {}
        #: The committed log, batch by batch, as first seen below some node's HW.
        self.history: list[BatchInfo] = []
        self.history_bases: list[int] = []
        self.history_end = 0
        #: Digest of the data records below an offset (at batch boundaries).
        self.digests: dict[int, tuple[int, bytes]] = {0: (0, b"")}
        self.verified: dict[int, int] = {}
        self.high_watermarks: dict[int, int] = {}

    def check(self, node_ids: list[int] | None = None) -> None:
        """Check the nodes an event touched (every node if None): no other can have changed."""
        nodes = self.sim.nodes
        for node_id in nodes if node_ids is None else node_ids:
            node = nodes[node_id]
            if node.core is not None:
                self._check_node(node, node.core)

    def _check_node(self, node: Node, core: RaftCore) -> None:
        if core.is_leader:
            known = self.leaders.setdefault(core.epoch, node.node_id)
            if known != node.node_id:
                raise InvariantViolation(
                    f"two leaders in epoch {core.epoch}: n{known} and n{node.node_id}"
                )
        hw = core.high_watermark
        if hw is None:
            return
        previous = self.high_watermarks.get(node.node_id)
        if previous is not None and hw < previous:
            raise InvariantViolation(f"n{node.node_id} high watermark went back {previous} -> {hw}")
        self.high_watermarks[node.node_id] = hw
        log = node.log
        verified = self.verified.get(node.node_id, 0)
        if log.lowest_truncation is not None:
            if log.lowest_truncation < verified:
                raise InvariantViolation(
                    f"n{node.node_id} truncated to {log.lowest_truncation}, below its "
                    f"committed {verified}"
                )
            log.lowest_truncation = None
        verified = max(verified, log.start_offset)
        if verified < hw:
            if verified > self.history_end:
                raise InvariantViolation(
                    f"n{node.node_id} starts at {verified}, past the known history "
                    f"{self.history_end}"
                )
            for batch in log.batches_from(verified):
                if batch.last_offset >= hw:
                    break
                self._verify_batch(node.node_id, batch)
                verified = batch.last_offset + 1
        self.verified[node.node_id] = verified
        machine = node.machine
        if machine.next_offset is not None:
            expected = self.digests.get(machine.next_offset)
            if expected is None:
                raise InvariantViolation(
                    f"n{node.node_id} applied up to {machine.next_offset}, which is not a "
                    f"committed batch boundary (history ends at {self.history_end})"
                )
            if expected != (machine.count, machine.digest):
                raise InvariantViolation(
                    f"n{node.node_id} state at {machine.next_offset} is "
                    f"{machine.count} records, {machine.digest.hex()}; committed is "
                    f"{expected[0]} records, {expected[1].hex()}"
                )

    def _verify_batch(self, node_id: int, batch: BatchInfo) -> None:
        if batch.base_offset == self.history_end:
            count, digest = self.digests[self.history_end]
            for committed in decode_batches(batch.data):
                for record in committed.records:
                    digest = chain(digest, record)
                count += len(committed.records)
            self.history.append(batch)
            self.history_bases.append(batch.base_offset)
            self.history_end = batch.last_offset + 1
            self.digests[self.history_end] = (count, digest)
            self.sim.trace(f"  committed [{batch.base_offset}, {batch.last_offset}] (n{node_id})")
            return
        index = bisect.bisect_left(self.history_bases, batch.base_offset)
        if index == len(self.history) or self.history[index].data != batch.data:
            raise InvariantViolation(
                f"n{node_id} holds a committed batch at {batch.base_offset} that differs "
                f"from the committed history"
            )

    def forget_high_watermark(self, node_id: int) -> None:
        self.high_watermarks.pop(node_id, None)

    def check_after_crash(self, node: Node) -> None:
        verified = self.verified.get(node.node_id, 0)
        if node.log.end_offset < verified and node.log.start_offset < verified:
            raise InvariantViolation(
                f"n{node.node_id} lost committed records in a crash: its log ends at "
                f"{node.log.end_offset}, below {verified}"
            )
        node.log.lowest_truncation = None


class Simulation:
    def __init__(
        self,
        profile: Profile,
        seed: int,
        *,
        transcript: bool = False,
        log_factory: Callable[[int], SimulatedLog] = lambda node_id: MemoryRaftLog(),
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = 0
        self._queue: list[tuple[int, int, str, int, Any]] = []
        self._sequence = itertools.count()
        self.keep_all = transcript
        self._lines: collections.deque[tuple[int, object]] | list[tuple[int, object]] = (
            [] if transcript else collections.deque(maxlen=300)
        )
        self.nodes: dict[int, Node] = {}
        voter_ids = list(range(1, profile.voters + 1))
        self.voters = frozenset(voter_ids)
        for node_id in voter_ids + list(
            range(profile.voters + 1, profile.voters + profile.observers + 1)
        ):
            self.nodes[node_id] = Node(
                node_id, log_factory(node_id), random.Random(self.rng.getrandbits(64))
            )
        self.router = Router(self)
        self.invariants = Invariants(self)
        self.appended = 0
        self.crashes = 0
        self.events = 0
        self.snapshots = 0
        self.faults = False
        self.appending = True

    # -- the event queue -----------------------------------------------------------------

    def schedule(self, delay_ms: int, kind: str, node_id: int, payload: Any = None) -> None:
        heapq.heappush(
            self._queue, (self.now + delay_ms, next(self._sequence), kind, node_id, payload)
        )

    def trace(self, line: object) -> None:
        """Note a line of the transcript (a message is only formatted if it is printed)."""
        self._lines.append((self.now, line))

    @property
    def lines(self) -> list[str]:
        return [
            f"{when:>7} {Noted('', line) if isinstance(line, Request | Response) else line}"
            for when, line in self._lines
        ]

    def run_until(self, end_ms: int, stop: Callable[[], bool] | None = None) -> bool:
        """Process events up to ``end_ms``; returns True if ``stop`` became true first."""
        while self._queue and self._queue[0][0] <= end_ms:
            when, _, kind, node_id, payload = heapq.heappop(self._queue)
            self.now = when
            touched = self._dispatch(kind, node_id, payload)
            self.events += 1
            self.invariants.check(touched)
            if stop is not None and stop():
                return True
        self.now = max(self.now, end_ms)
        return stop is not None and stop()

    def _dispatch(self, kind: str, node_id: int, payload: Any) -> list[int] | None:
        """Process one event; returns the nodes it touched (None: possibly all)."""
        node = self.nodes[node_id]
        if kind == "tick":
            if node.core is not None and payload == node.tick_generation:
                node.tick_at = None
                node.core.tick(self.now)
                self.drive(node)
            return [node_id]
        if kind == "deliver":
            message, incarnation, sender = payload
            if node.core is None or incarnation != node.incarnation:
                self.trace(Noted("  dropped (node down) ", message))
            elif not self.router.connected(message.source, message.destination):
                self.trace(Noted("  dropped (partition) ", message))
            else:
                self.router.delivered += 1
                if isinstance(message, Request):
                    self.router.note_request(message, sender)
                self.trace(message)
                node.core.receive(message, self.now)
                self.drive(node)
            return [node_id]
        if kind == "restart":
            self.start(node)
        elif kind == "append":
            self._append()
        elif kind == "crash":
            self._random_crash()
        elif kind == "partition":
            self._random_partition()
        elif kind == "resign":
            self._random_resign()
        elif kind == "heal":
            self.heal_network()
        else:
            raise AssertionError(kind)
        return None

    # -- nodes ---------------------------------------------------------------------------

    def start(self, node: Node) -> None:
        node.core = RaftCore(
            node_id=node.node_id,
            voters=self.voters,
            log=node.log,
            rng=node.rng,
            now_ms=self.now,
            config=self.profile.config,
            election=node.stored_election,
        )
        node.machine = CountingStateMachine()
        node.last_state = None
        node.last_view = ""
        self.trace(f"n{node.node_id} started: {view(node.core.state)}")
        if self.voters == {node.node_id} and not node.core.is_leader:
            raise InvariantViolation(f"the only voter n{node.node_id} started without leading")
        self.drive(node)

    def crash(self, node: Node) -> None:
        if node.core is None:
            return
        node.core = None
        node.incarnation += 1
        node.tick_generation += 1
        node.tick_at = None
        node.log = crashed(node.log)
        self.invariants.forget_high_watermark(node.node_id)
        self.invariants.check_after_crash(node)
        self.crashes += 1
        log = node.log
        self.trace(f"n{node.node_id} crashed; its log: [{log.start_offset}, {log.end_offset})")

    def drive(self, node: Node) -> None:
        """Carry out the node's Ready, in the contract's order (a crash may cut it short)."""
        core = node.core
        assert core is not None
        ready = core.ready(self.now)
        cut = -1
        if self.faults and self.rng.random() < self.profile.crash_mid_ready:
            cut = self.rng.randrange(4)
        if ready.election is not None:
            node.stored_election = ready.election
        if cut == 0:
            self._crash_and_restart(node, "before flushing")
            return
        if ready.flush_offset is not None:
            node.log.flush(ready.flush_offset)
        if cut == 1:
            self._crash_and_restart(node, "before sending")
            return
        for message in ready.messages:
            self.router.send(message)
        if cut == 2:
            self._crash_and_restart(node, "before applying")
            return
        for event in ready.events:
            node.machine.apply(event)
            if isinstance(event, LeaderChange):
                leader = event.leader_id
                self.trace(f"n{node.node_id} learns leader {leader} of epoch {event.epoch}")
            elif isinstance(event, LoadSnapshot):
                self.trace(f"n{node.node_id} loads snapshot {event.snapshot.snapshot_id}")
        self._maybe_snapshot(node, core)
        if core.state is not node.last_state:
            node.last_state = core.state
            state_view = view(core.state)
            if state_view != node.last_view:
                self.trace(f"n{node.node_id} is {state_view}")
                node.last_view = state_view
        self._schedule_tick(node, ready.next_tick_ms)

    def _crash_and_restart(self, node: Node, when: str) -> None:
        self.trace(f"n{node.node_id} crashes {when}")
        self.crash(node)
        self.schedule(self.rng.randint(50, 1_000), "restart", node.node_id)

    def _schedule_tick(self, node: Node, at_ms: int) -> None:
        at_ms = max(at_ms, self.now)
        if node.tick_at is not None and node.tick_at <= at_ms:
            return
        if at_ms == self.now:
            node.same_time_ticks += 1
            if node.same_time_ticks > 1_000:
                raise InvariantViolation(f"n{node.node_id} is ticked endlessly at {self.now}")
        else:
            node.same_time_ticks = 0
        node.tick_generation += 1
        node.tick_at = at_ms
        self.schedule(at_ms - self.now, "tick", node.node_id, node.tick_generation)

    def _maybe_snapshot(self, node: Node, core: RaftCore) -> None:
        machine = node.machine
        if machine.since_snapshot < self.profile.snapshot_every or machine.next_offset is None:
            return
        snapshot_id = OffsetAndEpoch(machine.next_offset, machine.last_epoch)
        writer = core.create_snapshot(snapshot_id, machine.last_append_ms, self.now)
        machine.since_snapshot = 0
        if writer is not None:
            writer.append([machine.snapshot_record()])
            writer.freeze()
            self.snapshots += 1
            self.trace(f"n{node.node_id} snapshots at {snapshot_id}")

    # -- the workload and the faults -----------------------------------------------------

    def leaders(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.core is not None and n.core.is_leader]

    def _append(self) -> None:
        if self.appending:
            self.append_once()
            self.schedule(self.profile.append_every_ms, "append", 1)

    def append_once(self) -> bool:
        for node in self.leaders():
            core = node.core
            assert core is not None
            machine = node.machine
            if machine.leader != (node.node_id, core.epoch):
                continue  # the state machine has not caught up with its own leadership
            self.appended += 1
            record = f"n{node.node_id}-e{core.epoch}-r{self.appended}".encode()
            try:
                offset = core.append([record], core.epoch, self.now)
            except NotLeaderError:
                continue
            self.trace(f"n{node.node_id} appends {record.decode()} at {offset}")
            self.drive(node)
            return True
        return False

    def _random_crash(self) -> None:
        if not self.faults:
            return
        node = self.rng.choice(list(self.nodes.values()))
        if node.core is not None:
            self.trace(f"n{node.node_id} crashes")
            self.crash(node)
            self.schedule(self.rng.randint(100, 3_000), "restart", node.node_id)
        self.schedule(self._exp(self.profile.crash_every_ms), "crash", 1)

    def _random_partition(self) -> None:
        if not self.faults:
            return
        ids = list(self.nodes)
        self.rng.shuffle(ids)
        if self.rng.random() < 0.5:
            isolated = {ids[0]}  # cut one node off
        else:
            isolated = set(ids[: self.rng.randint(1, len(ids) - 1)])
        self.router.groups = {node_id: 1 for node_id in isolated}
        self.trace(f"network partitioned: {sorted(isolated)} | {sorted(set(ids) - isolated)}")
        self.schedule(self.rng.randint(300, 3_000), "heal", 1)
        self.schedule(self._exp(self.profile.partition_every_ms), "partition", 1)

    def _random_resign(self) -> None:
        if not self.faults:
            return
        for node in self.leaders():
            assert node.core is not None
            self.trace(f"n{node.node_id} resigns")
            node.core.resign(node.core.epoch, self.now)
            self.drive(node)
        self.schedule(self._exp(self.profile.resign_every_ms), "resign", 1)

    def _exp(self, mean_ms: int) -> int:
        return max(1, int(self.rng.expovariate(1 / mean_ms)))

    # -- steering a run by hand (the scenario tests) ------------------------------------

    def partition(self, *groups: set[int]) -> None:
        """Cut the network into ``groups``; nodes not named stay with the first group."""
        self.router.groups = {
            node_id: index for index, group in enumerate(groups) for node_id in group
        }
        self.trace(f"network partitioned: {' | '.join(str(sorted(g)) for g in groups)}")

    def cut_link(self, a: int, b: int) -> None:
        self.router.cut |= {(a, b), (b, a)}
        self.trace(f"link n{a} <-> n{b} cut")

    def heal_network(self) -> None:
        self.router.groups.clear()
        self.router.cut.clear()
        self.trace("network healed")

    def crash_node(self, node_id: int) -> None:
        self.trace(f"n{node_id} crashes")
        self.crash(self.nodes[node_id])

    def restart_node(self, node_id: int) -> None:
        self.start(self.nodes[node_id])

    def run_for(self, duration_ms: int) -> None:
        self.run_until(self.now + duration_ms)

    def wait_for(self, condition: Callable[[], bool], within_ms: int, what: str) -> None:
        if not condition() and not self.run_until(self.now + within_ms, condition):
            raise AssertionError(f"{what} did not happen within {within_ms} ms: {self.status()}")

    # -- a whole run -----------------------------------------------------------------------

    def start_all(self) -> None:
        for node in self.nodes.values():
            self.start(node)

    def run(self) -> None:
        """Chaos for ``chaos_ms``, then heal everything and demand convergence."""
        profile = self.profile
        self.router.loss = profile.loss
        self.router.duplicate = profile.duplicate
        self.faults = True
        self.start_all()
        self.schedule(profile.append_every_ms, "append", 1)
        self.schedule(self._exp(profile.crash_every_ms), "crash", 1)
        self.schedule(self._exp(profile.partition_every_ms), "partition", 1)
        self.schedule(self._exp(profile.resign_every_ms), "resign", 1)
        self.run_until(profile.chaos_ms)
        self.heal()
        deadline = self.now + profile.settle_ms
        if not self.run_until(deadline, self._has_one_leader):
            raise InvariantViolation(f"no single leader {profile.settle_ms} ms after healing")
        # One more record, committed in the final epoch, then quiet.
        self.appending = False
        while not self.append_once():
            if not self.run_until(self.now + 50) and self.now > deadline:
                raise InvariantViolation("the healed leader never accepted an append")
        if not self.run_until(deadline, self.converged):
            raise InvariantViolation(
                f"not converged {profile.settle_ms} ms after healing: {self.status()}"
            )

    def heal(self) -> None:
        self.faults = False
        self.router.loss = 0.0
        self.router.duplicate = 0.0
        self.router.groups.clear()
        self.router.cut.clear()
        self.trace("all faults healed")
        for node in self.nodes.values():
            if node.core is None:
                self.start(node)

    def _has_one_leader(self) -> bool:
        leaders = self.leaders()
        if len(leaders) != 1:
            return False
        leader = leaders[0]
        return leader.machine.leader == (leader.node_id, leader.core.epoch if leader.core else -1)

    def converged(self) -> bool:
        leaders = self.leaders()
        if len(leaders) != 1:
            return False
        leader_core = leaders[0].core
        assert leader_core is not None
        hw = leader_core.high_watermark
        if hw is None or hw != leader_core.log.end_offset or hw < self.invariants.history_end:
            return False
        for node in self.nodes.values():
            core = node.core
            if core is None or core.high_watermark != hw or node.machine.next_offset != hw:
                return False
            if core.leader_id != leader_core.node_id or core.epoch != leader_core.epoch:
                return False
        return True

    def status(self) -> str:
        return "; ".join(
            f"n{n.node_id}: {n.core!r}, applied {n.machine.next_offset}"
            for n in self.nodes.values()
        )

    def summary(self) -> str:
        epochs = max(self.invariants.leaders, default=0)
        return (
            f"seed {self.seed}: {self.events} events, {self.router.delivered} messages, "
            f"{self.crashes} crashes, {self.appended} appends, {self.snapshots} snapshots, "
            f"{self.invariants.history_end} committed offsets, last epoch {epochs}"
        )
