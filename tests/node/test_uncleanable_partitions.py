"""A node whose compaction meets a corrupt segment keeps serving and keeps compacting.

Three compacted topics; the oldest segment of one is corrupted on disk while the node
runs. The cleaner's pass over it fails: that partition is reported on
``kafka_log_logcleanermanager_uncleanable_partitions_count`` (Kafka's
``uncleanable-partitions-count``), the other two are compacted, and clients are served
throughout.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from odradek.storage.checkpoints import TopicPartition, read_offset_checkpoint
from tests.support.odradek_node import OdradekNode, odradek_node
from tests.support.probe import free_port

confluent_kafka = pytest.importorskip("confluent_kafka")
admin_module = pytest.importorskip("confluent_kafka.admin")

pytestmark = pytest.mark.timeout(300)

TOPICS = ["compacted-0", "compacted-1", "compacted-2"]
BAD = "compacted-1"
#: Long enough that no pass runs before the corruption is in place.
HOLD_MS = str(3_600_000)
WAIT_S = 120.0


def wait_for(condition: Callable[[], bool], what: str, node: OdradekNode) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert node.process is not None
        assert node.process.poll() is None, node.log_tail()
        assert time.monotonic() < deadline, f"{what}\n{node.log_tail()}"
        time.sleep(0.2)


def uncleanable(node: OdradekNode) -> float | None:
    url = f"http://{node.properties['odradek.metrics.listener']}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    match = re.search(
        r"kafka_log_logcleanermanager_uncleanable_partitions_count"
        rf'{{logdirectory="{re.escape(str(node.log_dir))}"}} (\S+)',
        text,
    )
    return None if match is None else float(match.group(1))


def cleaned(node: OdradekNode) -> dict[TopicPartition, int]:
    return read_offset_checkpoint(node.log_dir / "cleaner-offset-checkpoint")


def produce(node: OdradekNode, topics: list[str], rounds: int) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": node.bootstrap, "linger.ms": 5})
    value = b"v" * 1000
    for i in range(rounds):
        for topic in topics:
            producer.produce(topic, key=b"key-%d" % (i % 50), value=value)
        producer.poll(0)
    assert producer.flush(60) == 0


def test_a_corrupt_segment_makes_one_partition_uncleanable_not_the_node(tmp_path: Path) -> None:
    overrides = {
        "odradek.metrics.listener": f"127.0.0.1:{free_port()}",
        "log.cleaner.backoff.ms": "100",
    }
    with odradek_node(workdir=tmp_path, overrides=overrides) as node:
        admin = admin_module.AdminClient({"bootstrap.servers": node.bootstrap})
        config = {
            "cleanup.policy": "compact",
            "segment.bytes": str(1 << 20),
            "min.cleanable.dirty.ratio": "0.01",
            "min.compaction.lag.ms": HOLD_MS,
        }
        new = [admin_module.NewTopic(t, 1, 1, config=config) for t in TOPICS]
        for future in admin.create_topics(new).values():
            future.result(30)
        # Over 1 MiB each: every partition rolls and has an inactive segment to clean.
        produce(node, TOPICS, 1_300)
        assert uncleanable(node) == 0

        segment = node.log_dir / f"{BAD}-0" / "00000000000000000000.log"
        fd = os.open(segment, os.O_RDWR)
        try:
            # Inside the first batch's records, its length field kept: the segment can
            # still be walked, but its records no longer decode.
            os.pwrite(fd, b"\xff" * 12, 61)
        finally:
            os.close(fd)
        resources = [
            admin_module.ConfigResource(
                admin_module.ResourceType.TOPIC,
                t,
                incremental_configs=[
                    admin_module.ConfigEntry(
                        "min.compaction.lag.ms",
                        "0",
                        incremental_operation=admin_module.AlterConfigOpType.SET,
                    )
                ],
            )
            for t in TOPICS
        ]
        for future in admin.incremental_alter_configs(resources).values():
            future.result(30)

        good = {TopicPartition(t, 0) for t in TOPICS if t != BAD}
        wait_for(lambda: uncleanable(node) == 1, "the bad partition is not reported", node)
        wait_for(lambda: good <= set(cleaned(node)), "the good partitions are not cleaned", node)
        assert TopicPartition(BAD, 0) not in cleaned(node)
        assert "marking it uncleanable" in node.log_tail(400)

        # Still serving, the bad partition included.
        produce(node, TOPICS, 10)
        assert node.process is not None
        assert node.process.poll() is None
        assert uncleanable(node) == 1
