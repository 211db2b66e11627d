"""Controllers register in the metadata log (KIP-919): the manager alone, and real clusters.

The manager (:mod:`odradek.node.controller_registration`) is driven in-process with a
scripted active controller and virtual time: when it sends, what it sends, and when it
holds back. Real clusters then show every controller's ``RegisterControllerRecord`` in
the metadata log (read by Kafka's ``kafka-dump-log``), in DescribeCluster on the
controller listener -- through which Kafka's ``kafka-metadata-quorum`` and
``kafka-features`` find the controllers -- and again with a new incarnation after a
restart.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from odradek.controller.features import bootstrap_records, supported_features
from odradek.metadata.cluster import ControllerRegistration, Endpoint, VersionRange
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.node.controller_registration import (
    BACKOFF_MAX_S,
    ControllerRegistrationManager,
    backoff_s,
    registration_of,
)
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.controller_registration_response import (
    ControllerRegistrationResponse,
)
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.describe_cluster_response import DescribeClusterResponse
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from tests.controller.support import replay
from tests.support import processes
from tests.support.kafka_reference import kafka_unavailable, run_kafka_tool
from tests.support.odradek_cluster import FAST_QUORUM, OdradekCluster, odradek_cluster, request

ME = 2
INCARNATION = uuid.UUID(int=7)
LISTENER = Endpoint(name="CONTROLLER", host="10.0.0.2", port=9093, security_protocol=0)
WANTED = registration_of(ME, INCARNATION, [LISTENER], {"metadata.version": VersionRange(1, 21)})
DESCRIBE_CLUSTER = 60
CONTROLLERS = 2
#: How long a real cluster gets to show what a test waits for.
WAIT_S = 60.0

needs_kafka = pytest.mark.skipif(kafka_unavailable() is not None, reason=str(kafka_unavailable()))


def image_at(level: int, *registrations: ControllerRegistration) -> MetadataImage:
    """A committed image at ``metadata.version`` ``level`` holding ``registrations``."""
    records = [*bootstrap_records(level), *(r.to_record() for r in registrations)]
    return replay(EMPTY_IMAGE, records)


class ScriptedController:
    """The active controller, answering each request with the next scripted answer."""

    def __init__(self) -> None:
        self.requests: list[ControllerRegistrationRequest] = []
        self.answers: list[ControllerRegistrationResponse | KafkaError] = []

    async def call(self, api_key: int, api_version: int, request: Any) -> Any:
        assert (api_key, api_version) == (70, 0)
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else ControllerRegistrationResponse()
        if isinstance(answer, KafkaError):
            raise answer
        return answer


class Harness:
    """A manager, its committed image and its active controller."""

    def __init__(self, image: MetadataImage | None) -> None:
        self.image = image
        self.controller = ScriptedController()
        self.manager = ControllerRegistrationManager(
            WANTED, lambda: self.image, self.controller, rng=random.Random(0)
        )

    async def news(self, image: MetadataImage | None) -> None:
        """The log moved on to ``image``; returns once the manager has acted on it."""
        self.image = image
        self.manager.handle_leader_change(1, 1)
        await trio.testing.wait_all_tasks_blocked()

    @property
    def sent(self) -> int:
        return len(self.controller.requests)


def run(test: Callable[[Harness], Awaitable[None]], image: MetadataImage | None) -> None:
    async def main() -> None:
        harness = Harness(image)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(harness.manager.run)
            await trio.testing.wait_all_tasks_blocked()
            await test(harness)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_sends_once_caught_up_and_then_holds_back_until_the_record_arrives() -> None:
    async def test(h: Harness) -> None:
        assert h.sent == 0  # not caught up with the log yet
        await h.news(image_at(21))
        assert h.controller.requests == [
            ControllerRegistrationRequest(
                controller_id=ME,
                incarnation_id=INCARNATION,
                zk_migration_ready=False,
                listeners=[Listener(name="CONTROLLER", host="10.0.0.2", port=9093)],
                features=[
                    Feature(
                        name="metadata.version", min_supported_version=1, max_supported_version=21
                    )
                ],
            )
        ]
        assert h.manager.acknowledged == 1
        # Acknowledged: more news without the record sends nothing again.
        await h.news(image_at(21))
        assert h.sent == 1
        assert not h.manager.is_registered()
        await h.news(image_at(21, WANTED))
        assert h.manager.is_registered()
        assert h.sent == 1

    run(test, None)


def test_waits_for_a_metadata_version_with_controller_registration() -> None:
    async def test(h: Harness) -> None:
        await h.news(image_at(14))  # 3.6-IV2
        assert h.sent == 0
        upgraded = replay(
            image_at(14),
            [VersionedRecord(FeatureLevelRecord(name="metadata.version", feature_level=15), 0)],
        )
        await h.news(upgraded)
        assert h.sent == 1

    run(test, None)


def test_registers_over_a_previous_incarnation_and_when_replaced() -> None:
    before = registration_of(ME, uuid.UUID(int=6), [LISTENER], {})
    other = registration_of(ME, uuid.UUID(int=8), [LISTENER], {})

    async def test(h: Harness) -> None:
        assert h.sent == 1  # the log holds the registration of the process before
        await h.news(image_at(21, before))
        assert h.sent == 1
        await h.news(image_at(21, WANTED))
        assert h.manager.is_registered()
        await h.news(image_at(21, other))
        assert h.sent == 2
        assert h.controller.requests[-1].incarnation_id == INCARNATION

    run(test, image_at(21, before))


def test_a_listener_or_feature_change_is_stale_too() -> None:
    moved = registration_of(
        ME,
        INCARNATION,
        [Endpoint(name="CONTROLLER", host="10.0.0.9", port=9093, security_protocol=0)],
        {},
    )

    async def test(h: Harness) -> None:
        assert h.sent == 1

    run(test, image_at(21, moved))


def test_failures_are_retried_with_a_growing_backoff() -> None:
    async def test(h: Harness) -> None:
        h.controller.answers = [
            KafkaError(ErrorCode.REQUEST_TIMED_OUT, "no active controller"),
            ControllerRegistrationResponse(
                error_code=ErrorCode.UNSUPPORTED_VERSION, error_message="too old"
            ),
        ]
        await h.news(image_at(21))
        assert h.sent == 1
        assert h.manager.failures == 1
        await trio.sleep(0.09)
        await h.news(image_at(21))
        assert h.sent == 1  # news does not cut a backoff short
        await trio.sleep(0.02)
        await trio.testing.wait_all_tasks_blocked()
        assert h.sent == 2
        assert h.manager.failures == 2
        await trio.sleep(0.2 * 1.02)
        await trio.testing.wait_all_tasks_blocked()
        assert (h.sent, h.manager.failures, h.manager.acknowledged) == (3, 0, 1)

    run(test, None)


def test_backoff_doubles_up_to_its_maximum_with_little_jitter() -> None:
    rng = random.Random(1)
    for failures, base in [(1, 0.1), (2, 0.2), (3, 0.4), (11, 102.4), (12, 120.0), (99, 120.0)]:
        assert base * 0.98 <= backoff_s(failures, rng) <= base * 1.02
    assert backoff_s(1000, rng) <= BACKOFF_MAX_S * 1.02


# -- real clusters ---------------------------------------------------------------------


def registrations(cluster: OdradekCluster) -> dict[int, dict[str, Any]]:
    """The latest ``RegisterControllerRecord`` of each controller, from a controller's log."""
    reader = next(c for c in cluster.controllers if c.running)
    segments = sorted(reader.metadata_log_dir.glob("*.log"))
    dumped = run_kafka_tool(
        "kafka-dump-log", "--cluster-metadata-decoder", "--files", *map(str, segments)
    )
    latest: dict[int, dict[str, Any]] = {}
    for line in dumped.stdout.decode().splitlines():
        if "payload: " in line:
            payload = json.loads(line.split("payload: ", 1)[1])
            if payload["type"] == "REGISTER_CONTROLLER_RECORD":
                latest[payload["data"]["controllerId"]] = payload["data"]
    return latest


