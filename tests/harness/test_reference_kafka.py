"""The reference-broker harness, proven against Apache Kafka and Tansu.

Integration tests compare Odradek with these brokers through unmodified clients, so the
harness itself must be right first: each reference broker starts on loopback, Kafka's own
tools run against it (topics, console producer and consumer, configs, consumer groups,
metadata quorum, and the log dump tool on the segment files,
shared/kafka-spec/docs/implementation.html "Log"), and every client helper produces and
consumes, alone, in a consumer group and across clients.

One broker of each kind serves the whole module; each test works in topics of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.support import tansu as tansu_support
from tests.support.clients import CLIENTS, client_params, require
from tests.support.kafka_reference import (
    KafkaReference,
    kafka_reference,
    kafka_unavailable,
    kafka_version,
    run_kafka_tool,
)
from tests.support.probe import api_versions
from tests.support.processes import ProcessFailed
from tests.support.records import ConsumedRecord, ConsumeTimeout, Record, numbered_records

# Each client produces and the next one consumes, so every client is seen from another.
RING = list(CLIENTS)
CROSS_PAIRS = [
    pytest.param(
        producer,
        consumer,
        id=f"{producer}-to-{consumer}",
        marks=[pytest.mark.java] if "java" in (producer, consumer) else [],
    )
    for producer, consumer in zip(RING, RING[1:] + RING[:1], strict=True)
]


# Known incompatibilities of the Tansu build in use, as strict expected failures: the
# day one goes away, its test fails and the entry must go.
TANSU_INCOMPATIBLE = {
    "kcat": (
        "kcat's librdkafka 2.0.2 (Debian) cannot parse Tansu's ApiVersions v3 response "
        "(read underflow in its tagged fields); confluent-kafka's newer librdkafka can"
    ),
}


def on_tansu(params: list[Any]) -> list[Any]:
    """`params` with the ones naming a client incompatible with Tansu marked xfail."""
    marked = []
    for param in params:
        reasons = [TANSU_INCOMPATIBLE[name] for name in param.values if name in TANSU_INCOMPATIBLE]
        xfail = [pytest.mark.xfail(strict=True, raises=ProcessFailed, reason=r) for r in reasons]
        marked.append(pytest.param(*param.values, id=param.id, marks=[*param.marks, *xfail]))
    return marked


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaReference]:
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with kafka_reference(workdir=tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tansu_support.TansuBroker]:
    reason = tansu_support.tansu_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with tansu_support.tansu_broker(workdir=tmp_path_factory.mktemp("tansu")) as broker:
        yield broker


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name of this test's own (legal in Kafka: [a-zA-Z0-9._-], at most 249)."""
    base = re.sub(r"[^a-zA-Z0-9._-]+", "-", request.node.name).strip("-")
    return f"{base[:200]}-{uuid.uuid4().hex[:8]}"


def create_topic(kafka: KafkaReference, topic: str, *, partitions: int = 1) -> None:
    run_kafka_tool(
        "kafka-topics",
        "--bootstrap-server", kafka.bootstrap,
        "--create", "--topic", topic,
        "--partitions", str(partitions), "--replication-factor", "1",
    )  # fmt: skip


def contents(received: Sequence[ConsumedRecord]) -> list[tuple[object, ...]]:
    return sorted(record.content() for record in received)


def sent_contents(records: Sequence[Record]) -> list[tuple[object, ...]]:
    return sorted((record.key, record.value, record.headers) for record in records)


def assert_offsets_dense(received: Sequence[ConsumedRecord]) -> None:
    """Each partition's offsets run 0, 1, 2, ... in the order they were consumed."""
    by_partition: dict[int, list[int]] = {}
    for record in received:
        by_partition.setdefault(record.partition, []).append(record.offset)
    for offsets in by_partition.values():
        assert offsets == list(range(len(offsets)))


# --- Apache Kafka -------------------------------------------------------------------


@pytest.mark.java
def test_kafka_answers_api_versions(kafka: KafkaReference) -> None:
    ranges = api_versions(kafka.host, kafka.port)
    produce_key, api_versions_key = 0, 18
    assert produce_key in ranges
    assert ranges[api_versions_key][0] == 0


@pytest.mark.java
def test_kafka_log_dir_is_formatted_with_the_cluster_id(kafka: KafkaReference) -> None:
    meta = (kafka.log_dir / "meta.properties").read_text().splitlines()
    assert f"cluster.id={kafka.cluster_id}" in meta
    assert f"node.id={kafka.node_id}" in meta


