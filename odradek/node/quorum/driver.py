"""The trio driver of one replica of ``__cluster_metadata``: the core, its files, its clock.

Kafka's ``KafkaRaftClient`` event loop and ``KafkaRaftManager``, as the thin shell the
pure core of :mod:`odradek.raft` asks for. It owns a :class:`~odradek.raft.core.RaftCore`,
the log it writes (:class:`~odradek.raft.file_log.FileRaftLog` in
``<metadata.log.dir>/__cluster_metadata-0``) and the ``quorum-state`` file beside it
(:class:`~odradek.raft.quorum_state_store.FileQuorumStateStore`). Everything the core
asks for is done here, and nothing else is decided here.

Theory of operation
===================

**Inputs.** Four things give the core input, each from its own trio task: a request
from a peer (:meth:`RaftDriver.handle_request`, called by the controller listener's
handlers), a response to a request this replica sent (from the :class:`Transport`), an
append by the active controller (:meth:`RaftDriver.append`), and the passing of time
(:meth:`RaftDriver.run` ticks the core at the moment its last ``Ready`` named).

**Each input is followed by its Ready,** carried out at once and entirely, in the
order :mod:`odradek.raft.ready` prescribes: write ``quorum-state`` (fsync'd), flush the
log, hand the messages out (responses to the requests waiting for them, requests to the
transport, which sends them in tasks of its own), deliver the events to the listeners,
and note when to tick. None of this awaits, so no other task can slip an input in
between the steps; an input given *during* the steps (a listener that appends records
when told it leads) is taken up by another round before the driver returns.

**Listeners** (:class:`RaftListener`, Kafka's ``RaftClient.Listener``) see committed
batches, snapshots to load and leadership changes, in log order and only once each
step before has finished, so they never see a record that could still be lost.

**Failure.** The core's contract is that a step it handed out either happens or the
replica ends: an exception from the core or from a write or fsync is fatal. It is kept,
and :meth:`RaftDriver.run` raises it, which ends the node (a supervisor restarts it,
and the core starts again from ``quorum-state`` and the log). The exceptions that are
not fatal are the ones the core documents for bad input: :class:`NotLeaderError` and
:class:`~odradek.raft.accumulator.RecordBatchTooLargeError` from an append.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Protocol

import trio

from odradek.raft.accumulator import RecordBatchTooLargeError
from odradek.raft.batches import CommittedBatch
from odradek.raft.config import FETCH_MAX_WAIT_MS, QuorumConfig
from odradek.raft.core import RaftCore
from odradek.raft.errors import NotLeaderError
from odradek.raft.file_log import METADATA_LOG_CONFIG, FileRaftLog
from odradek.raft.messages import FetchRequest, Request, RequestBody, Response, ResponseBody
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.poll import IDLE_MS
from odradek.raft.quorum_state_store import FileQuorumStateStore
from odradek.raft.ready import Commit, LeaderChange, LoadSnapshot, Ready
from odradek.raft.snapshots import SnapshotContents, SnapshotWriter
from odradek.raft.states import ResignedState
from odradek.storage.config import LogConfig

log = logging.getLogger(__name__)

#: The partition directory of the metadata log, inside ``metadata.log.dir``.
METADATA_PARTITION_DIR = "__cluster_metadata-0"


class RaftListener(Protocol):
    """What the state machines on top of the log are told (Kafka's ``RaftClient.Listener``)."""

    def handle_commit(self, batch: CommittedBatch) -> None:
        """A batch below the high watermark, contiguous with everything handed before."""

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        """Replace the whole state with this snapshot; commits continue from its end."""

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        """The leader and epoch now known (leader None: unknown)."""


class Transport(Protocol):
    """How requests reach the other replicas (Kafka's ``NetworkChannel``).

    :meth:`send` must not block: it starts the exchange and returns. The answer, or the
    failure to get one, comes back through :meth:`RaftDriver.receive_response` or
    :meth:`RaftDriver.request_failed`. Order and delivery are not promised.
    """

    async def run(
        self, driver: RaftDriver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled; report ready once :meth:`send` may be called."""

    def send(self, request: Request) -> None: ...


class _Answer:
    """Where a response to a request from a peer waits for the handler that awaits it."""

    __slots__ = ("body", "done")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.body: ResponseBody | None = None


class RaftDriver:
    """One replica of the metadata log: a voter if ``node_id`` is in ``voters``.

    Construction opens (and recovers) the log -- ``log_config`` sets its segments -- and
    reads ``quorum-state``; nothing runs before :meth:`run`. Listeners should be added
    before that, so none misses an event.
    """

    def __init__(
        self,
        *,
        node_id: int,
        voters: Collection[int],
        metadata_log_dir: Path,
        cluster_id: str,
        config: QuorumConfig,
        transport: Transport,
        time_ms: Callable[[], int],
        rng: random.Random | None = None,
        log_config: LogConfig = METADATA_LOG_CONFIG,
    ) -> None:
        self.node_id = node_id
        self.config = config
        self.transport = transport
        self.time_ms = time_ms
        self.directory = metadata_log_dir / METADATA_PARTITION_DIR
        self.log = FileRaftLog.open(self.directory, time_ms=time_ms, config=log_config)
        self.state_store = FileQuorumStateStore.in_directory(self.directory)
        self.core = RaftCore(
            node_id=node_id,
            voters=voters,
            log=self.log,
            rng=rng or random.Random(),
            now_ms=time_ms(),
            config=config,
            election=self.state_store.read(voters),
            cluster_id=cluster_id,
        )
        self.listeners: list[RaftListener] = []
        self._answers: dict[int, _Answer] = {}
        self._inbound_ids = itertools.count(1)
        self._draining = False
        self._again = False
        self._tick_at = IDLE_MS
        self._tick_moved = trio.Event()
        #: Set (and replaced) each time a Ready has been carried out.
        self._progressed = trio.Event()
        self._fatal: BaseException | None = None
        self._running = False
        self._state_name = ""

    # -- what the replica is -------------------------------------------------------------

    @property
    def leader_id(self) -> int | None:
        return self.core.leader_id

    @property
    def epoch(self) -> int:
        return self.core.epoch

    @property
    def is_leader(self) -> bool:
        return self.core.is_leader

    def next_append_offset(self) -> int:
        """Where the next appended record will land (meaningful on the leader)."""
        accumulator = self.core.accumulator
        return accumulator.next_offset if accumulator is not None else self.log.end_offset

    def add_listener(self, listener: RaftListener) -> None:
        self.listeners.append(listener)

    # -- running -------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Tick the core on time, until cancelled or until the replica must end."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.transport.run, self)
            self._running = True
            try:
                self._input(lambda now: None)
                task_status.started()
                while self._fatal is None:
                    now = self.time_ms()
                    if now >= self._tick_at:
                        self._input(self.core.tick)
                        # Time may not have moved since: let the other tasks run first.
                        await trio.lowlevel.checkpoint()
                        continue
                    with trio.move_on_after((self._tick_at - now) / 1000):
                        await self._tick_moved.wait()
                    self._tick_moved = trio.Event()
                raise self._fatal
            finally:
                self._running = False
                nursery.cancel_scope.cancel()

    async def resign(self, timeout_s: float) -> None:
        """Step down if leading (a clean shutdown), telling the voters so they elect at once.

        Waits until every voter acknowledged the EndQuorumEpoch, or ``timeout_s``.
        """
        core = self.core
        if not core.is_leader or self._fatal is not None:
            return
        self._input(lambda now: core.resign(core.epoch, now))
        with trio.move_on_after(timeout_s):
            while isinstance(core.state, ResignedState) and core.state.unacked_voters:
                await self._progressed.wait()

    def close(self) -> None:
        """Flush and close the log (after :meth:`run` has ended)."""
        self.log.close()

    # -- inputs --------------------------------------------------------------------------

    async def handle_request(
        self, body: RequestBody, *, pre_vote: bool = False, source: int = -1
    ) -> ResponseBody:
        """Give the core a request from outside and await its answer.

        Raises :class:`trio.TooSlowError` if the core has not answered in time (a fetch
        parked at a leader that stopped leading is answered; anything else is a bug, or a
        replica that is going away).
        """
        correlation_id = next(self._inbound_ids)
        answer = _Answer()
        self._answers[correlation_id] = answer
        request = Request(source, self.node_id, correlation_id, body, pre_vote)
        wait_ms = max(body.max_wait_ms, 0) if isinstance(body, FetchRequest) else 0
        try:
            self._input(lambda now: self.core.receive(request, now))
            with trio.fail_after(
                (max(wait_ms, FETCH_MAX_WAIT_MS) + self.config.request_timeout_ms) / 1000
            ):
                await answer.done.wait()
        finally:
            del self._answers[correlation_id]
        assert answer.body is not None
        return answer.body

    def receive_response(self, response: Response) -> None:
        """The transport got the answer to a request this replica sent."""
        self._transport_input(lambda now: self.core.receive(response, now))

    def request_failed(self, destination: int, correlation_id: int) -> None:
        """The transport could not deliver a request, or its connection broke."""
        self._transport_input(
            lambda now: self.core.request_failed(destination, correlation_id, now)
        )

    def _transport_input(self, give: Callable[[int], object]) -> None:
        # A failure here is the replica's, not the transport's: it is kept for run() to
        # raise, and the transport's task ends quietly.
        if self._fatal is not None:
            return
        try:
            self._input(give)
        except Exception:
            if self._fatal is None:
                raise

    def append(self, records: Sequence[bytes], epoch: int) -> int:
        """Append records as the leader of ``epoch``; returns the offset of the last one.

        Raises :class:`NotLeaderError` if this replica does not lead ``epoch`` (any more).
        """
        result = -1

        def give(now: int) -> None:
            nonlocal result
            result = self.core.append(records, epoch, now)

        self._input(give)
        return result

    def create_snapshot(
        self, offset: int, epoch: int, last_contained_log_time_ms: int
    ) -> SnapshotWriter | None:
        """A writer for a snapshot of the state below ``offset`` (None if it exists)."""
        return self.core.create_snapshot(
            OffsetAndEpoch(offset, epoch), last_contained_log_time_ms, self.time_ms()
        )

    # -- carrying out Ready --------------------------------------------------------------

    def _input(self, give: Callable[[int], object]) -> None:
        if self._fatal is not None:
            raise RuntimeError("the metadata log replica has failed") from self._fatal
        try:
            give(self.time_ms())
        except (NotLeaderError, RecordBatchTooLargeError):
            raise
        except BaseException as exc:
            self._fail(exc)
            raise
        self._drain()

    def _drain(self) -> None:
        if self._draining:
            # An input given while a Ready is carried out (a listener appending): the loop
            # below goes round once more for it.
            self._again = True
            return
        self._draining = True
        try:
            while True:
                self._again = False
                self._carry_out(self.core.ready(self.time_ms()))
                if not self._again:
                    break
        except BaseException as exc:
            self._fail(exc)
            raise
        finally:
            self._draining = False

    def _carry_out(self, ready: Ready) -> None:
        if ready.election is not None:
            self.state_store.write(ready.election)
        if ready.flush_offset is not None:
            self.log.flush(ready.flush_offset)
        for message in ready.messages:
            if isinstance(message, Response):
                answer = self._answers.get(message.correlation_id)
                if answer is not None and not answer.done.is_set():
                    answer.body = message.body
                    answer.done.set()
            elif self._running:
                self.transport.send(message)
        for event in ready.events:
            if isinstance(event, Commit):
                for batch in event.batches:
                    for listener in self.listeners:
                        listener.handle_commit(batch)
            elif isinstance(event, LoadSnapshot):
                log.info("loading snapshot %s", event.snapshot.snapshot_id)
                for listener in self.listeners:
                    listener.handle_load_snapshot(event.snapshot)
            elif isinstance(event, LeaderChange):
                log.info(
                    "metadata log leader is %s in epoch %d",
                    "unknown" if event.leader_id is None else event.leader_id,
                    event.epoch,
                )
                for listener in self.listeners:
                    listener.handle_leader_change(event.leader_id, event.epoch)
        self._note_state()
        self._progressed.set()
        self._progressed = trio.Event()
        if ready.next_tick_ms != self._tick_at:
            earlier = ready.next_tick_ms < self._tick_at
            self._tick_at = ready.next_tick_ms
            if earlier:
                self._tick_moved.set()

    def _note_state(self) -> None:
        state = self.core.state
        name = f"{state.name} in epoch {state.epoch}"
        if state.leader_id is not None:
            name += f", leader {state.leader_id}"
        if name != self._state_name:
            self._state_name = name
            log.info("metadata log replica %d: %s", self.node_id, name)

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None and not isinstance(exc, trio.Cancelled):
            log.error("the metadata log replica fails: %r", exc)
            self._fatal = exc
            self._tick_moved.set()
