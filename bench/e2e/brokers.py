"""The brokers under test, each a single node on free loopback ports in a scratch
directory: Odradek, Apache Kafka (KRaft combined mode, the layout of
shared/kafka-spec/docs/ops.html, "KRaft") and Tansu.

Each is started, waited for until it answers ApiVersions
(shared/kafka-spec/clients/ApiVersionsRequest.json), handed to the benchmark as a
`RunningBroker` (where clients connect, which process to measure) and stopped as an
operator would stop it. A broker that cannot run here says why in `unavailable()`; one
that fails to start raises, and the benchmark goes on without it.

Apache Kafka and Tansu are launched by the test harness (tests/support/kafka_reference.py,
tests/support/tansu.py) with a few settings a benchmark needs on top. Odradek is launched
here from its own command line: `odradek format` then `odradek start`, both with a Kafka
`server.properties`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes
from tests.support.cache import REPO_ROOT
from tests.support.kafka_reference import (
    kafka_reference,
    kafka_unavailable,
    kafka_version,
    new_cluster_id,
    write_properties,
)
from tests.support.probe import answers_api_versions, free_port
from tests.support.tansu import tansu_binary, tansu_broker, tansu_unavailable

HOST = "127.0.0.1"
START_TIMEOUT = 120.0
#: What the benchmark sets on top of a single node's configuration, for Kafka and Odradek
#: alike: a deleted topic's files go after a second rather than a minute, so that a long
#: run does not fill the disk with topics it is done with.
BENCH_SETTINGS = {
    "log.segment.delete.delay.ms": "1000",
    # Consumer-protocol members heartbeat as often as the group benchmark's classic
    # members do (heartbeat.interval.ms), rather than every 5 s.
    "group.consumer.heartbeat.interval.ms": "1000",
    "group.consumer.min.heartbeat.interval.ms": "1000",
}


@dataclass(frozen=True)
class RunningBroker:
    """A broker serving clients for the duration of a benchmark."""

    name: str
    version: str
    bootstrap: str
    #: The process whose memory and CPU time are charged to the broker.
    pid: int
    log_file: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the broker logged."""
        return processes.log_tail(self.log_file, lines)


class Broker(ABC):
    """One kind of broker the benchmark can start."""

    name: str

    @abstractmethod
    def unavailable(self) -> str | None:
        """Why this broker cannot run here, or None if it can."""

    @abstractmethod
    def run(self, workdir: Path) -> contextlib.AbstractContextManager[RunningBroker]:
        """Starts the broker with its files under `workdir` and stops it on exit.

        Raises `processes.NotReady` (with the tail of its log) if it does not come up.
        """


class Kafka(Broker):
    """Apache Kafka, a single combined node on the JVM."""

    name = "kafka"
    #: The heap kafka-server-start.sh gives a broker by default.
    heap = "1g"
    settings = BENCH_SETTINGS

    def unavailable(self) -> str | None:
        return kafka_unavailable()

    @contextlib.contextmanager
    def run(self, workdir: Path) -> Iterator[RunningBroker]:
        with kafka_reference(
            overrides=self.settings, workdir=workdir, heap=self.heap, start_timeout=START_TIMEOUT
        ) as broker:
            yield RunningBroker(
                name=self.name,
                version=f"Apache Kafka {kafka_version()}",
                bootstrap=broker.bootstrap,
                pid=broker.process.pid,
                log_file=broker.log_file,
            )


class Tansu(Broker):
    """Tansu, in Rust, with its memory storage engine (the only one its build carries)."""

    name = "tansu"

    def unavailable(self) -> str | None:
        return tansu_unavailable()

    @contextlib.contextmanager
    def run(self, workdir: Path) -> Iterator[RunningBroker]:
        with tansu_broker(workdir=workdir, start_timeout=START_TIMEOUT) as broker:
            yield RunningBroker(
                name=self.name,
                version=self._version(),
                bootstrap=broker.bootstrap,
                pid=broker.process.pid,
                log_file=broker.log_file,
            )

    @staticmethod
    def _version() -> str:
        result = processes.run([str(tansu_binary()), "--version"], timeout=10.0)
        return result.stdout.decode().strip() or "tansu"


def odradek_properties(
    *, host: str, port: int, controller_port: int, log_dir: Path
) -> dict[str, str]:
    """The `server.properties` of a single combined Odradek node on `host`."""
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "log.dirs": str(log_dir),
        # No metrics endpoint: nothing scrapes it during a benchmark.
        "odradek.metrics.listener": "",
        # One node: internal topics of one replica, as the embedded default has them.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        **BENCH_SETTINGS,
    }


class Odradek(Broker):
    """Odradek, this project's node, run from the checkout with the interpreter running the
    benchmark.

    With `cprofile_output`, the node runs under `python -m cProfile` and is stopped with
    SIGINT, whose KeyboardInterrupt unwinds through cProfile so that it writes its stats.
    """

    name = "odradek"
    cli_module = "odradek.node.cli"

    def __init__(self, *, cprofile_output: Path | None = None) -> None:
        self.cprofile_output = cprofile_output

    def unavailable(self) -> str | None:
        if importlib.util.find_spec(self.cli_module) is None:
            return f"{self.cli_module} not importable from {REPO_ROOT}"
        return None

    def _environment(self) -> dict[str, str]:
        # The checkout's code, whatever copy of the package is installed.
        path = os.environ.get("PYTHONPATH")
        return processes.environment(
            PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{path}" if path else str(REPO_ROOT)
        )

    def _cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", self.cli_module, *args]

    @contextlib.contextmanager
    def run(self, workdir: Path) -> Iterator[RunningBroker]:
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port(HOST)
        controller_port = free_port(HOST)
        while controller_port == port:
            controller_port = free_port(HOST)
        config = workdir / "server.properties"
        write_properties(
            config,
            odradek_properties(
                host=HOST, port=port, controller_port=controller_port, log_dir=workdir / "data"
            ),
        )
        env = self._environment()
        processes.run(
            self._cli("format", "--config", str(config), "--cluster-id", new_cluster_id()),
            timeout=START_TIMEOUT,
            env=env,
        )
        start = self._cli("start", "--config", str(config))
        if self.cprofile_output is not None:
            start[1:1] = ["-m", "cProfile", "-o", str(self.cprofile_output)]
        log_file = workdir / "odradek.log"
        process = processes.start_logged(start, log_file, env=env)
        try:
            processes.wait_until(
                lambda: answers_api_versions(HOST, port),
                timeout=START_TIMEOUT,
                what=f"odradek on {HOST}:{port}",
                process=process,
                log_path=log_file,
            )
            yield RunningBroker(
                name=self.name,
                version=f"Odradek {self._version()}",
                bootstrap=f"{HOST}:{port}",
                pid=process.pid,
                log_file=log_file,
            )
        finally:
            self._stop(process)

    @staticmethod
    def _version() -> str:
        import odradek

        return odradek.__version__

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        if self.cprofile_output is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30.0)
        processes.stop(process)


BROKERS: dict[str, type[Broker]] = {kind.name: kind for kind in (Odradek, Kafka, Tansu)}
