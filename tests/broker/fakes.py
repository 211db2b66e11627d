"""A small real broker for handler tests: real logs, real controller, metadata replayed.

:class:`InProcessController` is a :class:`~odradek.broker.broker.ControllerChannel`
that runs the real :class:`~odradek.controller.QuorumController` in the same
process: every decision's batch goes through the metadata log encoding, is
committed at once, and is replayed into each attached broker's image with
:class:`~odradek.metadata.delta.MetadataDelta`, as the brokers of a cluster replay
the committed log. Its one departure from a networked controller is the
``unreachable`` hook, which makes the next calls fail the way a channel reports a
controller that cannot be reached.

:class:`ConfigTables` gives the controller the config schema it validates changes
against, from Odradek's real topic and broker config tables.

:func:`make_broker` builds a single-node cluster in a temporary directory: broker 1,
registered and unfenced, whose dynamic configuration, topics and partitions all
come from replayed records.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import trio

import odradek.broker.handlers  # noqa: F401  (registers every handler)
from odradek.broker.broker import Broker
from odradek.broker.dispatch import Dispatcher
from odradek.controller import ControllerSettings, Decision, QuorumController
from odradek.metadata import versions
from odradek.metadata.configs import ConfigResource, ConfigResourceType
from odradek.metadata.delta import MetadataDelta
from odradek.metadata.image import MetadataProvenance
from odradek.metadata.serde import MetadataBatch, encode_metadata_batch, read_metadata_batches
from odradek.node.config import BROKER_CONFIGS, TOPIC_CONFIGS, BrokerConfig, ConfigError, ConfigType
from odradek.node.config.config_def import to_kafka_string
from odradek.node.config.topic_configs import check_topic_values
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.framing import encode_request, read_response
from odradek.protocol.messages.clients import APIS
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableReplicaAssignment,
    CreatableTopic,
    CreatableTopicConfig,
    CreateTopicsRequest,
)
from odradek.storage.log_manager import LogManager
from tests.storage.batches import batch as record_batch

CLUSTER_ID = "bXlfdGVzdF9jbHVzdGVy"
NODE_ID = 1
T = TypeVar("T")


class ConfigTables:
    """The controller's :class:`~odradek.controller.configs.ConfigSchema`, from the real tables."""

    def _table(self, resource_type: int) -> Any:
        return TOPIC_CONFIGS if resource_type == ConfigResourceType.TOPIC else BROKER_CONFIGS

    def validate(
        self, resource: ConfigResource, configs: Mapping[str, str], existing: Mapping[str, str]
    ) -> None:
        if resource.type not in (ConfigResourceType.TOPIC, ConfigResourceType.BROKER):
            return
        table = self._table(resource.type)
        values = {}
        for name, value in configs.items():
            key = table.get(name)
            if key is None or key.internal:
                raise KafkaError(ErrorCode.INVALID_CONFIG, f"Unknown config name: {name}")
            try:
                values[name] = key.parse(value)
            except ConfigError as error:
                raise KafkaError(ErrorCode.INVALID_CONFIG, str(error)) from None
        if resource.type == ConfigResourceType.TOPIC:
            merged = {k.name: k.default for k in TOPIC_CONFIGS if not k.internal} | values
            try:
                check_topic_values(merged)
            except ConfigError as error:
                raise KafkaError(ErrorCode.INVALID_CONFIG, str(error)) from None

    def is_list(self, resource_type: int, name: str) -> bool:
        key = self._table(resource_type).get(name)
        return key is not None and key.type is ConfigType.LIST

    def default_value(self, resource_type: int, name: str) -> str | None:
        key = self._table(resource_type).get(name)
        return None if key is None else to_kafka_string(key.default, key.type)


def through_the_log(batch: MetadataBatch) -> list[MetadataBatch]:
    """The batch as a reader of the metadata log gets it: encoded, then decoded."""
    data = encode_metadata_batch(
        batch.records,
        base_offset=batch.base_offset,
        leader_epoch=batch.leader_epoch,
        append_time_ms=batch.append_time_ms,
    )
    return list(read_metadata_batches(data))


