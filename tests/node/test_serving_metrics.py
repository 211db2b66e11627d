"""A serving node's process-level state on ``/metrics``: frozen start-up objects, and
per-topic series that go away with their topic."""

from __future__ import annotations

import gc
import re
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from odradek.node.metrics import Metrics
from odradek.node.server import freeze_startup_objects
from tests.support import processes
from tests.support.odradek_node import OdradekNode, odradek_node
from tests.support.probe import free_port

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    overrides = {"odradek.metrics.listener": f"127.0.0.1:{free_port()}"}
    with odradek_node(workdir=tmp_path_factory.mktemp("odradek"), overrides=overrides) as n:
        yield n


def _scrape(node: OdradekNode) -> str:
    url = f"http://{node.properties['odradek.metrics.listener']}/metrics"
    text: str = urllib.request.urlopen(url, timeout=10).read().decode()
    return text


def _frozen(text: str) -> float | None:
    match = re.search(r"^python_gc_frozen_objects (\S+)$", text, re.MULTILINE)
    return None if match is None else float(match.group(1))


def _topic_series(text: str, topic: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if not line.startswith("#") and f'topic="{topic}"' in line
    ]


def test_freeze_startup_objects_moves_live_objects_to_the_permanent_generation() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    survivor = [object() for _ in range(10)]
    assert id(survivor) in {id(o) for o in gc.get_objects()}
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        # Frozen objects are in no generation the collector walks.
        assert id(survivor) not in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()


def test_metrics_report_the_frozen_count() -> None:
    gc.unfreeze()
    try:
        assert _frozen(Metrics().render().decode()) == 0
        gc.freeze()
        frozen = _frozen(Metrics().render().decode())
        assert frozen is not None
        assert frozen == gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_forget_topic_drops_its_series_and_a_new_topic_starts_at_zero() -> None:
    metrics = Metrics()
    metrics.record_produce("gone", 100, 4)
    metrics.record_fetch("gone", 50)
    metrics.record_produce("kept", 10, 1)
    assert len(_topic_series(metrics.render().decode(), "gone")) >= 3
    metrics.forget_topic("gone")
    metrics.forget_topic("never-seen")
    text = metrics.render().decode()
    assert _topic_series(text, "gone") == []
    assert _topic_series(text, "kept") != []
    metrics.record_produce("gone", 7, 1)
    match = re.search(
        r'kafka_server_brokertopicmetrics_bytesin_total\{topic="gone"\} (\S+)',
        metrics.render().decode(),
    )
    assert match is not None
    assert float(match.group(1)) == 7


def test_started_node_has_frozen_its_startup_objects(node: OdradekNode) -> None:
    # A new process starts with nothing frozen: only the node's start-up freezes anything.
    processes.wait_until(
        lambda: (_frozen(_scrape(node)) or 0) > 0,
        timeout=30,
        what="a frozen start-up on /metrics",
        process=node.process,
        log_path=node.log_file,
    )


def test_deleted_topic_series_leave_metrics(node: OdradekNode) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    admin_mod = pytest.importorskip("confluent_kafka.admin")
    name = f"metrics-{uuid.uuid4().hex[:10]}"
    group = f"group-{uuid.uuid4().hex[:10]}"
    admin = admin_mod.AdminClient({"bootstrap.servers": node.bootstrap})
    admin.create_topics([admin_mod.NewTopic(name, num_partitions=2, replication_factor=1)])[
        name
    ].result(30)
    producer = confluent_kafka.Producer({"bootstrap.servers": node.bootstrap})
    for i in range(10):
        producer.produce(name, value=b"v%d" % i, partition=i % 2)
    assert producer.flush(30) == 0
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": node.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        # Commit below the end so that the group has a lag in both partitions.
        consumer.commit(
            offsets=[confluent_kafka.TopicPartition(name, p, 1) for p in (0, 1)],
            asynchronous=False,
        )
        consumer.assign([confluent_kafka.TopicPartition(name, 0, 0)])
        message = consumer.poll(30)
        assert message is not None
        assert message.error() is None
    finally:
        consumer.close()

    def all_series_present() -> bool:
        text = _scrape(node)
        return all(
            re.search(rf'^{metric}\{{[^}}]*topic="{name}"', text, re.MULTILINE)
            for metric in (
                "kafka_server_brokertopicmetrics_bytesin_total",
                "kafka_server_brokertopicmetrics_messagesin_total",
                "kafka_server_brokertopicmetrics_bytesout_total",
                "kafka_consumergroup_lag",
                "kafka_consumergroup_current_offset",
            )
        )

    processes.wait_until(all_series_present, timeout=30, what=f"the series of {name}")
    admin.delete_topics([name])[name].result(30)
    processes.wait_until(
        lambda: _topic_series(_scrape(node), name) == [],
        timeout=30,
        what=f"no series of the deleted {name}",
        process=node.process,
        log_path=node.log_file,
    )
