"""The trio shell around the quorum controller: a Raft listener that decides when it leads.

:class:`odradek.controller.quorum_controller.QuorumController` decides; this module does
what Kafka's ``QuorumController`` event loop does around it, on top of the metadata log
replica of :mod:`odradek.node.quorum`:

* **Every controller replays.** It listens to the log (:class:`~odradek.node.quorum.
  driver.RaftListener`): each committed batch goes to ``handle_committed_batch``, a
  snapshot replaces the image, so a standby controller always holds the committed state.
* **The leader of the log is the active controller.** When the replica learns that it
  leads an epoch (which it only says once everything committed before has been
  delivered), the controller is activated at the offset the next append will get; the
  bootstrap records of a new cluster are its first decision. When leadership goes, it is
  deactivated and every request still waiting is answered NOT_CONTROLLER.
* **A command** (:meth:`ControllerService.call`) is decided, its batch appended through
  the replica at exactly the offsets the controller assigned, and the response is given
  once the log has committed that far. Decisions do not wait for one another: each sees
  the previous one's effects at once, and their batches commit in order.
* **A timer** fences brokers whose sessions lapse (``broker.session.timeout.ms``).

The broker of a combined node reaches its own controller through
:class:`~odradek.node.quorum.channel.ActiveControllerChannel`; other nodes reach it over
the controller listener.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from odradek.controller.quorum_controller import Decision, NotActiveError, QuorumController
from odradek.controller.settings import ControllerSettings
from odradek.metadata.serde import encode_record
from odradek.node.config import BrokerConfig
from odradek.node.config_schema import NodeConfigSchema
from odradek.node.quorum.metadata_listener import (
    metadata_batch_of,
    snapshot_delta,
    snapshot_provenance,
)
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.raft.batches import CommittedBatch
from odradek.raft.errors import NotLeaderError
from odradek.raft.messages import DescribeQuorumRequest
from odradek.raft.snapshots import SnapshotContents

if TYPE_CHECKING:
    from odradek.node.quorum.driver import RaftDriver

log = logging.getLogger(__name__)

ALTER_CONFIGS = 33
CREATE_TOPICS = 19
DELETE_TOPICS = 20
CREATE_PARTITIONS = 37
INCREMENTAL_ALTER_CONFIGS = 44
DESCRIBE_QUORUM = 55
ALTER_PARTITION = 56
BROKER_REGISTRATION = 62
BROKER_HEARTBEAT = 63
ALLOCATE_PRODUCER_IDS = 67
CONTROLLER_REGISTRATION = 70
UPDATE_FEATURES = 57

#: The shortest pause between two checks for lapsed broker sessions.
SESSION_CHECK_MIN_S = 0.05


def controller_settings(config: BrokerConfig, cluster_id: str) -> ControllerSettings:
    return ControllerSettings(
        node_id=config.node_id,
        cluster_id=cluster_id,
        default_num_partitions=config.num_partitions,
        default_replication_factor=config.default_replication_factor,
        session_timeout_ms=config.get("broker.session.timeout.ms"),
        unclean_leader_election_enable=config.get("unclean.leader.election.enable"),
        delete_topic_enable=config.delete_topic_enable,
        controller_ids=frozenset(v.node_id for v in config.quorum_voters),
    )


class _Waiter:
    """A response held until the log commits its offset, or leadership is lost."""

    __slots__ = ("done", "lost")

    def __init__(self) -> None:
        self.done = trio.Event()
        self.lost = False


class ControllerService:
    """One controller: standby or active, as the metadata log's leadership says."""

    def __init__(
        self,
        config: BrokerConfig,
        cluster_id: str,
        time_ms: Callable[[], int],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.node_id = config.node_id
        self.time_ms = time_ms
        rng = rng or random.Random()
        self.controller = QuorumController(
            controller_settings(config, cluster_id),
            schema=NodeConfigSchema(),
            id_source=lambda: uuid.UUID(int=rng.getrandbits(128)),
            rng=rng,
        )
        self.raft: RaftDriver | None = None
        #: The last offset of the log this controller has replayed (-1: none).
        self.committed_offset = -1
        self._waiters: list[tuple[int, int, _Waiter]] = []
        self._order = itertools.count()
        self._wake_session_timer = trio.Event()
        self._activated = trio.Event()

    def attach(self, raft: RaftDriver) -> None:
        """Follow ``raft``, the replica of the metadata log on this node."""
        self.raft = raft
        raft.add_listener(self)

    @property
    def is_active(self) -> bool:
        return self.controller.is_active

    async def wait_active(self) -> None:
        """Until this controller is the active one."""
        while not self.controller.is_active:
            await self._activated.wait()

    # -- the log, as a Raft listener -----------------------------------------------------

    def handle_commit(self, batch: CommittedBatch) -> None:
        metadata = metadata_batch_of(batch)
        if metadata is not None:
            self.controller.handle_committed_batch(metadata)
        self.committed_offset = batch.last_offset
        waiters = self._waiters
        while waiters and waiters[0][0] <= batch.last_offset:
            heapq.heappop(waiters)[2].done.set()

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        if self.controller.is_active:
            raise RuntimeError("the active controller was told to load a snapshot")
        self.controller.load_image(snapshot_delta(snapshot).apply(snapshot_provenance(snapshot)))
        self.committed_offset = snapshot.snapshot_id.offset - 1

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        if self.controller.is_active:
            self._deactivate(f"leadership moved to {leader_id} in epoch {epoch}")
        # A leader that restarted is told it "leads" the epoch it resigned: only a replica
        # that leads the epoch now may decide in it.
        raft = self.raft
        if (
            leader_id == self.node_id
            and raft is not None
            and raft.is_leader
            and raft.epoch == epoch
        ):
            self._activate(epoch)

    def _activate(self, epoch: int) -> None:
        assert self.raft is not None
        decision = self.controller.activate(epoch, self.time_ms(), self.raft.next_append_offset())
        log.info("active controller in epoch %d", epoch)
        try:
            self._append(decision)
        except NotActiveError:
            return  # deposed already: the news is on its way
        self._activated.set()
        self._activated = trio.Event()
        self._wake_session_timer.set()

    def _deactivate(self, why: str) -> None:
        log.info("no longer the active controller: %s", why)
        self.controller.deactivate()
        for _, _, waiter in self._waiters:
            waiter.lost = True
            waiter.done.set()
        self._waiters.clear()

    # -- commands ------------------------------------------------------------------------

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        """Run one command and answer once its records are committed.

        Raises :class:`~odradek.controller.quorum_controller.NotActiveError` when this
        controller is not (or stops being, before the answer commits) the active one.
        """
        if api_key == DESCRIBE_QUORUM:
            return await self.describe_quorum(request)
        if not self.controller.is_active:
            raise NotActiveError("this controller is not the active controller")
        now = self.time_ms()
        c = self.controller
        if api_key == CREATE_TOPICS:
            decision: Decision[Any] = c.create_topics(request, now)
        elif api_key == DELETE_TOPICS:
            decision = c.delete_topics(request, api_version, now)
        elif api_key == CREATE_PARTITIONS:
            decision = c.create_partitions(request, now)
        elif api_key == INCREMENTAL_ALTER_CONFIGS:
            decision = c.incremental_alter_configs(request, now)
        elif api_key == ALTER_CONFIGS:
            decision = c.legacy_alter_configs(request, now)
        elif api_key == ALTER_PARTITION:
            decision = c.alter_partition(request, api_version, now)
        elif api_key == BROKER_REGISTRATION:
            decision = c.register_broker(request, now)
        elif api_key == BROKER_HEARTBEAT:
            decision = c.broker_heartbeat(request, now)
        elif api_key == ALLOCATE_PRODUCER_IDS:
            decision = c.allocate_producer_ids(request, now)
        elif api_key == UPDATE_FEATURES:
            decision = c.update_features(request, api_version, now)
        elif api_key == CONTROLLER_REGISTRATION:
            decision = c.register_controller(request, now)
        else:
            raise KafkaError(ErrorCode.UNSUPPORTED_VERSION, f"no controller API {api_key}")
        self._append(decision)
        await self._committed(decision.commit_offset)
        return decision.response

    async def describe_quorum(self, request: DescribeQuorumRequest) -> Any:
        """DescribeQuorum, answered by the replica (only the leader knows the quorum)."""
        if self.raft is None:
            raise NotActiveError("this node has no metadata log replica")
        return await self.raft.handle_request(request)

    def _append(self, decision: Decision[Any]) -> None:
        """Append the decision's batch at the offsets the controller gave it."""
        batch = decision.batch
        if batch is None:
            return
        assert self.raft is not None
        try:
            last = self.raft.append([encode_record(r) for r in batch.records], batch.leader_epoch)
        except NotLeaderError as exc:
            # The replica has stepped down and its news has not reached us yet: what was
            # decided on top of this batch can never be written.
            self._deactivate(str(exc))
            raise NotActiveError(str(exc)) from exc
        if last != batch.last_offset:
            raise RuntimeError(
                f"the controller's batch ending at {batch.last_offset} was appended "
                f"ending at {last}"
            )
        self._wake_session_timer.set()

    async def _committed(self, offset: int) -> None:
        if offset <= self.committed_offset:
            return
        waiter = _Waiter()
        heapq.heappush(self._waiters, (offset, next(self._order), waiter))
        await waiter.done.wait()
        if waiter.lost:
            raise NotActiveError("leadership was lost before the decision was committed")

    async def run_session_timer(self) -> None:
        """Fence brokers whose sessions lapse, at the moments the active controller names."""
        while True:
            self._wake_session_timer = trio.Event()
            due = self.controller.next_session_check_ms()
            if due is None:
                await self._wake_session_timer.wait()
                continue
            # Never spin: a check is at least a little after the last one.
            delay = max(due - self.time_ms(), SESSION_CHECK_MIN_S * 1000) / 1000
            with trio.move_on_after(delay):
                await self._wake_session_timer.wait()
            while self.controller.is_active:
                decision = self.controller.fence_stale_brokers(self.time_ms())
                if not decision.response:
                    break
                try:
                    self._append(decision)
                except NotActiveError:
                    break
                log.warning("fenced brokers %s: their sessions timed out", decision.response)
