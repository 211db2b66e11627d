"""Apache Kafka itself, as the reference broker for tests, and its command-line tools.

A single node in KRaft combined mode (`process.roles=broker,controller`, the layout of
shared/kafka-spec/docs/ops.html, "KRaft"), on free loopback ports in a scratch
directory: write `server.properties`, format the log dir with the storage tool
(`kafka-storage format`, which writes `meta.properties` and the bootstrap metadata),
start `kafka.Kafka`, and wait until it answers ApiVersions and logs that it has started.

The jars come from Maven Central through tools/kafka/pom.xml, whose `kafka.version` is the
one version named anywhere; tools/kafka/fetch.sh lays them out in the cache. Kafka's
bin/*.sh scripts are not on Maven Central, so the tools are run as what those scripts
run: `java -cp <jars> <main class>` (`KAFKA_TOOLS` maps script names to main classes for
the version in the pom).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.support import processes
from tests.support.cache import INSTALL_HINT, TOOLS_DIR, cache_root
from tests.support.probe import answers_api_versions, free_port

POM = TOOLS_DIR / "kafka" / "pom.xml"
BROKER_LOG_CONFIG = TOOLS_DIR / "kafka" / "log4j2.properties"
TOOLS_LOG_CONFIG = TOOLS_DIR / "kafka" / "tools-log4j2.properties"

# Script name (as in Kafka's bin/) -> main class, for Apache Kafka 4.x.
KAFKA_TOOLS: dict[str, str] = {
    "kafka-acls": "org.apache.kafka.tools.AclCommand",
    "kafka-broker-api-versions": "org.apache.kafka.tools.BrokerApiVersionsCommand",
    "kafka-cluster": "org.apache.kafka.tools.ClusterTool",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-delete-records": "org.apache.kafka.tools.DeleteRecordsCommand",
    "kafka-dump-log": "org.apache.kafka.tools.DumpLogSegments",
    "kafka-features": "org.apache.kafka.tools.FeatureCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-groups": "org.apache.kafka.tools.GroupsCommand",
    "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "kafka-storage": "kafka.tools.StorageTool",
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
}

# Short-lived tools start faster with the client compiler only and a serial collector.
TOOL_JVM_OPTIONS = ("-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
BROKER_JVM_OPTIONS = ("-Xms256m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")

# Kafka's defaults assume three brokers and a three-second wait for group members;
# a single test node needs replication factor 1 for its internal topics and no wait.
SINGLE_NODE_SETTINGS: dict[str, str] = {
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
}

STARTED_LINE = b"Kafka Server started"


@cache
def kafka_version() -> str:
    """The Apache Kafka version named by tools/kafka/pom.xml."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = (
        ElementTree.parse(POM).getroot().findtext("m:properties/m:kafka.version", None, namespace)
    )
    if not version:
        raise ValueError(f"{POM} has no <kafka.version> property")
    return version


def kafka_home() -> Path:
    """The cache directory tools/kafka/fetch.sh fills for this version."""
    return cache_root() / f"kafka-{kafka_version()}"


def kafka_classpath() -> str | None:
    """The jars of tools/kafka/pom.xml joined by ':', or None if they are not fetched for
    the pom as it is now."""
    home = kafka_home()
    try:
        fetched_for = (home / "pom.sha256").read_text().strip()
        classpath = (home / "classpath").read_text().strip()
    except FileNotFoundError:
        return None
    if fetched_for != hashlib.sha256(POM.read_bytes()).hexdigest():
        return None
    return classpath


def kafka_unavailable() -> str | None:
    """Why Apache Kafka cannot be run here, or None if it can."""
    if shutil.which("java") is None:
        return f"java not installed: Apache Kafka {kafka_version()} needs Java 17+"
    if kafka_classpath() is None:
        return f"Apache Kafka {kafka_version()} jars not in {kafka_home()}: {INSTALL_HINT}"
    return None


def java_command(
    main_class: str,
    *args: str,
    jvm_options: Sequence[str] = TOOL_JVM_OPTIONS,
    log_config: Path = TOOLS_LOG_CONFIG,
    extra_classpath: Sequence[Path] = (),
) -> list[str]:
    """The command line that runs `main_class` with Kafka's jars on the classpath."""
    classpath = kafka_classpath()
    if classpath is None:
        raise RuntimeError(f"Apache Kafka {kafka_version()} jars not fetched: {INSTALL_HINT}")
    full_classpath = ":".join([classpath, *map(str, extra_classpath)])
    return [
        "java",
        *jvm_options,
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log_config}",
        "-cp",
        full_classpath,
        main_class,
        *args,
    ]