def wait_for_registrations(
    cluster: OdradekCluster, *, not_incarnations: set[str] | None = None
) -> dict[int, dict[str, Any]]:
    """Waits until every controller's registration, none of ``not_incarnations``, is in the log."""
    found: dict[int, dict[str, Any]] = {}
    excluded = not_incarnations or set()

    def all_registered() -> bool:
        found.clear()
        found.update(registrations(cluster))
        return {c.node_id for c in cluster.controllers} <= set(found) and not excluded & {
            r["incarnationId"] for r in found.values()
        }

    try:
        processes.wait_until(all_registered, timeout=WAIT_S, what="every controller registered")
    except processes.NotReady as e:
        raise AssertionError(f"{e}\n{found}\n{cluster.log_tails()}") from None
    return found


def check_kafka_tools_reach_the_controllers(cluster: OdradekCluster) -> None:
    """Kafka's tools find the controllers through DescribeCluster and ask them directly."""
    # The controller listeners, also on combined nodes (whose ``address`` is the broker's).
    controllers = ",".join(f"{c.host}:{c.controller_port}" for c in cluster.controllers)
    status = run_kafka_tool(
        "kafka-metadata-quorum",
        "--bootstrap-controller",
        controllers,
        "describe",
        "--status",
    )
    lines = dict(line.split(":", 1) for line in status.stdout.decode().splitlines() if ":" in line)
    assert lines["ClusterId"].strip() == cluster.cluster_id
    assert {v["id"] for v in json.loads(lines["CurrentVoters"])} == {
        c.node_id for c in cluster.controllers
    }
    features = run_kafka_tool("kafka-features", "--bootstrap-controller", controllers, "describe")
    described = features.stdout.decode()
    assert re.search(r"Feature: metadata\.version\s.*FinalizedVersionLevel: \S+", described), (
        described
    )


