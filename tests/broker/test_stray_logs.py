"""Stray logs (KIP-858): logs on disk that the caught-up metadata does not give the broker.

A broker restarted after its topic was deleted, or its partition moved, without its
metadata log telling it (it is sent a snapshot of a later state) finds the old
partition directories. Once its image has caught up, each such log is renamed
``<topic>-<partition>.<uuid>-stray`` and no longer served, and kept on disk as Kafka
keeps it; a later start passes over it and deletes what a crash left ``-delete``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import trio

from odradek.broker.broker import Broker
from odradek.metadata import versions
from odradek.metadata.loader import MetadataLoader
from odradek.node.config import BrokerConfig
from odradek.node.quorum.metadata_listener import MetadataPublisher
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.storage.checkpoints import TopicPartition
from odradek.storage.log_manager import LogManager
from tests.broker.fakes import (
    CLUSTER_ID,
    Node,
    NullMetrics,
    broker_properties,
    make_broker,
)
from tests.broker.test_snapshot_load import snapshot_of


def stray_dirs(log_dir: Path, tp: TopicPartition) -> list[Path]:
    pattern = re.compile(rf"{re.escape(tp.topic)}-{tp.partition}\.[0-9a-f]{{32}}-stray")
    return [p for p in log_dir.iterdir() if pattern.fullmatch(p.name)]


def stop(node: Node) -> None:
    """The broker goes down: it hears nothing more, and its logs are closed cleanly."""
    node.controller.brokers.remove(node.broker)
    node.broker.logs.shutdown()


def delete_topic(node: Node, name: str) -> None:
    response = trio.run(
        node.controller.call, 20, 5, DeleteTopicsRequest(topic_names=[name], timeout_ms=1000)
    )
    assert [r.error_code for r in response.responses] == [0]


def restart(node: Node, log_dir: Path) -> Broker:
    """The broker starts again and is sent a snapshot of the controller's image."""
    logs = LogManager([log_dir], time_ms=lambda: node.clock[0], node_id=node.broker.node_id)
    logs.startup()
    broker = Broker(
        config=BrokerConfig.from_properties(broker_properties(log_dir)),
        cluster_id=CLUSTER_ID,
        logs=logs,
        controller=node.controller,
        metrics=NullMetrics(),
        supported_features={versions.FEATURE_NAME: (1, versions.LATEST_PRODUCTION)},
        time_ms=lambda: node.clock[0],
    )
    publisher = MetadataPublisher(broker.publish)
    publisher.loader = MetadataLoader()
    publisher.handle_load_snapshot(snapshot_of(node.controller.quorum.image))
    return broker


def test_logs_of_deleted_moved_and_unknown_topics_are_moved_aside(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    node = make_broker(tmp_path)
    node.controller.register(2, {"PLAINTEXT": ("localhost", 9093)})
    node.create_topic("gone", replicas=[[1], [1]])
    node.create_topic("kept", replicas=[[1]])
    node.create_topic("elsewhere", replicas=[[2]])
    node.produce("gone", 0, 3)
    node.produce("kept", 0, 2)
    elsewhere = node.broker.image.topics.get_by_name("elsewhere")
    assert elsewhere is not None
    # A replica of a partition that has since moved to broker 2, and a log that never
    # got a topic id.
    moved = node.broker.logs.get_or_create_log(
        TopicPartition("elsewhere", 0), topic_id=elsewhere.topic_id
    )
    orphan = node.broker.logs.get_or_create_log(TopicPartition("orphan", 0))
    assert moved.topic_id == elsewhere.topic_id
    assert orphan.topic_id is None

    stop(node)
    delete_topic(node, "gone")
    broker = restart(node, log_dir)

    # Before the image has caught up nothing is decided: the logs are only not served.
    assert (log_dir / "gone-0").is_dir()
    assert broker.replicas.get("gone", 0) is None
    strays = broker.handle_stray_logs()

    expected = [
        TopicPartition("elsewhere", 0),
        TopicPartition("gone", 0),
        TopicPartition("gone", 1),
        TopicPartition("orphan", 0),
    ]
    assert sorted(strays) == expected
    for tp in expected:
        assert broker.logs.get_log(tp) is None
        assert not (log_dir / tp.dir_name).exists()
        [moved_aside] = stray_dirs(log_dir, tp)
        assert any(moved_aside.glob("*.log")), "a stray log keeps its data"
    kept = broker.replicas.get("kept", 0)
    assert kept is not None
    assert kept.log.log_end_offset == 2
    assert broker.handle_stray_logs() == []

    # A later start passes over the stray directories and deletes a -delete one.
    broker.logs.shutdown()
    leftover = log_dir / f"kept-0.{uuid.uuid4().hex}-delete"
    leftover.mkdir()
    (leftover / "00000000000000000000.log").write_bytes(b"")
    logs = LogManager([log_dir], node_id=1)
    logs.startup()
    assert sorted(logs.logs) == [TopicPartition("kept", 0)]
    assert not leftover.exists()
    assert len(stray_dirs(log_dir, TopicPartition("gone", 0))) == 1
    logs.shutdown()


def test_a_recreated_topic_does_not_take_over_the_old_topics_log(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    node = make_broker(tmp_path)
    node.create_topic("reborn", 1)
    node.produce("reborn", 0, 5)
    old = node.broker.image.topics.get_by_name("reborn")
    assert old is not None

    stop(node)
    delete_topic(node, "reborn")
    created = trio.run(
        node.controller.call,
        19,
        7,
        CreateTopicsRequest(
            topics=[CreatableTopic(name="reborn", num_partitions=1, replication_factor=1)]
        ),
    )
    assert [t.error_code for t in created.topics] == [0]
    broker = restart(node, log_dir)

    # The image names reborn-0 with a new topic id: the old log went aside at once.
    new = broker.image.topics.get_by_name("reborn")
    assert new is not None
    assert new.topic_id != old.topic_id
    partition = broker.replicas.get("reborn", 0)
    assert partition is not None
    assert partition.log.topic_id == new.topic_id
    assert partition.log.log_end_offset == 0
    assert len(stray_dirs(log_dir, TopicPartition("reborn", 0))) == 1
    assert broker.handle_stray_logs() == []
    broker.logs.shutdown()
