"""Admin operations through the Python admin clients, auto-creation, and the metrics endpoint."""

from __future__ import annotations

import re
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.support.odradek_node import OdradekNode, odradek_node
from tests.support.probe import free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    metrics_port = free_port()
    overrides = {"odradek.metrics.listener": f"127.0.0.1:{metrics_port}"}
    with odradek_node(workdir=tmp_path_factory.mktemp("odradek"), overrides=overrides) as n:
        yield n


def _name() -> str:
    return f"admin-{uuid.uuid4().hex[:10]}"


def test_kafka_python_admin(node: OdradekNode) -> None:
    admin_mod = pytest.importorskip("kafka.admin")
    admin = admin_mod.KafkaAdminClient(bootstrap_servers=node.bootstrap)
    try:
        name = _name()
        admin.create_topics([admin_mod.NewTopic(name, num_partitions=2, replication_factor=1)])
        assert name in admin.list_topics()
        admin.create_partitions({name: admin_mod.NewPartitions(total_count=4)})
        described = admin.describe_topics([name])
        topics = described if isinstance(described, list) else list(described.values())
        assert len(topics[0]["partitions"]) == 4
        resource = admin_mod.ConfigResource(
            admin_mod.ConfigResourceType.TOPIC, name, configs={"cleanup.policy": "compact"}
        )
        admin.alter_configs([resource])
        result = admin.describe_configs([admin_mod.ConfigResource("TOPIC", name)])
        entry = result["topic"][name]["cleanup.policy"]
        assert entry["value"] == "compact"
        assert entry["config_source"] == "DYNAMIC_TOPIC_CONFIG"
        admin.delete_topics([name])
        assert name not in admin.list_topics()
    finally:
        admin.close()


def test_aiokafka_admin(node: OdradekNode) -> None:
    aiokafka_admin = pytest.importorskip("aiokafka.admin")
    import asyncio

    async def run() -> None:
        admin = aiokafka_admin.AIOKafkaAdminClient(bootstrap_servers=node.bootstrap)
        await admin.start()
        try:
            name = _name()
            await admin.create_topics(
                [aiokafka_admin.NewTopic(name, num_partitions=3, replication_factor=1)]
            )
            assert name in await admin.list_topics()
            described = await admin.describe_topics([name])
            assert len(described[0]["partitions"]) == 3
            await admin.delete_topics([name])
        finally:
            await admin.close()

    asyncio.run(run())


def test_confluent_admin_describe_cluster_and_log_dirs(node: OdradekNode) -> None:
    admin_mod = pytest.importorskip("confluent_kafka.admin")
    admin = admin_mod.AdminClient({"bootstrap.servers": node.bootstrap})
    cluster = admin.describe_cluster().result(30)
    assert [n.id for n in cluster.nodes] == [1]
    assert cluster.controller.id == 1


def test_metadata_request_creates_topics_when_allowed(node: OdradekNode) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    name = _name()
    producer = confluent_kafka.Producer({"bootstrap.servers": node.bootstrap})
    producer.produce(name, value=b"auto-created")
    assert producer.flush(30) == 0
    admin = pytest.importorskip("confluent_kafka.admin").AdminClient(
        {"bootstrap.servers": node.bootstrap}
    )
    topic = admin.list_topics(name, timeout=10).topics[name]
    assert len(topic.partitions) == 1


def test_metrics_endpoint_counts_traffic(node: OdradekNode) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    name = _name()
    producer = confluent_kafka.Producer({"bootstrap.servers": node.bootstrap})
    for i in range(10):
        producer.produce(name, value=b"m%d" % i)
    assert producer.flush(30) == 0
    url = f"http://{node.properties['odradek.metrics.listener']}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    match = re.search(
        rf'kafka_server_brokertopicmetrics_messagesin_total{{topic="{name}"}} (\S+)', text
    )
    assert match is not None
    assert float(match.group(1)) == 10
    assert 'kafka_network_requestmetrics_requests_total{request="Produce"}' in text
    assert "kafka_server_replicamanager_partitioncount" in text


def test_kafkajs_admin(node: OdradekNode) -> None:
    import json

    from tests.support import processes
    from tests.support.clients import require

    kafkajs = require("kafkajs")
    name = _name()
    result = processes.run(
        [
            "node", str(kafkajs.SCRIPT), "admin",  # type: ignore[attr-defined]
            "--bootstrap-server", node.bootstrap, "--topic", name, "--partitions", "2",
        ],
        timeout=60,
        env=kafkajs._env(),  # type: ignore[attr-defined]
    )  # fmt: skip
    seen = json.loads(result.stdout.decode().splitlines()[-1])
    assert seen == {
        "created": True,
        "partitions": 3,
        "retentionMs": "4242",
        "listed": True,
        "listedAfterDelete": False,
    }
