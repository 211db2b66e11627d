"""The KRaft quorum in real processes: three controllers, three brokers, and faults.

Each test runs a cluster of separate ``odradek start`` processes on loopback
(:mod:`tests.support.odradek_cluster`): controllers with ``process.roles=controller``
forming the quorum, brokers with ``process.roles=broker`` following the metadata log as
observers. The faults are an operator's: SIGKILL, SIGSTOP and SIGCONT, SIGTERM. What is
checked is what the quorum promises (``docs/ops.html``, "KRaft"; KIP-595, KIP-996):

* when the active controller dies, another is elected, nothing committed is lost, and
  topics can still be created;
* a controller stopped for a while and resumed catches up without deposing the leader
  (pre-vote);
* a broker that stops heartbeating is fenced, and unfenced when it comes back;
* every node can be restarted and the metadata is still there, and a replica that lost
  its log is sent a snapshot (FetchSnapshot, KIP-630);
* Kafka's own ``kafka-metadata-quorum`` describes the quorum, and ``kafka-dump-log``
  reads the metadata log, where Java and Kafka's jars are present.

Every wait is bounded; the timeouts of :data:`FAST_QUORUM` keep them short.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from tests.support import processes
from tests.support.kafka_reference import kafka_unavailable, run_kafka_tool
from tests.support.odradek_cluster import (
    FAST_QUORUM,
    ClusterNode,
    OdradekCluster,
    QuorumStatus,
    odradek_cluster,
    quorum_status,
    registered_brokers,
    request,
    topic_ids,
)

pytestmark = pytest.mark.timeout(300)

#: How long any one thing the cluster must do may take before the test gives up.
WAIT_S = 60.0

needs_kafka = pytest.mark.skipif(kafka_unavailable() is not None, reason=str(kafka_unavailable()))


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[OdradekCluster]:
    with odradek_cluster(workdir=tmp_path / "cluster", overrides=FAST_QUORUM) as c:
        yield c


def wait_for(cluster: OdradekCluster, condition: object, what: str) -> None:
    assert callable(condition)
    try:
        processes.wait_until(condition, timeout=WAIT_S, what=what)
    except processes.NotReady as e:
        raise AssertionError(f"{e}\n{cluster.log_tails()}") from None


def status(cluster: OdradekCluster) -> QuorumStatus:
    found: list[QuorumStatus] = []

    def led() -> bool:
        current = quorum_status(cluster)
        if current is not None:
            found.append(current)
        return current is not None

    wait_for(cluster, led, "a leader of the metadata log")
    return found[-1]


def caught_up(cluster: OdradekCluster, node: ClusterNode) -> bool:
    """Whether the leader counts ``node`` as holding the whole committed log."""
    current = quorum_status(cluster)
    if current is None:
        return False
    replicas = {**current.voters, **current.observers}
    return replicas.get(node.node_id, -1) >= current.high_watermark


def controllers_described(cluster: OdradekCluster) -> bool:
    """Whether DescribeCluster on a controller names every controller."""
    controller = cluster.controllers[0]
    assert controller.controller_port is not None
    described = request(
        controller.host,
        controller.controller_port,
        60,
        1,
        DescribeClusterRequest(endpoint_type=2),
    )
    return {b.broker_id for b in described.brokers} == {c.node_id for c in cluster.controllers}


def create_topic(cluster: OdradekCluster, name: str, partitions: int = 3) -> uuid.UUID:
    """CreateTopics through a running broker, which forwards it to the active controller.

    The answer comes once the topic is committed; brokers learn of it a little later.
    """
    broker = next(b for b in cluster.brokers if b.running)
    assert broker.port is not None
    body = CreateTopicsRequest(
        topics=[CreatableTopic(name=name, num_partitions=partitions, replication_factor=1)],
        timeout_ms=30_000,
    )
    response = request(broker.host, broker.port, 19, 7, body, timeout=WAIT_S)
    (result,) = response.topics
    assert result.error_code == 0, (
        f"creating {name}: error {result.error_code} {result.error_message}"
    )
    topic_id: uuid.UUID = result.topic_id
    return topic_id


def topics_everywhere(cluster: OdradekCluster, expected: dict[str, uuid.UUID]) -> bool:
    """Whether every running broker serves exactly these topic ids for these names."""
    for broker in cluster.brokers:
        if broker.running:
            ids = topic_ids(broker)
            if any(ids.get(name) != topic_id for name, topic_id in expected.items()):
                return False
    return True


def test_killing_the_active_controller_elects_another_and_loses_nothing(
    cluster: OdradekCluster,
) -> None:
    ids = {"before": create_topic(cluster, "before")}
    wait_for(cluster, lambda: topics_everywhere(cluster, ids), "the topic on every broker")
    before = status(cluster)
    old_leader = cluster.node(before.leader_id)

    old_leader.kill()
    # A new leader knows its high watermark only once a record of its own epoch commits.
    wait_for(
        cluster,
        lambda: (
            (s := quorum_status(cluster)) is not None
            and s.leader_id != old_leader.node_id
            and s.high_watermark >= before.high_watermark
        ),
        "a new leader, with everything committed before, after SIGKILL of the active controller",
    )
    after = status(cluster)
    assert after.epoch > before.epoch
    assert after.high_watermark >= before.high_watermark

    ids["after"] = create_topic(cluster, "after")
    wait_for(cluster, lambda: topics_everywhere(cluster, ids), "both topics on every broker")

    # The killed controller comes back as a follower and catches up.
    old_leader.start()
    wait_for(cluster, lambda: caught_up(cluster, old_leader), "the old leader to catch up")


def test_a_paused_controller_rejoins_without_disturbing_the_quorum(
    cluster: OdradekCluster,
) -> None:
    before = status(cluster)
    follower = next(c for c in cluster.controllers if c.node_id != before.leader_id)

    log_before = follower.log_file.stat().st_size
    follower.pause()
    # Two voters of three are a majority: the quorum goes on committing without it.
    create_topic(cluster, "while-paused")
    wait_for(
        cluster,
        lambda: (
            (s := quorum_status(cluster)) is not None
            and s.voters[follower.node_id] < s.high_watermark
        ),
        "the leader to commit past the paused controller",
    )
    # Stopped for longer than its fetch timeout, it wakes up to a leader it has not heard
    # from: it asks for a pre-vote, which the others refuse, as they hear from the leader.
    time.sleep(2 * int(FAST_QUORUM["controller.quorum.fetch.timeout.ms"]) / 1000)
    follower.resume()
    wait_for(cluster, lambda: caught_up(cluster, follower), "the resumed controller to catch up")
    create_topic(cluster, "after-resume")
    wait_for(cluster, lambda: caught_up(cluster, follower), "the resumed controller to follow")

    after = status(cluster)
    assert (after.leader_id, after.epoch) == (before.leader_id, before.epoch)
    with follower.log_file.open("rb") as log:
        log.seek(log_before)
        woke = log.read().decode()
    assert "Candidate" not in woke, woke


def test_a_killed_broker_is_fenced_then_unfenced_when_it_returns(
    cluster: OdradekCluster,
) -> None:
    watcher, victim = cluster.brokers[0], cluster.brokers[1]
    everyone = {b.node_id for b in cluster.brokers}
    wait_for(cluster, lambda: registered_brokers(watcher) == everyone, "every broker unfenced")

    victim.kill()
    wait_for(
        cluster,
        lambda: registered_brokers(watcher) == everyone - {victim.node_id},
        "the killed broker to be fenced",
    )
    victim.start()
    wait_for(cluster, lambda: registered_brokers(watcher) == everyone, "the broker unfenced")


def test_every_node_restarts_with_the_metadata_intact(cluster: OdradekCluster) -> None:
    ids = {"durable": create_topic(cluster, "durable", partitions=5)}
    wait_for(cluster, lambda: topics_everywhere(cluster, ids), "the topic on every broker")
    for node in reversed(cluster.nodes):
        assert node.stop() == 0, node.log_tail()
    for node in cluster.nodes:
        node.launch()
    for node in cluster.nodes:
        node.wait_ready()
    wait_for(cluster, lambda: topics_everywhere(cluster, ids), "the topics after restarting")
    create_topic(cluster, "after-restart")


def test_a_leader_stopped_cleanly_hands_over(cluster: OdradekCluster) -> None:
    before = status(cluster)
    leader = cluster.node(before.leader_id)
    assert leader.stop() == 0, leader.log_tail()
    wait_for(
        cluster,
        lambda: (s := quorum_status(cluster)) is not None and s.epoch > before.epoch,
        "a new leader after the old one resigned",
    )
    create_topic(cluster, "after-handover")


@needs_kafka
def test_kafka_metadata_quorum_describes_the_controllers(cluster: OdradekCluster) -> None:
    current = status(cluster)
    # --bootstrap-controller finds the controllers by DescribeCluster, which names only
    # those whose registration is committed.
    wait_for(cluster, lambda: controllers_described(cluster), "every controller registered")
    for bootstrap in (
        ("--bootstrap-controller", cluster.bootstrap_controllers),
        ("--bootstrap-server", cluster.bootstrap),
    ):
        described = run_kafka_tool("kafka-metadata-quorum", *bootstrap, "describe", "--status")
        lines = dict(
            line.split(":", 1) for line in described.stdout.decode().splitlines() if ":" in line
        )
        assert lines["ClusterId"].strip() == cluster.cluster_id
        assert int(lines["LeaderId"]) == current.leader_id
        voters = json.loads(lines["CurrentVoters"])
        assert {v["id"] for v in voters} == {c.node_id for c in cluster.controllers}
        assert all(v["endpoints"] for v in voters)

    replication = run_kafka_tool(
        "kafka-metadata-quorum",
        "--bootstrap-controller",
        cluster.bootstrap_controllers,
        "describe",
        "--replication",
    )
    rows = [line.split() for line in replication.stdout.decode().splitlines()[1:] if line.strip()]
    statuses = {int(row[0]): row[-1] for row in rows}
    assert statuses[current.leader_id] == "Leader"
    assert {n for n, s in statuses.items() if s == "Follower"} == {
        c.node_id for c in cluster.controllers if c.node_id != current.leader_id
    }
    assert {n for n, s in statuses.items() if s == "Observer"} == {
        b.node_id for b in cluster.brokers
    }


@needs_kafka
def test_kafka_dump_log_reads_the_metadata_log(cluster: OdradekCluster) -> None:
    create_topic(cluster, "dumped")
    controller = cluster.controllers[0]
    wait_for(cluster, lambda: caught_up(cluster, controller), "the controller to catch up")
    segment = controller.metadata_log_dir / "00000000000000000000.log"
    dumped = run_kafka_tool("kafka-dump-log", "--cluster-metadata-decoder", "--files", str(segment))
    lines = dumped.stdout.decode().splitlines()
    # The control record each leader writes first, then the metadata records.
    leader_changes = [
        json.loads(line.split("LeaderChange: ", 1)[1]) for line in lines if "LeaderChange: " in line
    ]
    assert leader_changes
    assert {v["voterId"] for v in leader_changes[0]["voters"]} == {
        c.node_id for c in cluster.controllers
    }
    payloads = [json.loads(line.split("payload: ", 1)[1]) for line in lines if "payload: " in line]
    assert "FEATURE_LEVEL_RECORD" in [p["type"] for p in payloads]
    assert {p["data"]["brokerId"] for p in payloads if p["type"] == "REGISTER_BROKER_RECORD"} == {
        b.node_id for b in cluster.brokers
    }
    (topic,) = [p["data"] for p in payloads if p["type"] == "TOPIC_RECORD"]
    assert topic["name"] == "dumped"
    partitions = [p["data"] for p in payloads if p["type"] == "PARTITION_RECORD"]
    assert sorted(p["partitionId"] for p in partitions) == [0, 1, 2]


def test_an_empty_replica_is_brought_up_to_date_from_a_snapshot(tmp_path: Path) -> None:
    # A snapshot after every committed batch: the leader has one for any newcomer.
    overrides = {**FAST_QUORUM, "metadata.log.max.record.bytes.between.snapshots": "1"}
    with odradek_cluster(workdir=tmp_path / "cluster", overrides=overrides) as cluster:
        ids = {"snapshotted": create_topic(cluster, "snapshotted")}
        wait_for(cluster, lambda: topics_everywhere(cluster, ids), "the topic on every broker")
        for node in cluster.nodes:
            assert list(node.metadata_log_dir.glob("*.checkpoint")), node.log_tail()

        # A broker that lost its metadata log starts from the leader's latest snapshot.
        broker = cluster.brokers[0]
        assert broker.stop() == 0, broker.log_tail()
        shutil.rmtree(broker.metadata_log_dir)
        broker.start()
        wait_for(cluster, lambda: topics_everywhere(cluster, ids), "the topic after the snapshot")
        assert "loading snapshot" in broker.log_file.read_text()

        # Kafka's dump tool reads the snapshot as it reads the log.
        if kafka_unavailable() is None:
            latest = _copy_of_latest_snapshot(
                cluster.controllers[0].metadata_log_dir, tmp_path / "snapshot"
            )
            dumped = run_kafka_tool(
                "kafka-dump-log", "--cluster-metadata-decoder", "--files", str(latest)
            ).stdout.decode()
            assert "SnapshotHeader" in dumped
            assert '"name":"snapshotted"' in dumped


def _copy_of_latest_snapshot(log_dir: Path, into: Path) -> Path:
    """A copy of the newest ``.checkpoint``: the node deletes older snapshots as it makes
    new ones, so the file the tool would read may vanish under it."""
    into.mkdir(parents=True, exist_ok=True)
    for _ in range(20):
        latest = max(log_dir.glob("*.checkpoint"))
        try:
            return Path(shutil.copy2(latest, into / latest.name))
        except FileNotFoundError:
            time.sleep(0.1)
    raise AssertionError(f"no snapshot of {log_dir} stayed long enough to be copied")


def test_three_combined_nodes_fail_over(tmp_path: Path) -> None:
    # Each node is a broker and a controller: a broker reaches the active controller at
    # home when it is its own, over the controller listener otherwise.
    with odradek_cluster(
        controllers=3, brokers=0, combined=True, workdir=tmp_path / "cluster", overrides=FAST_QUORUM
    ) as cluster:
        ids = {"combined": create_topic(cluster, "combined")}
        wait_for(cluster, lambda: topics_everywhere(cluster, ids), "the topic on every node")
        before = status(cluster)
        cluster.node(before.leader_id).kill()
        wait_for(
            cluster,
            lambda: (s := quorum_status(cluster)) is not None and s.epoch > before.epoch,
            "a new leader among the combined nodes",
        )
        ids["after"] = create_topic(cluster, "after")
        wait_for(cluster, lambda: topics_everywhere(cluster, ids), "both topics on the others")
