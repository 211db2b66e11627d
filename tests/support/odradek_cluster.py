"""An Odradek cluster as real processes: controllers and brokers on loopback.

The layout of ``docs/ops.html`` ("KRaft", "Deploying Considerations"): controllers with
``process.roles=controller`` forming the quorum named by ``controller.quorum.voters``,
and brokers with ``process.roles=broker`` that follow the metadata log and register
with the active controller. Every node is its own ``odradek start --config`` process in
a directory of its own, all formatted with one cluster id; controllers are nodes
``1..N``, brokers ``N+1..N+M``; with ``combined`` the controllers serve clients too.

A node can be stopped cleanly (SIGTERM), killed (SIGKILL), paused (SIGSTOP) and resumed
(SIGCONT), and started again on the same directory. A controller is ready once its
controller listener answers ApiVersions, a broker once its client listener does (a
broker opens it only when the controller has unfenced it).

:data:`FAST_QUORUM` shortens the quorum's and the brokers' timeouts, so that failures
are noticed in about a second rather than Kafka's default several.

To watch the cluster, :func:`quorum_status` asks the controllers DescribeQuorum (the
leader answers; the others name it), and :func:`registered_brokers` asks a broker's
Metadata for the brokers clients can see -- registered and not fenced.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odradek.protocol.framing import encode_request, read_response
from odradek.protocol.messages.clients import APIS
from odradek.protocol.messages.clients.metadata_request import MetadataRequest
from odradek.raft.messages import DescribeQuorumResponse, describe_quorum_request
from tests.support import processes
from tests.support.kafka_reference import new_cluster_id, write_properties
from tests.support.probe import answers_api_versions, free_ports, recv_exactly

#: Timeouts for tests: elections within about a second, brokers fenced within three.
FAST_QUORUM: dict[str, str] = {
    "controller.quorum.election.timeout.ms": "500",
    "controller.quorum.fetch.timeout.ms": "1000",
    "controller.quorum.election.backoff.max.ms": "500",
    "controller.quorum.request.timeout.ms": "1000",
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
}

CONTROLLER_LISTENER = "CONTROLLER"
BROKER_LISTENER = "PLAINTEXT"


@dataclass
class ClusterNode(processes.NodeProcess):
    """One node of the cluster, running or stopped."""

    node_id: int
    roles: str
    host: str
    #: The client listener's port (brokers), or None.
    port: int | None
    #: The controller listener's port (controllers), or None.
    controller_port: int | None
    workdir: Path
    config: Path
    properties: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def log_file(self) -> Path:
        return self.workdir / "odradek.log"

    @property
    def log_dir(self) -> Path:
        return Path(self.properties["log.dirs"])

    @property
    def metadata_log_dir(self) -> Path:
        return self.log_dir / "__cluster_metadata-0"

    def launch(self) -> None:
        """Start the process without waiting for it to be ready."""
        command = [sys.executable, "-m", "odradek.node.cli", "start", "--config", str(self.config)]
        self.process = processes.start_logged(command, self.log_file)
        self.starts += 1

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.process is not None
        processes.wait_until(
            lambda: answers_api_versions(self.host, self.ready_port),
            timeout=timeout,
            what=f"Odradek {self.roles} node {self.node_id} on {self.address}",
            process=self.process,
            log_path=self.log_file,
        )


@dataclass
class OdradekCluster:
    cluster_id: str
    nodes: list[ClusterNode]
    workdir: Path

    @property
    def controllers(self) -> list[ClusterNode]:
        """The voters (combined nodes included)."""
        return [n for n in self.nodes if n.is_controller]

    @property
    def brokers(self) -> list[ClusterNode]:
        """The nodes serving clients (combined nodes included)."""
        return [n for n in self.nodes if n.is_broker]

    def node(self, node_id: int) -> ClusterNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    @property
    def bootstrap(self) -> str:
        """The running brokers' client listeners, for clients."""
        return ",".join(b.address for b in self.brokers if b.running)

    @property
    def bootstrap_controllers(self) -> str:
        """The running controllers' controller listeners, for ``--bootstrap-controller``."""
        return ",".join(f"{c.host}:{c.controller_port}" for c in self.controllers if c.running)

    @property
    def voters(self) -> str:
        return ",".join(f"{c.node_id}@{c.host}:{c.controller_port}" for c in self.controllers)

    def log_tails(self, lines: int = 15) -> str:
        return "\n".join(
            f"--- node {n.node_id} ({n.roles}) ---\n{n.log_tail(lines)}" for n in self.nodes
        )


def combined_properties(
    *, node_id: int, host: str, port: int, controller_port: int, voters: str, log_dir: Path
) -> dict[str, str]:
    properties = broker_properties(
        node_id=node_id, host=host, port=port, voters=voters, log_dir=log_dir
    )
    properties.update(
        {
            "process.roles": "broker,controller",
            "listeners": (
                f"{BROKER_LISTENER}://{host}:{port},"
                f"{CONTROLLER_LISTENER}://{host}:{controller_port}"
            ),
        }
    )
    return properties


def controller_properties(
    *, node_id: int, host: str, controller_port: int, voters: str, log_dir: Path
) -> dict[str, str]:
    return {
        "process.roles": "controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"{CONTROLLER_LISTENER}://{host}:{controller_port}",
        "controller.listener.names": CONTROLLER_LISTENER,
        "listener.security.protocol.map": f"{CONTROLLER_LISTENER}:PLAINTEXT",
        "log.dirs": str(log_dir),
        "odradek.metrics.listener": "",
    }