@pytest.mark.java
def test_metadata_quorum_tool_sees_one_voter(kafka: KafkaReference) -> None:
    output = run_kafka_tool(
        "kafka-metadata-quorum", "--bootstrap-server", kafka.bootstrap, "describe", "--status"
    ).stdout.decode()
    fields = dict(re.findall(r"^(\w+):\s+(.*)$", output, re.MULTILINE))
    assert fields["ClusterId"] == kafka.cluster_id
    assert fields["LeaderId"] == str(kafka.node_id)


@pytest.mark.java
def test_topics_tool_creates_and_describes(kafka: KafkaReference, topic: str) -> None:
    create_topic(kafka, topic, partitions=3)
    listed = run_kafka_tool("kafka-topics", "--bootstrap-server", kafka.bootstrap, "--list")
    assert topic in listed.stdout.decode().split()
    described = run_kafka_tool(
        "kafka-topics", "--bootstrap-server", kafka.bootstrap, "--describe", "--topic", topic
    ).stdout.decode()
    assert re.search(r"PartitionCount:\s*3\b", described)


@pytest.mark.java
def test_configs_tool_alters_a_topic_config(kafka: KafkaReference, topic: str) -> None:
    create_topic(kafka, topic)
    common = ("--bootstrap-server", kafka.bootstrap, "--entity-type", "topics")
    run_kafka_tool(
        "kafka-configs",
        *common,
        "--entity-name",
        topic,
        "--alter",
        "--add-config",
        "retention.ms=12345",
    )
    described = run_kafka_tool("kafka-configs", *common, "--entity-name", topic, "--describe")
    assert "retention.ms=12345" in described.stdout.decode()


@pytest.mark.java
def test_console_producer_and_consumer(kafka: KafkaReference, topic: str) -> None:
    create_topic(kafka, topic)
    lines = [f"line-{index}" for index in range(5)]
    run_kafka_tool(
        "kafka-console-producer",
        "--bootstrap-server", kafka.bootstrap, "--topic", topic,
        input="".join(line + "\n" for line in lines),
    )  # fmt: skip
    consumed = run_kafka_tool(
        "kafka-console-consumer",
        "--bootstrap-server", kafka.bootstrap, "--topic", topic,
        "--from-beginning", "--max-messages", str(len(lines)), "--timeout-ms", "30000",
    )  # fmt: skip
    assert consumed.stdout.decode().splitlines() == lines


@pytest.mark.java
def test_dump_log_segments_reads_what_a_client_wrote(kafka: KafkaReference, topic: str) -> None:
    create_topic(kafka, topic)
    records = numbered_records(4)
    require("confluent-kafka").produce(kafka.bootstrap, topic, records)
    segment = kafka.partition_dir(topic, 0) / "00000000000000000000.log"
    dumped_text = run_kafka_tool(
        "kafka-dump-log", "--files", str(segment), "--print-data-log"
    ).stdout.decode()
    dumped = [
        dict(re.findall(r"(\w+): (\S+)", line))
        for line in dumped_text.splitlines()
        if line.startswith("| offset:")
    ]
    assert [fields["offset"] for fields in dumped] == ["0", "1", "2", "3"]
    assert [fields["payload"] for fields in dumped] == [f"record-value-{i}" for i in range(4)]
    assert {fields["headerKeys"] for fields in dumped} == {"[index]"}


@pytest.mark.parametrize("client_name", client_params())
@pytest.mark.java
def test_kafka_round_trip(kafka: KafkaReference, topic: str, client_name: str) -> None:
    client = require(client_name)
    create_topic(kafka, topic)
    records = numbered_records(5)
    client.produce(kafka.bootstrap, topic, records)
    received = client.consume(kafka.bootstrap, topic, len(records))
    assert [record.content() for record in received] == [
        (record.key, record.value, record.headers) for record in records
    ]
    assert [record.offset for record in received] == list(range(len(records)))
    assert {record.topic for record in received} == {topic}


# What a client must carry through untouched: any byte (kcat's delimiters 0x1E and 0x1F
# aside), null keys, null values (tombstones) and repeated header names.
AWKWARD_RECORDS = [
    Record(key=None, value=bytes(b for b in range(256) if b not in (0x1E, 0x1F))),
    Record(key=b"tombstone", value=None),
    Record(key=b"\x00\xff\n", value=b"x", headers=(("h", b"first"), ("h", b"second"))),
]


