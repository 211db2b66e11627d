"""The trio shell around the quorum controller of a one-voter quorum.

:class:`odradek.controller.quorum_controller.QuorumController` decides; this module
does the rest of what Kafka's ``QuorumController`` event loop and ``KafkaRaftClient``
do for a single voter: it replays the metadata log at start, takes leadership,
runs each command one at a time, appends the decided batch to the log, and -- once
it is flushed, which commits it -- feeds it back to the controller and to every
listener (the broker's metadata publisher), then answers the request. A timer fences
brokers whose sessions lapse.

It is also the broker's :class:`~odradek.broker.broker.ControllerChannel` in a
combined node: the broker's forwarded requests arrive as :meth:`call`.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from typing import Any

import trio

from odradek.controller.quorum_controller import Decision, QuorumController
from odradek.controller.settings import ControllerSettings
from odradek.metadata.serde import MetadataBatch
from odradek.node.config import BrokerConfig
from odradek.node.config_schema import NodeConfigSchema
from odradek.node.metadata_log import SingleVoterLog
from odradek.protocol.errors import ErrorCode, KafkaError

log = logging.getLogger(__name__)

CommitListener = Callable[[MetadataBatch], None]

ALTER_CONFIGS = 33
CREATE_TOPICS = 19
DELETE_TOPICS = 20
CREATE_PARTITIONS = 37
INCREMENTAL_ALTER_CONFIGS = 44
ALTER_PARTITION = 56
BROKER_REGISTRATION = 62
BROKER_HEARTBEAT = 63
ALLOCATE_PRODUCER_IDS = 67


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


class ControllerService:
    """The active controller of a one-voter quorum, and the channel brokers reach it by."""

    def __init__(
        self,
        config: BrokerConfig,
        cluster_id: str,
        metadata_log: SingleVoterLog,
        time_ms: Callable[[], int],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.metadata_log = metadata_log
        self.time_ms = time_ms
        rng = rng or random.Random()
        self.controller = QuorumController(
            controller_settings(config, cluster_id),
            schema=NodeConfigSchema(),
            id_source=lambda: uuid.UUID(int=rng.getrandbits(128)),
            rng=rng,
        )
        self.listeners: list[CommitListener] = []
        self._lock = trio.Lock()
        self._session_check = trio.Event()

    def start(self) -> None:
        """Replay the log, then lead: the bootstrap records of a new cluster are written here."""
        for batch in self.metadata_log.committed_batches():
            self._deliver(batch, replay=True)
        epoch = self.metadata_log.become_leader()
        decision = self.controller.activate(epoch, self.time_ms(), self.metadata_log.next_offset)
        self._commit(decision)

    def add_listener(self, listener: CommitListener) -> None:
        self.listeners.append(listener)

    def _deliver(self, batch: MetadataBatch, *, replay: bool) -> None:
        if replay:
            self.controller.handle_committed_batch(batch)
        for listener in self.listeners:
            listener(batch)

    def _commit(self, decision: Decision[Any]) -> None:
        batch = decision.batch
        if batch is None:
            return
        self.metadata_log.append(batch)
        self.controller.handle_committed_batch(batch)
        self._deliver(batch, replay=False)
        self._session_check.set()

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        """Run one command and answer once its records are committed."""
        async with self._lock:
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
            else:
                raise KafkaError(ErrorCode.UNSUPPORTED_VERSION, f"no controller API {api_key}")
            self._commit(decision)
            return decision.response

    async def run_session_timer(self) -> None:
        """Fence brokers whose sessions lapse, at the moments the controller names."""
        while True:
            due = self.controller.next_session_check_ms()
            self._session_check = trio.Event()
            if due is None:
                await self._session_check.wait()
                continue
            # Never spin: a check is at least 50 ms after the last one.
            with trio.move_on_after(max(due - self.time_ms(), 50) / 1000):
                await self._session_check.wait()
            async with self._lock:
                while True:
                    decision = self.controller.fence_stale_brokers(self.time_ms())
                    if not decision.response:
                        break
                    log.warning("fenced brokers %s: their sessions timed out", decision.response)
                    self._commit(decision)