def run_kafka_tool(
    tool: str,
    *args: str,
    timeout: float = 60.0,
    input: str | None = None,
    ok_statuses: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[bytes]:
    """Runs one of Kafka's command-line tools, by script name (`kafka-topics`, see
    `KAFKA_TOOLS`) or by main class, and returns its output.

    Raises `processes.ProcessFailed` when the exit status is not in `ok_statuses`.
    """
    main_class = KAFKA_TOOLS.get(tool, tool)
    return processes.run(
        java_command(main_class, *args),
        timeout=timeout,
        input=input.encode() if input is not None else None,
        ok_statuses=ok_statuses,
    )


def new_cluster_id() -> str:
    """A random cluster id in the form of Kafka's Uuid.toString: 16 bytes, base64url
    without padding, never starting with '-' (which the tools would take for a flag)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class KafkaReference:
    """A running single-node Apache Kafka."""

    host: str
    port: int
    controller_port: int
    node_id: int
    cluster_id: str
    workdir: Path
    log_dir: Path
    log_file: Path
    properties: Mapping[str, str]
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        """The `host:port` clients bootstrap from."""
        return f"{self.host}:{self.port}"

    def partition_dir(self, topic: str, partition: int) -> Path:
        """Where the broker keeps a partition's segments."""
        return self.log_dir / f"{topic}-{partition}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the broker logged."""
        return processes.log_tail(self.log_file, lines)


def server_properties(
    *, node_id: int, host: str, port: int, controller_port: int, log_dir: Path
) -> dict[str, str]:
    """The configuration of one combined broker-and-controller node on `host`."""
    return {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": f"{node_id}@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        **SINGLE_NODE_SETTINGS,
    }


def write_properties(path: Path, properties: Mapping[str, str]) -> None:
    """Writes a Java properties file (values here never need escaping beyond backslashes)."""
    lines = [f"{key}={value.replace(chr(92), chr(92) * 2)}" for key, value in properties.items()]
    path.write_text("\n".join(lines) + "\n")


@contextlib.contextmanager
def kafka_reference(
    *,
    overrides: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    heap: str = "512m",
    start_timeout: float = 120.0,
    host: str = "127.0.0.1",
) -> Iterator[KafkaReference]:
    """Runs a single-node Apache Kafka for the duration of the `with` block.

    `overrides` replace or add server properties. Without `workdir`, a temporary
    directory holds the config, the log dir and `kafka.log` (the broker's console) and
    is removed afterwards. Raises `processes.NotReady` with the log's tail if the broker
    exits or is not ready within `start_timeout` seconds.
    """
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="odradek-kafka-"))
            )
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port(host)
        controller_port = free_port(host)
        while controller_port == port:
            controller_port = free_port(host)
        properties = server_properties(
            node_id=1,
            host=host,
            port=port,
            controller_port=controller_port,
            log_dir=workdir / "data",
        )
        properties.update(overrides or {})
        log_dir = Path(properties["log.dirs"].split(",")[0])
        config = workdir / "server.properties"
        write_properties(config, properties)
        cluster_id = new_cluster_id()
        run_kafka_tool(
            "kafka-storage", "format", "--cluster-id", cluster_id, "--config", str(config),
            timeout=start_timeout,
        )  # fmt: skip

        log_file = workdir / "kafka.log"
        command = java_command(
            "kafka.Kafka",
            str(config),
            jvm_options=(f"-Xmx{heap}", *BROKER_JVM_OPTIONS),
            log_config=BROKER_LOG_CONFIG,
        )
        process = processes.start_logged(command, log_file)
        stack.callback(processes.stop, process)
        broker = KafkaReference(
            host=host,
            port=port,
            controller_port=controller_port,
            node_id=1,
            cluster_id=cluster_id,
            workdir=workdir,
            log_dir=log_dir,
            log_file=log_file,
            properties=properties,
            process=process,
        )

        def ready() -> bool:
            return answers_api_versions(host, port) and STARTED_LINE in log_file.read_bytes()

        processes.wait_until(
            ready,
            timeout=start_timeout,
            what=f"Apache Kafka {kafka_version()} on {broker.bootstrap}",
            process=process,
            log_path=log_file,
        )
        yield broker
