"""Brokers and the controller over the controller listener: Kafka's ``ControllerApis``.

Two views. In-process, a controller that is not active answers every command it
serves with NOT_CONTROLLER, in each request's own error shape, and the broker's network
channel keeps asking until its deadline. Against a node process, a second broker joins
over the wire as a separate broker process would: it registers, heartbeats until
unfenced, is seen by a real admin client, receives replicas, and is fenced when its
heartbeats stop.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from odradek.broker import handlers as _broker_handlers  # noqa: F401  (fills the registry)
from odradek.broker.apis import REGISTRY
from odradek.controller.features import bootstrap_records, supported_features
from odradek.metadata.cluster import ControllerRegistration, Endpoint
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.metadata.versions import IBP_3_6_IV1, IBP_3_7_IV0, LATEST_PRODUCTION
from odradek.node.config import BrokerConfig
from odradek.node.controller_apis import CONTROLLER_REGISTRY, ControllerApis
from odradek.node.controller_apis.describe_cluster import controller_nodes
from odradek.node.controller_service import ControllerService
from odradek.node.kafka_client import KafkaClient, open_kafka_client
from odradek.node.network import serve_listener
from odradek.node.remote_controller import (
    ControllerAddress,
    RemoteController,
    controller_client_settings,
    error_codes,
)
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients import APIS
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.clients.alter_configs_request import (
    AlterConfigsRequest,
)
from odradek.protocol.messages.clients.alter_configs_request import (
    AlterConfigsResource as LegacyResource,
)
from odradek.protocol.messages.clients.alter_partition_request import AlterPartitionRequest
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.create_partitions_request import (
    CreatePartitionsRequest,
    CreatePartitionsTopic,
)
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.delete_topics_request import (
    DeleteTopicsRequest,
    DeleteTopicState,
)
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from odradek.protocol.messages.clients.update_features_request import (
    FeatureUpdateKey,
    UpdateFeaturesRequest,
)
from tests.controller.support import replay
from tests.support.odradek_node import OdradekNode, node_properties, odradek_node
from tests.support.probe import free_port

pytestmark = pytest.mark.timeout(180)

HOST = "127.0.0.1"
API_VERSIONS = 18
CREATE_TOPICS = 19
DELETE_TOPICS = 20
ALTER_CONFIGS = 33
CREATE_PARTITIONS = 37
INCREMENTAL_ALTER_CONFIGS = 44
ALTER_PARTITION = 56
DESCRIBE_CLUSTER = 60
BROKER_REGISTRATION = 62
BROKER_HEARTBEAT = 63
ALLOCATE_PRODUCER_IDS = 67
UPDATE_FEATURES = 57
CONTROLLER_REGISTRATION = 70
CONTROLLER_APIS = {
    API_VERSIONS,
    CREATE_TOPICS,
    DELETE_TOPICS,
    ALTER_CONFIGS,
    CREATE_PARTITIONS,
    INCREMENTAL_ALTER_CONFIGS,
    ALTER_PARTITION,
    DESCRIBE_CLUSTER,
    BROKER_REGISTRATION,
    BROKER_HEARTBEAT,
    ALLOCATE_PRODUCER_IDS,
    UPDATE_FEATURES,
    CONTROLLER_REGISTRATION,
}
#: What a broker forwards to the controller at its client's version.
FORWARDED = (
    CREATE_TOPICS,
    DELETE_TOPICS,
    ALTER_CONFIGS,
    CREATE_PARTITIONS,
    INCREMENTAL_ALTER_CONFIGS,
    UPDATE_FEATURES,
)
BROKERS, CONTROLLERS = 1, 2
TOPIC_RESOURCE = 2
#: Far above what any step needs; only a broken node waits this long.
PATIENCE_S = 60


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def guarded() -> None:
        with trio.fail_after(PATIENCE_S * 2):
            await test()

    trio.run(guarded)


def test_the_controller_registry_is_exactly_the_controller_apis() -> None:
    assert set(CONTROLLER_REGISTRY) == CONTROLLER_APIS
    for key in CONTROLLER_APIS:
        assert "controller" in APIS[key].listeners


@pytest.mark.parametrize("key", FORWARDED)
def test_the_controller_serves_every_version_a_broker_forwards(key: int) -> None:
    broker, controller = REGISTRY[key], CONTROLLER_REGISTRY[key]
    assert controller.lowest <= broker.lowest <= broker.highest <= controller.highest


# -- a controller that is not active --------------------------------------------------


class _RequestTimes:
    def observe_request(self, api: str, seconds: float) -> None:
        pass


def _standby_config(tmp_path: Path, controller_port: int) -> BrokerConfig:
    properties = node_properties(
        node_id=1,
        host=HOST,
        port=free_port(HOST),
        controller_port=controller_port,
        log_dir=tmp_path,
    )
    return BrokerConfig.from_properties(properties)


def _standby_metadata(level: int, *registrations: ControllerRegistration) -> MetadataImage:
    """Committed metadata at ``metadata.version`` ``level`` holding ``registrations``."""
    return replay(EMPTY_IMAGE, [*bootstrap_records(level), *(r.to_record() for r in registrations)])


def _registration(controller_id: int, host: str, port: int) -> ControllerRegistration:
    endpoint = Endpoint(name="CONTROLLER", host=host, port=port, security_protocol=0)
    return ControllerRegistration(
        controller_id=controller_id,
        incarnation_id=uuid.uuid4(),
        listeners={"CONTROLLER": endpoint},
    )


async def _serve_standby(
    tmp_path: Path,
    nursery: trio.Nursery,
    metadata: MetadataImage | None = None,
) -> tuple[BrokerConfig, int]:
    """A controller that is not active, serving on a free port.

    Its committed metadata is ``metadata``; by default the latest production
    ``metadata.version`` with this controller (node 1) registered on that port.
    """
    port = free_port(HOST)
    config = _standby_config(tmp_path, port)
    # Never attached to a metadata log replica, so never active.
    standby = ControllerService(config, "standby-cluster", lambda: 0)
    if metadata is None:
        metadata = _standby_metadata(LATEST_PRODUCTION, _registration(1, HOST, port))
    standby.controller.load_image(metadata)
    apis = ControllerApis(standby, config, "standby-cluster", _RequestTimes())
    serve = functools.partial(
        serve_listener, "CONTROLLER", HOST, port, apis, max_frame=1 << 20, idle_timeout_s=60.0
    )
    await nursery.start(serve)
    return config, port


def _commands() -> list[tuple[int, Any]]:
    return [
        (BROKER_REGISTRATION, BrokerRegistrationRequest(broker_id=5, cluster_id="c")),
        (BROKER_HEARTBEAT, BrokerHeartbeatRequest(broker_id=5, broker_epoch=7)),
        (ALTER_PARTITION, AlterPartitionRequest(broker_id=5, broker_epoch=7)),
        (ALLOCATE_PRODUCER_IDS, AllocateProducerIdsRequest(broker_id=5, broker_epoch=7)),
        (
            CREATE_TOPICS,
            CreateTopicsRequest(
                topics=[
                    CreatableTopic(name="a", num_partitions=1, replication_factor=1),
                    CreatableTopic(name="b", num_partitions=1, replication_factor=1),
                ]
            ),
        ),
        (DELETE_TOPICS, DeleteTopicsRequest(topics=[DeleteTopicState(name="a")])),
        (
            CREATE_PARTITIONS,
            CreatePartitionsRequest(topics=[CreatePartitionsTopic(name="a", count=3)]),
        ),
        (
            ALTER_CONFIGS,
            AlterConfigsRequest(
                resources=[LegacyResource(resource_type=TOPIC_RESOURCE, resource_name="a")]
            ),
        ),
        (
            INCREMENTAL_ALTER_CONFIGS,
            IncrementalAlterConfigsRequest(
                resources=[AlterConfigsResource(resource_type=TOPIC_RESOURCE, resource_name="a")]
            ),
        ),
        (
            UPDATE_FEATURES,
            UpdateFeaturesRequest(
                feature_updates=[FeatureUpdateKey(feature="metadata.version", max_version_level=21)]
            ),
        ),
    ]


def _named_items(key: int, response: Any) -> list[str]:
    """The names a per-item error response answers for (empty for one-error responses)."""
    if key == CREATE_TOPICS:
        return [t.name for t in response.topics]
    if key == DELETE_TOPICS:
        return [t.name for t in response.responses]
    if key == CREATE_PARTITIONS:
        return [t.name for t in response.results]
    if key in (ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS):
        return [r.resource_name for r in response.responses]
    return []


def test_a_standby_controller_answers_not_controller_in_each_requests_shape(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            _, port = await _serve_standby(tmp_path, nursery)
            async with open_kafka_client(HOST, port) as client:
                versions = await client.api_versions()
                assert set(versions) == CONTROLLER_APIS
                for key, request in _commands():
                    response = await client.request(key, request)
                    assert error_codes(response) == {ErrorCode.NOT_CONTROLLER}, APIS[key].name
                    expected = {CREATE_TOPICS: ["a", "b"]}.get(key, ["a"])
                    assert _named_items(key, response) in ([], expected), APIS[key].name
            nursery.cancel_scope.cancel()

    run(main)


def test_a_standby_controller_describes_the_controllers(tmp_path: Path) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            _, port = await _serve_standby(tmp_path, nursery)
            async with open_kafka_client(HOST, port) as client:
                controllers = await client.request(
                    DESCRIBE_CLUSTER, DescribeClusterRequest(endpoint_type=CONTROLLERS)
                )
                assert controllers.error_code == ErrorCode.NONE
                assert controllers.cluster_id == "standby-cluster"
                assert [(n.broker_id, n.host, n.port) for n in controllers.brokers] == [
                    (1, HOST, port)
                ]
                assert controllers.controller_id == -1  # nobody is known to be active
                brokers = await client.request(
                    DESCRIBE_CLUSTER, DescribeClusterRequest(endpoint_type=BROKERS)
                )
                assert brokers.error_code == ErrorCode.MISMATCHED_ENDPOINT_TYPE
                legacy = await client.request(DESCRIBE_CLUSTER, DescribeClusterRequest(), version=0)
                assert legacy.error_code == ErrorCode.INVALID_REQUEST
            nursery.cancel_scope.cancel()

    run(main)


def test_only_registered_controllers_are_described(tmp_path: Path) -> None:
    # Voter 1 (controller.quorum.voters) has not registered: Kafka does not list it.
    others = [
        _registration(3, "10.0.0.3", 9093),
        ControllerRegistration(
            controller_id=4,
            incarnation_id=uuid.uuid4(),
            listeners={
                "OTHER": Endpoint(name="OTHER", host="10.0.0.4", port=9094, security_protocol=0)
            },
        ),
    ]

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            _, port = await _serve_standby(
                tmp_path, nursery, _standby_metadata(IBP_3_7_IV0, *others)
            )
            async with open_kafka_client(HOST, port) as client:
                described = await client.request(
                    DESCRIBE_CLUSTER, DescribeClusterRequest(endpoint_type=CONTROLLERS)
                )
            assert described.error_code == ErrorCode.NONE
            assert [(n.broker_id, n.host, n.port) for n in described.brokers] == [
                (3, "10.0.0.3", 9093)
            ]
            nursery.cancel_scope.cancel()

    run(main)
    image = _standby_metadata(LATEST_PRODUCTION, *others)
    assert [n.broker_id for n in controller_nodes(image, "OTHER")] == [4]


def test_controllers_are_not_described_before_metadata_version_3_7(tmp_path: Path) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            _, port = await _serve_standby(tmp_path, nursery, _standby_metadata(IBP_3_6_IV1))
            async with open_kafka_client(HOST, port) as client:
                for version, endpoint_type in [(1, CONTROLLERS), (1, BROKERS), (0, BROKERS)]:
                    described = await client.request(
                        DESCRIBE_CLUSTER,
                        DescribeClusterRequest(endpoint_type=endpoint_type),
                        version=version,
                    )
                    assert described.error_code == ErrorCode.UNSUPPORTED_VERSION
                    assert described.brokers == []
            nursery.cancel_scope.cancel()

    run(main)


def test_the_broker_channel_gives_up_on_a_controller_that_is_not_active(tmp_path: Path) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            config, port = await _serve_standby(tmp_path, nursery)
            channel = RemoteController(
                nursery,
                lambda: ControllerAddress(1, HOST, port),
                controller_client_settings(config, "forwarding"),
                retry_timeout_s=0.5,
                retry_backoff_s=0.05,
            )
            request = CreateTopicsRequest(
                topics=[CreatableTopic(name="a", num_partitions=1, replication_factor=1)]
            )
            with pytest.raises(KafkaError) as gave_up:
                await channel.call(CREATE_TOPICS, 7, request)
            assert gave_up.value.code == ErrorCode.REQUEST_TIMED_OUT
            assert "not the active controller" in gave_up.value.message
            channel.close()
            nursery.cancel_scope.cancel()

    run(main)


# -- a second broker joins a running node over the wire -----------------------------------


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    overrides = {"broker.session.timeout.ms": "5000", "broker.heartbeat.interval.ms": "500"}
    with odradek_node(workdir=tmp_path_factory.mktemp("rpc"), overrides=overrides) as n:
        yield n


def test_the_node_serves_the_controller_apis_on_its_controller_listener(
    node: OdradekNode,
) -> None:
    async def main() -> None:
        async with open_kafka_client(HOST, node.controller_port) as client:
            versions = await client.api_versions()
            for key, api in CONTROLLER_REGISTRY.items():
                assert versions[key] == (api.lowest, api.highest)
            # Nothing a broker alone serves (Produce, Metadata, ...).
            assert all("controller" in APIS[key].listeners for key in versions)
            # The controller is described once its registration is committed.
            with trio.fail_after(PATIENCE_S):
                while True:
                    controllers = await client.request(
                        DESCRIBE_CLUSTER, DescribeClusterRequest(endpoint_type=CONTROLLERS)
                    )
                    assert controllers.error_code == ErrorCode.NONE
                    if controllers.brokers:
                        break
                    await trio.sleep(0.1)
            assert [(n.broker_id, n.host, n.port) for n in controllers.brokers] == [
                (1, HOST, node.controller_port)
            ]
            assert controllers.controller_id == 1

    run(main)


def _admin(node: OdradekNode) -> Any:
    admin_mod = pytest.importorskip("confluent_kafka.admin")
    return admin_mod.AdminClient({"bootstrap.servers": node.bootstrap})


def _live_broker_ids(admin: Any) -> set[int]:
    return {n.id for n in admin.describe_cluster().result(30).nodes}


def _placement(admin: Any, topic: str) -> dict[int, tuple[int, frozenset[int], frozenset[int]]]:
    """partition -> (leader, replicas, ISR), as the broker's Metadata tells a client."""
    metadata = admin.list_topics(topic=topic, timeout=30)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        return {}
    return {
        p.id: (p.leader, frozenset(p.replicas), frozenset(p.isrs))
        for p in found.partitions.values()
    }


