"""Apache Kafka as a cluster of separate processes: controllers and brokers on loopback.

The multi-node counterpart of :mod:`tests.support.kafka_reference`, in the layout of
``shared/kafka-spec/docs/ops.html`` ("KRaft"): controllers with
``process.roles=controller`` forming the static quorum of ``controller.quorum.voters``,
brokers with ``process.roles=broker``. Each node is one JVM (``kafka.Kafka`` from the
Maven Central jars of tools/kafka/pom.xml) with its own ``server.properties`` and log
dir, all formatted with one cluster id by ``kafka-storage format``. Controllers are nodes
``1..N``, brokers ``N+1..N+M``, as in :mod:`tests.support.odradek_cluster`, so the two
can be driven alike.

A node is ready once its listener answers ApiVersions and it has logged that it started
(after its latest launch: the log file is appended to across restarts). Nodes can be
stopped (SIGTERM), killed (SIGKILL), paused and resumed, and launched again on the same
directory.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import processes
from tests.support.kafka_reference import (
    BROKER_JVM_OPTIONS,
    BROKER_LOG_CONFIG,
    SINGLE_NODE_SETTINGS,
    STARTED_LINE,
    java_command,
    new_cluster_id,
    run_kafka_tool,
    write_properties,
)
from tests.support.probe import answers_api_versions, free_ports

CONTROLLER_LISTENER = "CONTROLLER"
BROKER_LISTENER = "PLAINTEXT"
START_TIMEOUT = 120.0


@dataclass
class KafkaNode(processes.NodeProcess):
    """One Kafka process of the cluster, running or stopped."""

    node_id: int
    roles: str
    host: str
    port: int | None
    controller_port: int | None
    workdir: Path
    config: Path
    properties: Mapping[str, str]
    heap: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)
    _log_start: int = field(default=0, repr=False)

    @property
    def log_file(self) -> Path:
        return self.workdir / "kafka.log"

    def launch(self) -> None:
        self._log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        command = java_command(
            "kafka.Kafka",
            str(self.config),
            jvm_options=(f"-Xmx{self.heap}", *BROKER_JVM_OPTIONS),
            log_config=BROKER_LOG_CONFIG,
        )
        self.process = processes.start_logged(command, self.log_file)
        self.starts += 1

    def _started(self) -> bool:
        if not answers_api_versions(self.host, self.ready_port):
            return False
        with self.log_file.open("rb") as log:
            log.seek(self._log_start)
            return STARTED_LINE in log.read()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        assert self.process is not None
        processes.wait_until(
            self._started,
            timeout=timeout,
            what=f"Apache Kafka {self.roles} node {self.node_id} on {self.address}",
            process=self.process,
            log_path=self.log_file,
        )

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self.launch()
        self.wait_ready(timeout)


@dataclass
class KafkaCluster:
    cluster_id: str
    controllers: list[KafkaNode]
    brokers: list[KafkaNode]
    workdir: Path

    @property
    def nodes(self) -> list[KafkaNode]:
        return [*self.controllers, *self.brokers]

    def node(self, node_id: int) -> KafkaNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    @property
    def bootstrap(self) -> str:
        return ",".join(b.address for b in self.brokers if b.running)

    @property
    def bootstrap_controllers(self) -> str:
        return ",".join(c.address for c in self.controllers if c.running)


def controller_properties(
    *, node_id: int, host: str, controller_port: int, voters: str, log_dir: Path
) -> dict[str, str]:
    return {
        "process.roles": "controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"{CONTROLLER_LISTENER}://{host}:{controller_port}",
        "controller.listener.names": CONTROLLER_LISTENER,
        "listener.security.protocol.map": (
            f"{CONTROLLER_LISTENER}:PLAINTEXT,{BROKER_LISTENER}:PLAINTEXT"
        ),
        "log.dirs": str(log_dir),
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
        **SINGLE_NODE_SETTINGS,
    }


@contextlib.contextmanager
def kafka_cluster(
    *,
    controllers: int = 3,
    brokers: int = 1,
    overrides: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    heap: str = "512m",
    host: str = "127.0.0.1",
    start: bool = True,
) -> Iterator[KafkaCluster]:
    """Runs an Apache Kafka cluster for the duration of the ``with`` block.

    ``overrides`` go into every node's properties. With ``start`` every node is launched
    at once (the controllers need one another to elect a leader) and then awaited.
    """
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="odradek-kafka-"))
            )
        workdir.mkdir(parents=True, exist_ok=True)
        ports = free_ports(host, controllers + brokers)
        voters = ",".join(f"{i + 1}@{host}:{ports[i]}" for i in range(controllers))
        cluster = KafkaCluster(new_cluster_id(), [], [], workdir)
        for index in range(controllers + brokers):
            node_id = index + 1
            node_dir = workdir / f"node-{node_id}"
            node_dir.mkdir(parents=True, exist_ok=True)
            log_dir = node_dir / "data"
            is_controller = index < controllers
            if is_controller:
                properties = controller_properties(
                    node_id=node_id,
                    host=host,
                    controller_port=ports[index],
                    voters=voters,
                    log_dir=log_dir,
                )
            else:
                properties = broker_properties(
                    node_id=node_id, host=host, port=ports[index], voters=voters, log_dir=log_dir
                )
            properties.update(overrides or {})
            config = node_dir / "server.properties"
            write_properties(config, properties)
            run_kafka_tool(
                "kafka-storage", "format", "--cluster-id", cluster.cluster_id,
                "--config", str(config), timeout=START_TIMEOUT,
            )  # fmt: skip
            node = KafkaNode(
                node_id=node_id,
                roles="controller" if is_controller else "broker",
                host=host,
                port=None if is_controller else ports[index],
                controller_port=ports[index] if is_controller else None,
                workdir=node_dir,
                config=config,
                properties=properties,
                heap=heap,
            )
            (cluster.controllers if is_controller else cluster.brokers).append(node)

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