def broker_properties(
    *, node_id: int, host: str, port: int, voters: str, log_dir: Path
) -> dict[str, str]:
    return {
        "process.roles": "broker",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"{BROKER_LISTENER}://{host}:{port}",
        "advertised.listeners": f"{BROKER_LISTENER}://{host}:{port}",
        "controller.listener.names": CONTROLLER_LISTENER,
        "inter.broker.listener.name": BROKER_LISTENER,
        "listener.security.protocol.map": (
            f"{CONTROLLER_LISTENER}:PLAINTEXT,{BROKER_LISTENER}:PLAINTEXT"
        ),
        "log.dirs": str(log_dir),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "odradek.metrics.listener": "",
    }


@contextlib.contextmanager
def odradek_cluster(
    *,
    controllers: int = 3,
    brokers: int = 3,
    combined: bool = False,
    overrides: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    host: str = "127.0.0.1",
    start: bool = True,
) -> Iterator[OdradekCluster]:
    """Runs an Odradek cluster for the duration of the ``with`` block.

    With ``combined`` the controllers are brokers too (``process.roles=broker,controller``).
    ``overrides`` go into every node's properties (:data:`FAST_QUORUM` is a good start).
    With ``start``, every node is launched at once (a quorum needs a majority of its
    voters to elect a leader, so none can wait for the others) and then awaited.
    """
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="odradek-")))
        workdir.mkdir(parents=True, exist_ok=True)
        count = controllers + brokers
        # Controllers' controller listeners first, then client listeners.
        ports = free_ports(host, 2 * count)
        voters = ",".join(f"{i + 1}@{host}:{ports[i]}" for i in range(controllers))
        cluster = OdradekCluster(new_cluster_id(), [], workdir)
        for index in range(count):
            node_id = index + 1
            node_dir = workdir / f"node-{node_id}"
            node_dir.mkdir(parents=True, exist_ok=True)
            log_dir = node_dir / "data"
            is_controller = index < controllers
            roles = "broker"
            client_port: int | None = ports[count + index]
            if is_controller and combined:
                roles = "broker,controller"
                properties = combined_properties(
                    node_id=node_id,
                    host=host,
                    port=ports[count + index],
                    controller_port=ports[index],
                    voters=voters,
                    log_dir=log_dir,
                )
            elif is_controller:
                roles = "controller"
                client_port = None
                properties = controller_properties(
                    node_id=node_id,
                    host=host,
                    controller_port=ports[index],
                    voters=voters,
                    log_dir=log_dir,
                )
            else:
                properties = broker_properties(
                    node_id=node_id,
                    host=host,
                    port=ports[count + index],
                    voters=voters,
                    log_dir=log_dir,
                )
            properties.update(overrides or {})
            config = node_dir / "server.properties"
            write_properties(config, properties)
            processes.run(
                [
                    sys.executable, "-m", "odradek.node.cli", "format",
                    "--config", str(config), "--cluster-id", cluster.cluster_id,
                ],
                timeout=60,
            )  # fmt: skip
            node = ClusterNode(
                node_id=node_id,
                roles=roles,
                host=host,
                port=client_port,
                controller_port=ports[index] if is_controller else None,
                workdir=node_dir,
                config=config,
                properties=properties,
            )
            cluster.nodes.append(node)

        def stop_all() -> None:
            for node in reversed(cluster.nodes):
                if node.process is not None:
                    node.stop()

        stack.callback(stop_all)
        if start:
            for node in cluster.nodes:
                node.launch()
            for node in cluster.nodes:
                node.wait_ready()
        yield cluster


def request(host: str, port: int, api_key: int, version: int, body: Any, timeout: float = 5) -> Any:
    """Send one request on a fresh connection and return the decoded response body."""
    api = APIS[api_key]
    frame = b"".join(bytes(part) for part in encode_request(api, version, 1, "odradek-test", body))
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(frame)
        (size,) = struct.unpack(">i", recv_exactly(sock, 4))
        data = recv_exactly(sock, size)
    return read_response(api, version, memoryview(data))[1]


@dataclass(frozen=True)
class QuorumStatus:
    """What the leader of the metadata log says of the quorum."""

    leader_id: int
    epoch: int
    high_watermark: int
    #: Voter id -> the log end offset the leader knows for it.
    voters: Mapping[int, int]
    #: Observer (broker) id -> the log end offset the leader knows for it.
    observers: Mapping[int, int]


def quorum_status(cluster: OdradekCluster) -> QuorumStatus | None:
    """The leader's DescribeQuorum answer, or None if no running controller leads."""
    for controller in cluster.controllers:
        if not controller.running or controller.controller_port is None:
            continue
        try:
            response = request(
                controller.host, controller.controller_port, 55, 1, describe_quorum_request()
            )
        except OSError:
            continue
        assert isinstance(response, DescribeQuorumResponse)
        if response.error_code or not response.topics:
            continue
        partition = response.topics[0].partitions[0]
        if partition.error_code == 0:
            return QuorumStatus(
                leader_id=partition.leader_id,
                epoch=partition.leader_epoch,
                high_watermark=partition.high_watermark,
                voters={r.replica_id: r.log_end_offset for r in partition.current_voters},
                observers={r.replica_id: r.log_end_offset for r in partition.observers},
            )
    return None


def registered_brokers(broker: ClusterNode) -> set[int]:
    """The brokers ``broker``'s Metadata lists: registered and unfenced."""
    assert broker.port is not None
    response = request(broker.host, broker.port, 3, 12, MetadataRequest(topics=[]))
    return {b.node_id for b in response.brokers}


def topic_ids(broker: ClusterNode) -> dict[str, uuid.UUID]:
    """The topics ``broker``'s Metadata lists, with their ids."""
    assert broker.port is not None
    response = request(broker.host, broker.port, 3, 12, MetadataRequest(topics=None))
    return {t.name: t.topic_id for t in response.topics if t.name is not None}