class InProcessController:
    """The active controller of a one-process cluster (see the module documentation)."""

    def __init__(self, settings: ControllerSettings) -> None:
        ids = iter(range(1, 1 << 30))
        self.quorum = QuorumController(
            settings,
            schema=ConfigTables(),
            id_source=lambda: uuid.UUID(int=next(ids)),
            rng=random.Random(0),
        )
        self.brokers: list[Broker] = []
        self.now_ms = 1_000
        #: When set, calls fail with this code, as a channel reports an unreachable controller.
        self.unreachable: ErrorCode | None = None
        #: The API key of every call, in order.
        self.calls: list[int] = []
        #: Calls wait for this event when it is set (to hold a request in flight).
        self.gate: trio.Event | None = None
        #: Every committed batch: what a broker that attaches later replays first.
        self.log: list[MetadataBatch] = []
        self.commit(self.quorum.activate(epoch=1, now_ms=self.now_ms, next_offset=0))

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        self.calls.append(api_key)
        if self.gate is not None:
            await self.gate.wait()
        if self.unreachable is not None:
            raise KafkaError(self.unreachable)
        q, now = self.quorum, self.now_ms
        commands: dict[int, Callable[[], Decision[Any]]] = {
            19: lambda: q.create_topics(request, now),
            20: lambda: q.delete_topics(request, api_version, now),
            33: lambda: q.legacy_alter_configs(request, now),
            37: lambda: q.create_partitions(request, now),
            44: lambda: q.incremental_alter_configs(request, now),
            67: lambda: q.allocate_producer_ids(request, now),
        }
        return self.commit(commands[api_key]())

    def commit(self, decision: Decision[T]) -> T:
        """Append, commit and replay the decision's batch; its response."""
        if decision.batch is not None:
            for batch in through_the_log(decision.batch):
                self.quorum.handle_committed_batch(batch)
                self.log.append(batch)
                for broker in self.brokers:
                    replay(broker, batch)
        return decision.response

    def attach(self, broker: Broker) -> None:
        """Let ``broker`` follow the metadata log from its start."""
        for batch in self.log:
            replay(broker, batch)
        self.brokers.append(broker)

    def register(
        self,
        broker_id: int,
        listeners: Mapping[str, tuple[str, int]],
        *,
        rack: str | None = None,
        log_dirs: tuple[uuid.UUID, ...] | None = None,
        fenced: bool = False,
    ) -> None:
        """Register a broker (and unfence it unless ``fenced``), as its start-up would."""
        request = BrokerRegistrationRequest(
            broker_id=broker_id,
            cluster_id=CLUSTER_ID,
            incarnation_id=uuid.UUID(int=(7 << 64) + broker_id),
            listeners=[
                Listener(name=name, host=host, port=port, security_protocol=0)
                for name, (host, port) in listeners.items()
            ],
            features=[
                Feature(
                    name=versions.FEATURE_NAME,
                    min_supported_version=versions.MINIMUM_KRAFT_VERSION,
                    max_supported_version=versions.LATEST_PRODUCTION,
                )
            ],
            rack=rack,
            log_dirs=list(log_dirs or (log_dir_id(broker_id),)),
        )
        self.commit(self.quorum.register_broker(request, self.now_ms))
        if not fenced:
            self.heartbeat(broker_id)

    def heartbeat(self, broker_id: int) -> None:
        """A caught-up broker's heartbeat: it unfences the broker if it was fenced."""
        heartbeat = BrokerHeartbeatRequest(
            broker_id=broker_id,
            broker_epoch=self.quorum.image.cluster.brokers[broker_id].epoch,
            current_metadata_offset=self.quorum.next_offset - 1,
        )
        self.commit(self.quorum.broker_heartbeat(heartbeat, self.now_ms))

    def expire_sessions(self) -> None:
        """Let every broker session time out: each broker is fenced, its leaderships moved."""
        self.now_ms += self.quorum.settings.session_timeout_ms + 1
        while self.commit(self.quorum.fence_stale_brokers(self.now_ms)):
            pass


def log_dir_id(broker_id: int) -> uuid.UUID:
    return uuid.UUID(int=(9 << 64) + broker_id)


def replay(broker: Broker, batch: MetadataBatch) -> None:
    """What a broker's metadata listener does with a committed batch."""
    delta = MetadataDelta(broker.image)
    for record in batch.records:
        delta.replay(record.message)
    image = delta.apply(
        MetadataProvenance(
            last_offset=batch.last_offset,
            last_epoch=batch.leader_epoch,
            last_log_time_ms=batch.append_time_ms,
        )
    )
    broker.publish(delta, image)


class NullMetrics:
    def observe_request(self, api: str, seconds: float) -> None:
        return None

    def record_produce(self, topic: str, size: int, records: int) -> None:
        return None

    def record_fetch(self, topic: str, size: int) -> None:
        return None

    def forget_topic(self, topic: str) -> None:
        return None

    def set_partition_count(self, count: int) -> None:
        return None


