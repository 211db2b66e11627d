"""Real Kafka clients and Kafka's own tools against an Odradek node started as a process.

Every client the harness knows (confluent-kafka, kafka-python, aiokafka, kcat, kafkajs,
the Java kafka-clients) produces and consumes through its own API; Kafka's topics,
configs and console tools run against the node; records cross from each client to
another. Consumption here is outside consumer groups (kafkajs always joins a group, so
it produces here and others read what it wrote).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence

import pytest

from tests.support.clients import CLIENTS, client_params, require
from tests.support.kafka_reference import kafka_unavailable, run_kafka_tool
from tests.support.odradek_node import OdradekNode, odradek_node
from tests.support.records import ConsumedRecord, Record, numbered_records

pytestmark = pytest.mark.timeout(300)

#: Clients that can read a topic without joining a consumer group.
GROUPLESS = [name for name in CLIENTS if name != "kafkajs"]
COMPRESSIONS = ["none", "gzip", "snappy", "lz4", "zstd"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    with odradek_node(workdir=tmp_path_factory.mktemp("odradek")) as n:
        yield n


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    base = re.sub(r"[^a-zA-Z0-9._-]+", "-", request.node.name).strip("-")
    return f"{base[:200]}-{uuid.uuid4().hex[:8]}"


def create_topic(
    node: OdradekNode, topic: str, partitions: int = 1, config: dict[str, str] | None = None
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": node.bootstrap})
    new = NewTopic(topic, partitions, 1, config=config or {})
    futures = admin.create_topics([new], operation_timeout=30)
    futures[topic].result(30)


def contents(received: Sequence[ConsumedRecord]) -> list[tuple[object, ...]]:
    return sorted(r.content() for r in received)


def sent(records: Sequence[Record]) -> list[tuple[object, ...]]:
    return sorted((r.key, r.value, r.headers) for r in records)


AWKWARD_RECORDS = [
    Record(key=None, value=bytes(b for b in range(256) if b not in (0x1E, 0x1F))),
    Record(key=b"tombstone", value=None),
    Record(key=b"\x00\xff\n", value=b"x", headers=(("h", b"first"), ("h", b"second"))),
]


@pytest.mark.parametrize("client_name", client_params(*GROUPLESS))
def test_round_trip(node: OdradekNode, topic: str, client_name: str) -> None:
    client = require(client_name)
    create_topic(node, topic)
    records = numbered_records(5)
    client.produce(node.bootstrap, topic, records)
    received = client.consume(node.bootstrap, topic, len(records))
    assert [r.content() for r in received] == [(r.key, r.value, r.headers) for r in records]
    assert [r.offset for r in received] == list(range(len(records)))


@pytest.mark.parametrize("client_name", client_params(*GROUPLESS))
def test_awkward_records(node: OdradekNode, topic: str, client_name: str) -> None:
    client = require(client_name)
    create_topic(node, topic)
    client.produce(node.bootstrap, topic, AWKWARD_RECORDS)
    received = client.consume(node.bootstrap, topic, len(AWKWARD_RECORDS))
    assert [r.content() for r in received] == [(r.key, r.value, r.headers) for r in AWKWARD_RECORDS]


RING = list(CLIENTS)
CROSS = [
    pytest.param(p, c, id=f"{p}-to-{c}", marks=[pytest.mark.java] if "java" in (p, c) else [])
    for p, c in zip(RING, RING[1:] + RING[:1], strict=True)
    if c in GROUPLESS
]


@pytest.mark.parametrize(("producer_name", "consumer_name"), CROSS)
def test_cross_client(
    node: OdradekNode, topic: str, producer_name: str, consumer_name: str
) -> None:
    producer, consumer = require(producer_name), require(consumer_name)
    create_topic(node, topic, partitions=3)
    records = numbered_records(12, prefix=producer_name)
    producer.produce(node.bootstrap, topic, records)
    received = consumer.consume(node.bootstrap, topic, len(records))
    assert contents(received) == sent(records)


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_every_compression_with_librdkafka(node: OdradekNode, topic: str, compression: str) -> None:
    client = require("confluent-kafka")
    create_topic(node, topic)
    records = numbered_records(200)
    client.produce(
        node.bootstrap, topic, records, config={"compression.type": compression, "linger.ms": 20}
    )
    received = require("kafka-python").consume(node.bootstrap, topic, len(records))
    assert contents(received) == sent(records)


@pytest.mark.parametrize("compression", ["gzip", "snappy", "lz4", "zstd"])
def test_every_compression_with_kafka_python(
    node: OdradekNode, topic: str, compression: str
) -> None:
    client = require("kafka-python")
    create_topic(node, topic)
    records = numbered_records(100)
    client.produce(node.bootstrap, topic, records, config={"compression_type": compression})
    received = require("confluent-kafka").consume(node.bootstrap, topic, len(records))
    assert contents(received) == sent(records)


def test_one_mebibyte_values(node: OdradekNode, topic: str) -> None:
    client = require("confluent-kafka")
    # As on Kafka, a topic takes batches this large only when its max.message.bytes says so.
    create_topic(node, topic, config={"max.message.bytes": str(4 * 1024 * 1024)})
    records = [Record(key=b"big-%d" % i, value=bytes([i]) * (1024 * 1024)) for i in range(3)]
    client.produce(node.bootstrap, topic, records, config={"message.max.bytes": 2 * 1024 * 1024})
    received = client.consume(
        node.bootstrap, topic, len(records), config={"fetch.max.bytes": 8 * 1024 * 1024}
    )
    assert [r.value for r in received] == [r.value for r in records]


def test_idempotent_producer_with_retries_leaves_no_duplicates(
    node: OdradekNode, topic: str
) -> None:
    client = require("confluent-kafka")
    create_topic(node, topic, partitions=2)
    records = numbered_records(2000)
    client.produce(
        node.bootstrap,
        topic,
        records,
        config={
            "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 1,
            "batch.size": 2048,
        },
    )
    received = client.consume(node.bootstrap, topic, len(records))
    assert contents(received) == sent(records)


# --- Kafka's own tools ------------------------------------------------------------------


@pytest.fixture
def kafka_tools() -> None:
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.java
@pytest.mark.usefixtures("kafka_tools")
def test_topics_tool(node: OdradekNode, topic: str) -> None:
    common = ("--bootstrap-server", node.bootstrap)
    run_kafka_tool(
        "kafka-topics", *common, "--create", "--topic", topic, "--partitions", "3",
        "--replication-factor", "1",
    )  # fmt: skip
    listed = run_kafka_tool("kafka-topics", *common, "--list").stdout.decode().split()
    assert topic in listed
    described = run_kafka_tool(
        "kafka-topics", *common, "--describe", "--topic", topic
    ).stdout.decode()
    assert re.search(r"PartitionCount:\s*3\b", described)
    run_kafka_tool("kafka-topics", *common, "--alter", "--topic", topic, "--partitions", "5")
    described = run_kafka_tool(
        "kafka-topics", *common, "--describe", "--topic", topic
    ).stdout.decode()
    assert re.search(r"PartitionCount:\s*5\b", described)
    run_kafka_tool("kafka-topics", *common, "--delete", "--topic", topic)


@pytest.mark.java
@pytest.mark.usefixtures("kafka_tools")
def test_configs_tool(node: OdradekNode, topic: str) -> None:
    create_topic(node, topic)
    common = ("--bootstrap-server", node.bootstrap, "--entity-type", "topics")
    run_kafka_tool(
        "kafka-configs", *common, "--entity-name", topic, "--alter",
        "--add-config", "retention.ms=12345",
    )  # fmt: skip
    described = run_kafka_tool("kafka-configs", *common, "--entity-name", topic, "--describe")
    assert "retention.ms=12345" in described.stdout.decode()


@pytest.mark.java
@pytest.mark.usefixtures("kafka_tools")
def test_console_producer_and_consumer(node: OdradekNode, topic: str) -> None:
    create_topic(node, topic)
    lines = [f"line-{i}" for i in range(5)]
    run_kafka_tool(
        "kafka-console-producer", "--bootstrap-server", node.bootstrap, "--topic", topic,
        input="".join(line + "\n" for line in lines),
    )  # fmt: skip
    consumed = run_kafka_tool(
        "kafka-console-consumer", "--bootstrap-server", node.bootstrap, "--topic", topic,
        "--partition", "0", "--offset", "earliest", "--max-messages", str(len(lines)),
        "--timeout-ms", "30000",
    )  # fmt: skip
    assert consumed.stdout.decode().splitlines() == lines


@pytest.mark.parametrize(
    "client_name", client_params(*[name for name in GROUPLESS if name != "kcat"])
)
def test_empty_keys_and_values(node: OdradekNode, topic: str, client_name: str) -> None:
    # kcat reads an empty payload as null, so it sits this one out.
    client = require(client_name)
    create_topic(node, topic)
    records = [Record(key=b"", value=b""), Record(key=None, value=b""), Record(key=b"k", value=b"")]
    client.produce(node.bootstrap, topic, records)
    received = client.consume(node.bootstrap, topic, len(records))
    assert [r.content() for r in received] == [(r.key, r.value, r.headers) for r in records]
