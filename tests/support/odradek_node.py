"""An Odradek node as a real process, for integration tests.

The same shape as :mod:`tests.support.kafka_reference`: a single combined node on free
loopback ports in a scratch directory, started with ``odradek start --config``, ready
once it answers ApiVersions. The node can be stopped with SIGTERM (a clean shutdown)
or SIGKILL and started again on the same directory, for restart tests.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import processes
from tests.support.kafka_reference import write_properties
from tests.support.probe import answers_api_versions, free_port


def node_properties(
    *, node_id: int, host: str, port: int, controller_port: int, log_dir: Path
) -> dict[str, str]:
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
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "odradek.metrics.listener": "",
    }


@dataclass
class OdradekNode:
    """A running (or stopped, between restarts) Odradek node."""

    host: str
    port: int
    controller_port: int
    workdir: Path
    log_dir: Path
    config: Path
    log_file: Path
    properties: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return processes.log_tail(self.log_file, lines)

    def start(self, timeout: float = 60.0) -> None:
        command = [sys.executable, "-m", "odradek.node.cli", "start", "--config", str(self.config)]
        self.process = processes.start_logged(command, self.log_file)
        self.starts += 1
        processes.wait_until(
            lambda: answers_api_versions(self.host, self.port),
            timeout=timeout,
            what=f"Odradek node on {self.bootstrap}",
            process=self.process,
            log_path=self.log_file,
        )

    def stop(self, grace: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit status."""
        assert self.process is not None
        status = processes.stop(self.process, grace=grace)
        self.process = None
        return status

    def kill(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        status = self.process.wait(timeout=10)
        self.process = None
        return status


@contextlib.contextmanager
def odradek_node(
    *,
    overrides: Mapping[str, str] | None = None,
    workdir: Path | None = None,
    host: str = "127.0.0.1",
    start: bool = True,
) -> Iterator[OdradekNode]:
    """Runs a single combined Odradek node for the duration of the ``with`` block."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="odradek-")))
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port(host)
        controller_port = free_port(host)
        while controller_port == port:
            controller_port = free_port(host)
        log_dir = workdir / "data"
        properties = node_properties(
            node_id=1, host=host, port=port, controller_port=controller_port, log_dir=log_dir
        )
        properties.update(overrides or {})
        config = workdir / "server.properties"
        write_properties(config, properties)
        processes.run(
            [sys.executable, "-m", "odradek.node.cli", "format", "--config", str(config)],
            timeout=60,
        )
        node = OdradekNode(
            host=host,
            port=port,
            controller_port=controller_port,
            workdir=workdir,
            log_dir=log_dir,
            config=config,
            log_file=workdir / "odradek.log",
            properties=properties,
        )

        def stop_if_running() -> None:
            if node.process is not None:
                node.stop()

        stack.callback(stop_if_running)
        if start:
            node.start()
        yield node