@dataclass(frozen=True)
class TestClient:
    connection_id: str = "127.0.0.1:9092-127.0.0.1:50000-0"
    listener: str = "PLAINTEXT"
    peer_host: str = "127.0.0.1"


def broker_properties(log_dir: Path, **overrides: str) -> dict[str, str]:
    """A combined node's ``server.properties``: broker 1, clients on PLAINTEXT."""
    props = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@localhost:9093",
        "listeners": "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(log_dir),
        "log.retention.hours": "72",
        "log.segment.bytes": "536870912",
    }
    props.update({name.replace("_", "."): value for name, value in overrides.items()})
    return props


@dataclass
class Node:
    """Broker 1 of a one-node cluster, the controller it forwards to, and its clock."""

    broker: Broker
    controller: InProcessController
    clock: list[int] = field(default_factory=lambda: [1_000])

    async def request(
        self, api_key: int, api_version: int, body: Any, *, listener: str = "PLAINTEXT"
    ) -> Any:
        """Send ``body`` as a client at ``api_version`` would, through the real dispatcher.

        The request and the response cross the wire format, so a field the version
        does not carry is lost (or refused) exactly as it would be for a client.
        """
        api = APIS[api_key]
        frame = b"".join(bytes(b) for b in encode_request(api, api_version, 7, "test", body))
        answer = await Dispatcher(self.broker).handle_frame(
            TestClient(listener=listener), memoryview(frame)[4:]
        )
        assert answer is not None, "a response was expected"
        data = b"".join(bytes(b) for b in answer)
        correlation_id, response = read_response(api, api_version, memoryview(data)[4:])
        assert correlation_id == 7
        return response

    def call(
        self, api_key: int, api_version: int, body: Any, *, listener: str = "PLAINTEXT"
    ) -> Any:
        """:meth:`request`, run to completion."""
        return trio.run(partial(self.request, listener=listener), api_key, api_version, body)

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        *,
        configs: Mapping[str, str] | None = None,
        replicas: list[list[int]] | None = None,
    ) -> None:
        """Create a topic through CreateTopics; with ``replicas``, placed by hand."""
        topic = CreatableTopic(
            name=name,
            num_partitions=-1 if replicas else partitions,
            replication_factor=-1 if replicas else 1,
            assignments=[
                CreatableReplicaAssignment(partition_index=i, broker_ids=ids)
                for i, ids in enumerate(replicas or [])
            ],
            configs=[CreatableTopicConfig(name=k, value=v) for k, v in (configs or {}).items()],
        )
        response = self.call(19, 7, CreateTopicsRequest(topics=[topic]))
        assert [t.error_code for t in response.topics] == [0], response

    def produce(
        self,
        topic: str,
        partition: int,
        count: int,
        *,
        producer_id: int = -1,
        producer_epoch: int = -1,
        base_sequence: int = -1,
        timestamp: int = 1_000,
    ) -> None:
        """Append ``count`` records as one batch, as the Produce handler appends (acks=1)."""
        leader = self.broker.replicas.leader(topic, partition)
        data = record_batch(
            [b"value-%d" % i for i in range(count)],
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            base_sequence=base_sequence,
            timestamp=timestamp,
        )
        leader.append(memoryview(data), 1, 1)


def make_broker(tmp_path: Path, **overrides: str) -> Node:
    """Broker 1, registered and unfenced, in a fresh cluster whose log dir is ``tmp_path``."""
    log_dir = tmp_path / "logs"
    config = BrokerConfig.from_properties(broker_properties(log_dir, **overrides))
    clock = [1_000]
    logs = LogManager([log_dir], time_ms=lambda: clock[0], node_id=NODE_ID)
    logs.startup()
    controller = InProcessController(
        ControllerSettings(
            node_id=NODE_ID,
            cluster_id=CLUSTER_ID,
            delete_topic_enable=config.delete_topic_enable,
            default_num_partitions=config.num_partitions,
            default_replication_factor=config.default_replication_factor,
            controller_ids=frozenset({NODE_ID}),
        )
    )
    broker = Broker(
        config=config,
        cluster_id=CLUSTER_ID,
        logs=logs,
        controller=controller,
        metrics=NullMetrics(),
        supported_features={versions.FEATURE_NAME: (1, versions.LATEST_PRODUCTION)},
        time_ms=lambda: clock[0],
    )
    controller.attach(broker)
    controller.register(NODE_ID, {"PLAINTEXT": ("localhost", 9092)})
    return Node(broker, controller, clock)
