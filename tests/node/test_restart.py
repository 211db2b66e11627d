"""Restarts under load: every acknowledged record is there afterwards.

A producer with acks=all keeps sending while the node is stopped -- cleanly with
SIGTERM, or abruptly with SIGKILL -- and started again on the same directories. The
records the producer saw acknowledged are then read back: all of them, each once, at
the offsets they were acknowledged with. Topics and their configs come back from the
metadata log.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.odradek_node import OdradekNode, odradek_node

confluent_kafka = pytest.importorskip("confluent_kafka")
admin_module = pytest.importorskip("confluent_kafka.admin")

pytestmark = pytest.mark.timeout(300)

TOPIC = "restarts"
PARTITIONS = 3


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    with odradek_node(workdir=tmp_path_factory.mktemp("odradek-restart")) as n:
        admin = admin_module.AdminClient({"bootstrap.servers": n.bootstrap})
        new = admin_module.NewTopic(TOPIC, PARTITIONS, 1, config={"retention.ms": "-1"})
        admin.create_topics([new])[TOPIC].result(30)
        yield n


class Load:
    """A producer thread that records every acknowledged (partition, offset, value)."""

    def __init__(self, node: OdradekNode) -> None:
        self.acked: dict[bytes, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": node.bootstrap,
                "acks": "all",
                "linger.ms": 2,
                "message.timeout.ms": 60_000,
                "reconnect.backoff.max.ms": 200,
            }
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._counter = 0
        # Values are unique across loads, so that reading the topic back tells them apart.
        self._prefix = uuid.uuid4().hex.encode()

    def _ack(self, err: object, msg: object) -> None:
        if err is None:
            self.acked[msg.value()] = (msg.partition(), msg.offset())  # type: ignore[attr-defined]

    def _run(self) -> None:
        while not self._stop.is_set():
            value = b"%s-%09d" % (self._prefix, self._counter)
            self._counter += 1
            try:
                self._producer.produce(TOPIC, value=value, on_delivery=self._ack)
            except BufferError:
                self._producer.poll(0.05)
                continue
            self._producer.poll(0)
            if self._counter % 100 == 0:
                time.sleep(0.005)
        self._producer.flush(60)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(90)


def read_all(node: OdradekNode) -> dict[bytes, tuple[int, int]]:
    """Every record of the topic, by value, with where it is; each value must appear once."""
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": node.bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    high = {}
    for p in range(PARTITIONS):
        _, high[p] = consumer.get_watermark_offsets(
            confluent_kafka.TopicPartition(TOPIC, p), timeout=30
        )
    consumer.assign([confluent_kafka.TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    seen: dict[bytes, tuple[int, int]] = {}
    position = dict.fromkeys(range(PARTITIONS), 0)
    deadline = time.monotonic() + 120
    while any(position[p] < high[p] for p in position) and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is None or msg.error():
            continue
        assert msg.value() not in seen, f"{msg.value()!r} read twice"
        seen[msg.value()] = (msg.partition(), msg.offset())
        position[msg.partition()] = msg.offset() + 1
    consumer.close()
    return seen


def check_acknowledged(node: OdradekNode, acked: dict[bytes, tuple[int, int]]) -> None:
    assert acked, "nothing was acknowledged: the load did not run"
    seen = read_all(node)
    missing = [v for v in acked if v not in seen]
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:3]}"
    moved = [v for v, where in acked.items() if seen[v] != where]
    assert not moved, f"{len(moved)} records are not where they were acknowledged"


def test_sigterm_under_load_keeps_every_acknowledged_record(node: OdradekNode) -> None:
    with Load(node) as load:
        time.sleep(2)
        assert node.stop() == 0
        node.start()
        time.sleep(1)
    check_acknowledged(node, load.acked)


def test_sigkill_under_load_keeps_every_acknowledged_record(node: OdradekNode) -> None:
    with Load(node) as load:
        time.sleep(2)
        node.kill()
        node.start()
        time.sleep(1)
    check_acknowledged(node, load.acked)


def test_topic_configs_survive_restarts(node: OdradekNode) -> None:
    admin = admin_module.AdminClient({"bootstrap.servers": node.bootstrap})
    node.kill()
    node.start()
    resource = admin_module.ConfigResource("topic", TOPIC)
    configs = admin.describe_configs([resource])[resource].result(30)
    assert configs["retention.ms"].value == "-1"
    metadata = admin.list_topics(TOPIC, timeout=30)
    assert len(metadata.topics[TOPIC].partitions) == PARTITIONS
