"""UpdateFeatures end to end: Kafka's ``kafka-features`` tool and raw requests against real nodes.

The tool describes features from a broker's ApiVersions and sends UpdateFeatures,
which the broker forwards to the active controller. Where Odradek and Apache Kafka
4.3 should print the same thing, the test runs the same command against both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.api_versions_request import ApiVersionsRequest
from odradek.protocol.messages.clients.api_versions_response import ApiVersionsResponse
from odradek.protocol.messages.clients.update_features_request import (
    FeatureUpdateKey,
    UpdateFeaturesRequest,
)
from odradek.protocol.messages.clients.update_features_response import (
    UpdatableFeatureResult,
    UpdateFeaturesResponse,
)
from tests.node.test_controller_registration import wait_for_registrations
from tests.support.kafka_reference import (
    KafkaReference,
    kafka_reference,
    kafka_unavailable,
    run_kafka_tool,
)
from tests.support.odradek_cluster import FAST_QUORUM, odradek_cluster, request
from tests.support.odradek_node import OdradekNode, odradek_node

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(kafka_unavailable() is not None, reason=str(kafka_unavailable())),
]

API_VERSIONS = 18
UPDATE_FEATURES = 57
DOWNGRADE_REFUSED = (
    "Could not downgrade metadata.version to 16. The update failed for all features since the "
    "following feature had an error: Unsupported metadata.version downgrade from {current} to "
    "16. Refusing to perform the requested downgrade because it might delete metadata "
    "information."
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OdradekNode]:
    with odradek_node(workdir=tmp_path_factory.mktemp("odradek")) as n:
        yield n


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaReference]:
    with kafka_reference(workdir=tmp_path_factory.mktemp("kafka")) as k:
        yield k


def features(bootstrap: str, *args: str) -> tuple[int, str]:
    """Runs ``kafka-features --bootstrap-server`` and returns its exit status and output."""
    done = run_kafka_tool(
        "kafka-features", "--bootstrap-server", bootstrap, *args, ok_statuses=(0, 1)
    )
    return done.returncode, done.stdout.decode().strip()


def described(bootstrap: str) -> dict[str, dict[str, str]]:
    """``kafka-features describe`` as feature -> column -> value."""
    status, output = features(bootstrap, "describe")
    assert status == 0, output
    table = {}
    for line in output.splitlines():
        cells = (cell.partition(": ") for cell in re.split(r"\t|\s{2,}", line.strip()))
        columns = {key: value for key, _, value in cells}
        table[columns["Feature"]] = columns
    return table


def finalized_level(host: str, port: int) -> tuple[int, int]:
    """``metadata.version`` and the features epoch in a listener's ApiVersions v4 answer."""
    body = ApiVersionsRequest(client_software_name="odradek-test", client_software_version="1")
    response: ApiVersionsResponse = request(host, port, API_VERSIONS, 4, body)
    assert UPDATE_FEATURES in {k.api_key for k in response.api_keys}
    (mv,) = [f for f in response.finalized_features if f.name == "metadata.version"]
    return mv.max_version_level, response.finalized_features_epoch


def wait_for_level(host: str, port: int, level: int) -> int:
    """Waits until the listener reports ``metadata.version`` at ``level``; returns the epoch."""
    deadline = time.monotonic() + 30
    while True:
        current, epoch = finalized_level(host, port)
        if current == level:
            return epoch
        assert time.monotonic() < deadline, f"metadata.version stayed at {current}"
        time.sleep(0.1)


def update(level: int, kind: int, *, validate_only: bool = False) -> UpdateFeaturesRequest:
    return UpdateFeaturesRequest(
        feature_updates=[
            FeatureUpdateKey(feature="metadata.version", max_version_level=level, upgrade_type=kind)
        ],
        validate_only=validate_only,
    )


def test_describe_shows_what_odradek_supports_and_finalized(node: OdradekNode) -> None:
    table = described(node.bootstrap)
    assert set(table) == {"metadata.version"}
    mv = table["metadata.version"]
    # Kafka 4's tool has no name for the KRaft minimum, level 1 (it prints Kafka 3's the same way).
    assert mv["SupportedMinVersion"] == "UNKNOWN 1"
    assert mv["SupportedMaxVersion"] == "3.9-IV0"
    assert mv["FinalizedVersionLevel"] == "3.9-IV0"
    assert int(mv["Epoch"]) >= 0


