"""Listeners on port 0: a node advertises the ports it was actually bound to.

Kafka binds a listener configured with port 0 before the node registers and puts the
port it got in the registration (``ListenerInfo.withEphemeralPortsCorrected``): the
controller's ``ControllerRegistration`` and the broker's ``BrokerRegistration``. A real
combined node with ``PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0`` must therefore
show its bound ports in DescribeCluster on either listener and in Metadata.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.metadata_request import MetadataRequest
from tests.support import processes
from tests.support.kafka_reference import write_properties
from tests.support.odradek_cluster import request
from tests.support.odradek_node import node_properties
from tests.support.probe import free_port

pytestmark = pytest.mark.timeout(180)

HOST = "127.0.0.1"
METADATA = 3
DESCRIBE_CLUSTER = 60
BROKERS, CONTROLLERS = 1, 2
#: Far above what the node needs; only a broken node waits this long.
WAIT_S = 60.0
_LISTENING = re.compile(r"listening on (\w+)://[\d.]+:(\d+)")


@dataclass(frozen=True)
class EphemeralNode:
    """A running node and the ports its listeners were bound to, by listener name."""

    bound: dict[str, int]
    log_file: Path


def _bound_ports(log_file: Path) -> dict[str, int]:
    """The ports the node's log says each listener was bound to, once it serves."""
    text = log_file.read_text(errors="replace")
    if " is serving" not in text:
        return {}
    return {name: int(port) for name, port in _LISTENING.findall(text)}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EphemeralNode]:
    workdir = tmp_path_factory.mktemp("ephemeral")
    properties = node_properties(
        node_id=1, host=HOST, port=0, controller_port=0, log_dir=workdir / "data"
    )
    # The only voter: its quorum address is never dialled, the listeners say port 0.
    properties["controller.quorum.voters"] = f"1@{HOST}:{free_port(HOST)}"
    # Advertised as the listeners are, port 0 included.
    del properties["advertised.listeners"]
    config = workdir / "server.properties"
    write_properties(config, properties)
    cli = [sys.executable, "-m", "odradek.node.cli"]
    processes.run([*cli, "format", "--config", str(config)], timeout=60)
    log_file = workdir / "odradek.log"
    process = processes.start_logged([*cli, "start", "--config", str(config)], log_file)
    try:
        processes.wait_until(
            lambda: bool(_bound_ports(log_file)),
            timeout=WAIT_S,
            what="a node with port 0 listeners",
            process=process,
            log_path=log_file,
        )
        yield EphemeralNode(_bound_ports(log_file), log_file)
    finally:
        processes.stop(process)


def _describe(port: int, endpoint_type: int) -> list[tuple[int, str, int]]:
    response = request(
        HOST, port, DESCRIBE_CLUSTER, 1, DescribeClusterRequest(endpoint_type=endpoint_type)
    )
    assert response.error_code == 0, response.error_message
    return [(b.broker_id, b.host, b.port) for b in response.brokers]


def test_both_listeners_were_bound_to_real_ports(node: EphemeralNode) -> None:
    assert set(node.bound) == {"PLAINTEXT", "CONTROLLER"}
    assert all(port > 0 for port in node.bound.values())


def test_the_controller_registers_its_bound_port(node: EphemeralNode) -> None:
    port = node.bound["CONTROLLER"]
    # Registration is committed a little after the node starts serving.
    processes.wait_until(
        lambda: bool(_describe(port, CONTROLLERS)),
        timeout=WAIT_S,
        what="the controller's registration",
        log_path=node.log_file,
    )
    assert _describe(port, CONTROLLERS) == [(1, HOST, port)]


def test_the_broker_registers_its_bound_port(node: EphemeralNode) -> None:
    port = node.bound["PLAINTEXT"]
    assert _describe(port, BROKERS) == [(1, HOST, port)]
    metadata = request(HOST, port, METADATA, 12, MetadataRequest(topics=[]))
    assert [(b.node_id, b.host, b.port) for b in metadata.brokers] == [(1, HOST, port)]
