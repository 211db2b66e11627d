"""A broker restarted with a deleted topic's log on disk moves it aside (KIP-858).

Kafka's motivating case: a log directory is offline while its topic is deleted, so the
broker cannot delete the replica; when the directory is back, the metadata the broker
starts from (its latest snapshot) no longer names the topic. A controller and a broker
run as processes; the broker snapshots its metadata at every commit. The topic's
partition directory is taken out of the broker's log dir while it is down, the topic is
deleted with the broker running, the directory is put back while it is down again, and
the restarted broker renames it ``<topic>-<partition>.<uuid>-stray`` without serving it.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from tests.support.odradek_cluster import (
    FAST_QUORUM,
    ClusterNode,
    odradek_cluster,
    request,
    topic_ids,
)

confluent_kafka = pytest.importorskip("confluent_kafka")

pytestmark = pytest.mark.timeout(300)

WAIT_S = 60.0


def wait_for(condition: Callable[[], bool], what: str, node: ClusterNode) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{node.log_tail()}"
        time.sleep(0.2)


def create_topic(broker: ClusterNode, name: str) -> None:
    assert broker.port is not None
    body = CreateTopicsRequest(
        topics=[CreatableTopic(name=name, num_partitions=1, replication_factor=1)],
        timeout_ms=30_000,
    )
    response = request(broker.host, broker.port, 19, 7, body, timeout=WAIT_S)
    assert [t.error_code for t in response.topics] == [0]
    wait_for(lambda: name in topic_ids(broker), f"{name} is not listed", broker)


def delete_topic(broker: ClusterNode, name: str) -> None:
    assert broker.port is not None
    body = DeleteTopicsRequest(topic_names=[name], timeout_ms=30_000)
    response = request(broker.host, broker.port, 20, 5, body, timeout=WAIT_S)
    assert [t.error_code for t in response.responses] == [0]
    wait_for(lambda: name not in topic_ids(broker), f"{name} is still listed", broker)


def snapshots(node: ClusterNode) -> set[str]:
    return {p.name for p in node.metadata_log_dir.glob("*.checkpoint")}


def test_a_deleted_topics_log_found_at_start_up_is_moved_aside(tmp_path: Path) -> None:
    overrides = {
        **FAST_QUORUM,
        "metadata.log.max.record.bytes.between.snapshots": "1",
        # A client still asking for the deleted topic must not bring it back.
        "auto.create.topics.enable": "false",
    }
    with odradek_cluster(controllers=1, brokers=1, overrides=overrides, workdir=tmp_path) as c:
        broker = c.node(2)
        create_topic(broker, "doomed")
        create_topic(broker, "kept")
        producer = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap})
        for i in range(5):
            producer.produce("doomed", value=b"old-%d" % i)
            producer.produce("kept", value=b"kept-%d" % i)
        assert producer.flush(30) == 0
        del producer

        # The directory holding doomed-0 goes offline while the broker is down.
        broker.stop()
        offline = tmp_path / "offline"
        offline.mkdir()
        shutil.move(broker.log_dir / "doomed-0", offline / "doomed-0")
        broker.start()
        delete_topic(broker, "doomed")
        # The broker's latest snapshot must be of a state without the topic: one more
        # commit makes it write a snapshot at least that late.
        after_delete = snapshots(broker)
        create_topic(broker, "later")
        wait_for(lambda: snapshots(broker) - after_delete != set(), "no new snapshot", broker)

        broker.stop()
        shutil.move(offline / "doomed-0", broker.log_dir / "doomed-0")
        broker.start()

        assert not (broker.log_dir / "doomed-0").exists()
        strays = [
            p
            for p in broker.log_dir.iterdir()
            if re.fullmatch(r"doomed-0\.[0-9a-f]{32}-stray", p.name)
        ]
        assert len(strays) == 1, sorted(p.name for p in broker.log_dir.iterdir())
        assert any(strays[0].glob("*.log")), "the stray log keeps its data"
        assert "stray log of doomed-0" in broker.log_tail(400)
        assert "doomed" not in topic_ids(broker)
        assert "kept" in topic_ids(broker)

        # The old data is not served, even under the same name again.
        create_topic(broker, "doomed")
        consumer = confluent_kafka.Consumer(
            {"bootstrap.servers": c.bootstrap, "group.id": "unused"}
        )
        tp = confluent_kafka.TopicPartition("doomed", 0)
        assert consumer.get_watermark_offsets(tp, timeout=30) == (0, 0)
        consumer.close()

        # And the next start passes over the stray directory.
        broker.stop()
        broker.start()
        assert strays[0].is_dir()
        assert "doomed" in topic_ids(broker)