async def _in_thread(fn: Callable[[], Any]) -> Any:
    return await trio.to_thread.run_sync(fn)


async def _eventually(what: str, probe: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """Ask ``probe`` (a blocking admin call) until ``done`` holds of its answer."""
    with trio.move_on_after(PATIENCE_S):
        while True:
            answer = await _in_thread(probe)
            if done(answer):
                return answer
            await trio.sleep(0.2)
    raise AssertionError(f"{what}: still {answer!r}")


class SecondBroker:
    """Broker 2, as a separate broker process would speak to the controller."""

    def __init__(self, client: KafkaClient, cluster_id: str) -> None:
        self.client = client
        self.cluster_id = cluster_id
        self.epoch = -1

    async def register(self) -> None:
        request = BrokerRegistrationRequest(
            broker_id=2,
            cluster_id=self.cluster_id,
            incarnation_id=uuid.uuid4(),
            listeners=[
                Listener(name="PLAINTEXT", host=HOST, port=free_port(HOST), security_protocol=0)
            ],
            features=[
                Feature(name=n, min_supported_version=r.min, max_supported_version=r.max)
                for n, r in supported_features().items()
            ],
            log_dirs=[uuid.uuid4()],
        )
        response = await self.client.request(BROKER_REGISTRATION, request)
        assert response.error_code == ErrorCode.NONE
        self.epoch = response.broker_epoch

    async def heartbeat(self) -> Any:
        # A broker reports the metadata it has replayed; the controller unfences it once
        # that reaches its own registration record, whose offset is its broker epoch.
        request = BrokerHeartbeatRequest(
            broker_id=2, broker_epoch=self.epoch, current_metadata_offset=self.epoch
        )
        response = await self.client.request(BROKER_HEARTBEAT, request)
        assert response.error_code == ErrorCode.NONE
        return response

    async def keep_heartbeating(self, interval_s: float) -> None:
        while True:
            await self.heartbeat()
            await trio.sleep(interval_s)


def test_a_broker_joins_receives_replicas_and_is_fenced_when_it_goes_quiet(
    node: OdradekNode,
) -> None:
    admin = _admin(node)
    topic = f"rpc-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with open_kafka_client(HOST, node.controller_port) as client:
            described = await client.request(
                DESCRIBE_CLUSTER, DescribeClusterRequest(endpoint_type=CONTROLLERS)
            )
            broker = SecondBroker(client, described.cluster_id)
            await broker.register()
            assert broker.epoch >= 0
            with trio.fail_after(PATIENCE_S):
                answer = await broker.heartbeat()
                while answer.is_fenced:
                    await trio.sleep(0.1)
                    answer = await broker.heartbeat()
            assert answer.is_caught_up

            async with trio.open_nursery() as heartbeats:
                heartbeats.start_soon(broker.keep_heartbeating, 0.5)
                await _eventually(
                    "brokers a client sees", lambda: _live_broker_ids(admin), lambda s: s == {1, 2}
                )
                created = await client.request(
                    CREATE_TOPICS,
                    CreateTopicsRequest(
                        topics=[CreatableTopic(name=topic, num_partitions=4, replication_factor=2)]
                    ),
                )
                assert [(t.name, t.error_code) for t in created.topics] == [(topic, 0)]
                placement = await _eventually(
                    "placement", lambda: _placement(admin, topic), lambda p: len(p) == 4
                )
                assert all(replicas == {1, 2} for _, replicas, _ in placement.values())
                assert {leader for leader, _, _ in placement.values()} == {1, 2}
                ids = await client.request(
                    ALLOCATE_PRODUCER_IDS,
                    AllocateProducerIdsRequest(broker_id=2, broker_epoch=broker.epoch),
                )
                assert ids.error_code == ErrorCode.NONE
                assert ids.producer_id_len > 0
                heartbeats.cancel_scope.cancel()

            # Silence: after broker.session.timeout.ms the controller fences broker 2 and
            # moves its leaderships to broker 1.
            await _eventually(
                "brokers a client sees", lambda: _live_broker_ids(admin), lambda s: s == {1}
            )
            placement = await _eventually(
                "leaders after fencing",
                lambda: _placement(admin, topic),
                lambda p: len(p) == 4 and all(isr == {1} for _, _, isr in p.values()),
            )
            assert {leader for leader, _, _ in placement.values()} == {1}

            deleted = await client.request(
                DELETE_TOPICS, DeleteTopicsRequest(topics=[DeleteTopicState(name=topic)])
            )
            assert [(t.name, t.error_code) for t in deleted.responses] == [(topic, 0)]

    run(main)