@pytest.mark.parametrize("client_name", client_params())
@pytest.mark.java
def test_kafka_round_trip_of_awkward_records(
    kafka: KafkaReference, topic: str, client_name: str
) -> None:
    client = require(client_name)
    create_topic(kafka, topic)
    client.produce(kafka.bootstrap, topic, AWKWARD_RECORDS)
    received = client.consume(kafka.bootstrap, topic, len(AWKWARD_RECORDS))
    assert [record.content() for record in received] == [
        (record.key, record.value, record.headers) for record in AWKWARD_RECORDS
    ]


@pytest.mark.parametrize(("producer_name", "consumer_name"), CROSS_PAIRS)
@pytest.mark.java
def test_kafka_cross_client(
    kafka: KafkaReference, topic: str, producer_name: str, consumer_name: str
) -> None:
    producer, consumer = require(producer_name), require(consumer_name)
    create_topic(kafka, topic, partitions=3)
    records = numbered_records(12, prefix=producer_name)
    producer.produce(kafka.bootstrap, topic, records)
    received = consumer.consume(kafka.bootstrap, topic, len(records))
    assert contents(received) == sent_contents(records)
    assert_offsets_dense(received)


@pytest.mark.parametrize("client_name", client_params())
@pytest.mark.java
def test_kafka_group_commit_is_seen_by_the_groups_tool(
    kafka: KafkaReference, topic: str, client_name: str
) -> None:
    client = require(client_name)
    create_topic(kafka, topic)
    records = numbered_records(3)
    require("confluent-kafka").produce(kafka.bootstrap, topic, records)
    group = f"group-{topic}"
    received = client.consume(kafka.bootstrap, topic, len(records), group=group)
    assert contents(received) == sent_contents(records)
    described = run_kafka_tool(
        "kafka-consumer-groups",
        "--bootstrap-server",
        kafka.bootstrap,
        "--describe",
        "--group",
        group,
    ).stdout.decode()
    rows = [line.split() for line in described.splitlines() if topic in line.split()]
    header = next(line.split() for line in described.splitlines() if "CURRENT-OFFSET" in line)
    assert [row[header.index("CURRENT-OFFSET")] for row in rows] == [str(len(records))]


@pytest.mark.parametrize("client_name", client_params())
@pytest.mark.java
def test_kafka_consume_times_out_with_what_it_got(
    kafka: KafkaReference, topic: str, client_name: str
) -> None:
    client = require(client_name)
    create_topic(kafka, topic)
    records = numbered_records(2)
    require("confluent-kafka").produce(kafka.bootstrap, topic, records)
    with pytest.raises(ConsumeTimeout) as timed_out:
        client.consume(kafka.bootstrap, topic, len(records) + 1, timeout=3.0)
    assert contents(timed_out.value.received) == sent_contents(records)
    assert timed_out.value.client == client_name


@pytest.mark.java
def test_kafka_version_is_the_pinned_one(kafka: KafkaReference) -> None:
    assert f"Kafka version: {kafka_version()}" in kafka.log_file.read_text()


# --- Tansu --------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", on_tansu(client_params()))
def test_tansu_round_trip(tansu: tansu_support.TansuBroker, topic: str, client_name: str) -> None:
    client = require(client_name)
    tansu_support.create_topic(tansu, topic, partitions=1)
    records = numbered_records(5)
    client.produce(tansu.bootstrap, topic, records)
    received = client.consume(tansu.bootstrap, topic, len(records))
    assert [record.content() for record in received] == [
        (record.key, record.value, record.headers) for record in records
    ]
    assert [record.offset for record in received] == list(range(len(records)))


@pytest.mark.parametrize(("producer_name", "consumer_name"), on_tansu(CROSS_PAIRS))
def test_tansu_cross_client(
    tansu: tansu_support.TansuBroker, topic: str, producer_name: str, consumer_name: str
) -> None:
    producer, consumer = require(producer_name), require(consumer_name)
    tansu_support.create_topic(tansu, topic, partitions=3)
    records = numbered_records(12, prefix=producer_name)
    producer.produce(tansu.bootstrap, topic, records)
    received = consumer.consume(tansu.bootstrap, topic, len(records))
    assert contents(received) == sent_contents(records)
    assert_offsets_dense(received)