@needs_kafka
@pytest.mark.timeout(300)
@pytest.mark.parametrize("combined", [False, True], ids=["controllers-and-a-broker", "combined"])
def test_every_controller_registers_and_again_after_a_restart(
    tmp_path: Path, combined: bool
) -> None:
    with odradek_cluster(
        controllers=3,
        brokers=0 if combined else 1,
        combined=combined,
        workdir=tmp_path / "cluster",
        overrides=FAST_QUORUM,
    ) as cluster:
        found = wait_for_registrations(cluster)
        for controller in cluster.controllers:
            record = found[controller.node_id]
            assert record["zkMigrationReady"] is False
            assert record["endPoints"] == [
                {
                    "name": "CONTROLLER",
                    "host": controller.host,
                    "port": controller.controller_port,
                    "securityProtocol": 0,
                }
            ]
            assert {
                f["name"]: (f["minSupportedVersion"], f["maxSupportedVersion"])
                for f in record["features"]
            } == {name: (r.min, r.max) for name, r in supported_features().items()}
        assert len({r["incarnationId"] for r in found.values()}) == 3

        for controller in cluster.controllers:
            assert controller.controller_port is not None
            described: DescribeClusterResponse = request(
                controller.host,
                controller.controller_port,
                DESCRIBE_CLUSTER,
                1,
                DescribeClusterRequest(endpoint_type=CONTROLLERS),
            )
            assert described.error_code == 0
            assert [(n.broker_id, n.host, n.port) for n in described.brokers] == [
                (c.node_id, c.host, c.controller_port) for c in cluster.controllers
            ]

        check_kafka_tools_reach_the_controllers(cluster)

        restarted = cluster.controllers[1]
        restarted.stop()
        restarted.start()
        again = wait_for_registrations(
            cluster, not_incarnations={found[restarted.node_id]["incarnationId"]}
        )
        assert {i: r["incarnationId"] for i, r in again.items() if i != restarted.node_id} == {
            i: r["incarnationId"] for i, r in found.items() if i != restarted.node_id
        }