def test_upgrade_dry_run_and_safe_downgrade(node: OdradekNode) -> None:
    assert features(node.bootstrap, "upgrade", "--metadata", "3.9-IV0") == (
        0,
        "`metadata` flag is deprecated and may be removed in a future release.\n"
        "metadata.version was upgraded to 21.",
    )
    assert features(
        node.bootstrap, "downgrade", "--feature", "metadata.version=20", "--dry-run"
    ) == (
        0,
        "metadata.version can be downgraded to 20.",
    )
    assert described(node.bootstrap)["metadata.version"]["FinalizedVersionLevel"] == "3.9-IV0"

    # 3.8-IV0 writes the same records as 3.9-IV0, so this downgrade is safe.
    assert features(node.bootstrap, "downgrade", "--feature", "metadata.version=20") == (
        0,
        "metadata.version was downgraded to 20.",
    )
    before = wait_for_level(node.host, node.port, 20)
    assert wait_for_level(node.host, node.controller_port, 20) >= 0
    assert features(node.bootstrap, "upgrade", "--feature", "metadata.version=21") == (
        0,
        "metadata.version was upgraded to 21.",
    )
    assert wait_for_level(node.host, node.port, 21) > before
    assert described(node.bootstrap)["metadata.version"]["FinalizedVersionLevel"] == "3.9-IV0"


def test_features_odradek_does_not_implement_are_refused(node: OdradekNode) -> None:
    status, output = features(node.bootstrap, "upgrade", "--feature", "group.version=1")
    assert status == 1
    assert output == (
        "Could not upgrade group.version to 1. The update failed for all features since the "
        "following feature had an error: Invalid update version 1 for feature group.version. "
        "Local controller 1 does not support this feature."
    )


def test_refusals_read_as_kafkas(node: OdradekNode, kafka: KafkaReference) -> None:
    """The same refused commands print the same text, up to each side's levels."""
    odradek_levels = {"current": "21", "range": "1-21", "beyond": "22"}
    kafka_levels = {"current": "30", "range": "7-30", "beyond": "31"}
    commands = [
        ["downgrade", "--metadata", "3.7-IV1"],
        ["downgrade", "--metadata", "3.7-IV1", "--unsafe"],
        ["downgrade", "--metadata", "3.7-IV1", "--dry-run"],
        ["disable", "--feature", "foo.bar"],
        ["disable", "--feature", "metadata.version"],
        ["upgrade", "--feature", "metadata.version={beyond}"],
    ]
    for command in commands:
        ours = features(node.bootstrap, *(a.format(**odradek_levels) for a in command))
        theirs = features(kafka.bootstrap, *(a.format(**kafka_levels) for a in command))
        for name in ("range", "beyond", "current"):
            theirs = (theirs[0], theirs[1].replace(kafka_levels[name], odradek_levels[name]))
        assert ours == theirs, command
        assert ours[0] == 1
    _, output = features(node.bootstrap, "downgrade", "--metadata", "3.7-IV1")
    assert output.endswith(DOWNGRADE_REFUSED.format(current=21))


@pytest.mark.parametrize("version", [0, 1, 2])
def test_raw_versions_through_broker_and_controller_listeners(
    node: OdradekNode, version: int
) -> None:
    expected = UpdateFeaturesResponse(error_code=0, error_message=None)
    if version <= 1:
        expected.results = [
            UpdatableFeatureResult(feature="metadata.version", error_code=0, error_message="NONE")
        ]
    for port in (node.port, node.controller_port):
        response = request(node.host, port, UPDATE_FEATURES, version, update(21, 1))
        assert response == expected
        refused = request(node.host, port, UPDATE_FEATURES, version, update(22, 1))
        assert refused.error_code == ErrorCode.INVALID_UPDATE_VERSION
        assert refused.results == []


def test_through_a_broker_of_a_three_controller_cluster(tmp_path: Path) -> None:
    """Forwarded to the active controller, which checks every voter's registration.

    From 3.7-IV0 a Kafka controller changes no feature before every voter has registered
    (ControllerRegistration, KIP-919); Odradek's controllers register once they have
    caught up with the metadata log.
    """
    with odradek_cluster(
        controllers=3, brokers=1, workdir=tmp_path / "cluster", overrides=FAST_QUORUM
    ) as cluster:
        assert described(cluster.bootstrap)["metadata.version"]["FinalizedVersionLevel"] == (
            "3.9-IV0"
        )
        wait_for_registrations(cluster)
        assert features(
            cluster.bootstrap, "upgrade", "--feature", "metadata.version=21", "--dry-run"
        ) == (0, "metadata.version can be upgraded to 21.")
        assert features(cluster.bootstrap, "upgrade", "--metadata", "3.9-IV0") == (
            0,
            "`metadata` flag is deprecated and may be removed in a future release.\n"
            "metadata.version was upgraded to 21.",
        )
        assert features(cluster.bootstrap, "downgrade", "--feature", "metadata.version=20") == (
            0,
            "metadata.version was downgraded to 20.",
        )
        (broker,) = cluster.brokers
        assert broker.port is not None
        wait_for_level(broker.host, broker.port, 20)
        for controller in cluster.controllers:
            assert controller.controller_port is not None
            wait_for_level(controller.host, controller.controller_port, 20)
        assert features(cluster.bootstrap, "upgrade", "--feature", "metadata.version=21") == (
            0,
            "metadata.version was upgraded to 21.",
        )
        assert described(cluster.bootstrap)["metadata.version"]["FinalizedVersionLevel"] == (
            "3.9-IV0"
        )
