"""Broker and controller registration, and unregistration."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odradek.controller.controller_registration import register_controller
from odradek.controller.registration import register_broker, unregister_broker
from odradek.metadata import directories
from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
)
from odradek.protocol.messages.clients.controller_registration_request import (
    Listener as ControllerListener,
)
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    BrokerFeature,
    RegisterBrokerRecord,
)
from odradek.protocol.messages.metadata.register_controller_record import (
    ControllerEndpoint,
    RegisterControllerRecord,
)
from odradek.protocol.messages.metadata.unregister_broker_record import UnregisterBrokerRecord
from tests.controller.support import (
    CLUSTER_ID,
    SETTINGS,
    applied,
    cluster,
    create,
    dir_of,
    incarnation,
    messages,
    replay,
)

MV = Feature(name="metadata.version", min_supported_version=1, max_supported_version=21)


def request(broker_id: int = 4, **fields: Any) -> BrokerRegistrationRequest:
    values: dict[str, Any] = {
        "broker_id": broker_id,
        "cluster_id": CLUSTER_ID,
        "incarnation_id": incarnation(broker_id, 1),
        "listeners": [Listener(name="PLAINTEXT", host="h4", port=9094, security_protocol=0)],
        "features": [MV],
        "rack": "r1",
        "log_dirs": [dir_of(broker_id)],
    }
    values.update(fields)
    return BrokerRegistrationRequest(**values)


def register(
    image: MetadataImage, req: BrokerRegistrationRequest, *, live: bool = False, epoch: int = 77
) -> Any:
    return register_broker(
        image, req, settings=SETTINGS, new_broker_epoch=epoch, has_valid_session=lambda _: live
    )


def test_a_new_broker_gets_a_fenced_registration_at_the_new_epoch() -> None:
    result = register(cluster([1]), request())
    assert result.response.error_code == 0
    assert result.response.broker_epoch == 77
    assert result.records[0].version == 3
    assert messages(result) == [
        RegisterBrokerRecord(
            broker_id=4,
            incarnation_id=incarnation(4, 1),
            broker_epoch=77,
            end_points=[BrokerEndpoint(name="PLAINTEXT", host="h4", port=9094)],
            features=[
                BrokerFeature(
                    name="metadata.version", min_supported_version=1, max_supported_version=21
                )
            ],
            rack="r1",
            fenced=True,
            log_dirs=[dir_of(4)],
        )
    ]
    broker = applied(cluster([1]), result).cluster.brokers[4]
    assert broker.fenced
    assert broker.rack == "r1"
    assert broker.epoch == 77


def test_the_same_incarnation_keeps_its_epoch_and_state() -> None:
    image = cluster([1])
    retry = request(1, incarnation_id=incarnation(1))
    result = register(image, retry, live=True)
    assert result.response.broker_epoch == image.cluster.brokers[1].epoch
    assert result.records[0].message.fenced is False


def test_a_new_incarnation_replaces_a_dead_one() -> None:
    image = cluster([1])
    result = register(image, request(1), live=False)
    assert result.response.broker_epoch == 77
    assert applied(image, result).cluster.brokers[1].fenced


def test_a_new_incarnation_is_refused_while_the_old_one_is_alive() -> None:
    result = register(cluster([1]), request(1), live=True)
    assert result.records == []
    assert result.response.error_code == ErrorCode.DUPLICATE_BROKER_REGISTRATION


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"cluster_id": "other"}, ErrorCode.INCONSISTENT_CLUSTER_ID),
        ({"is_migrating_zk_broker": True}, ErrorCode.BROKER_ID_NOT_REGISTERED),
        ({"log_dirs": []}, ErrorCode.INVALID_REGISTRATION),
        ({"log_dirs": [directories.UNASSIGNED]}, ErrorCode.INVALID_REGISTRATION),
        ({"log_dirs": [dir_of(4), dir_of(4)]}, ErrorCode.INVALID_REGISTRATION),
        ({"log_dirs": [dir_of(1)]}, ErrorCode.INVALID_REGISTRATION),
        (
            {
                "features": [
                    Feature(
                        name="metadata.version", min_supported_version=1, max_supported_version=20
                    )
                ]
            },
            ErrorCode.UNSUPPORTED_VERSION,
        ),
        ({"features": []}, ErrorCode.UNSUPPORTED_VERSION),
    ],
)
def test_refused_registrations(fields: dict[str, Any], error: ErrorCode) -> None:
    result = register(cluster([1]), request(**fields))
    assert result.records == []
    assert result.response.error_code == error


def test_a_broker_must_support_every_finalized_feature() -> None:
    image = replay(
        cluster([1]),
        [VersionedRecord(FeatureLevelRecord(name="group.version", feature_level=1), 0)],
    )
    assert register(image, request()).response.error_code == ErrorCode.UNSUPPORTED_VERSION
    supports = request(
        features=[
            MV,
            Feature(name="group.version", min_supported_version=0, max_supported_version=1),
        ]
    )
    assert register(image, supports).response.error_code == 0


def test_directories_are_not_required_before_3_7() -> None:
    image = cluster([1], level=8)
    result = register(image, request(log_dirs=[]))
    assert result.response.error_code == 0
    assert result.records[0].version == 2


def test_register_controller() -> None:
    req = ControllerRegistrationRequest(
        controller_id=3000,
        incarnation_id=uuid.UUID(int=5),
        listeners=[ControllerListener(name="CONTROLLER", host="c", port=9093, security_protocol=0)],
    )
    result = register_controller(cluster([1]), req)
    assert messages(result) == [
        RegisterControllerRecord(
            controller_id=3000,
            incarnation_id=uuid.UUID(int=5),
            end_points=[ControllerEndpoint(name="CONTROLLER", host="c", port=9093)],
        )
    ]
    old = register_controller(cluster([1], level=8), req)
    assert old.records == []
    assert old.response.error_code == ErrorCode.UNSUPPORTED_VERSION


def test_unregister_moves_leadership_first() -> None:
    image = create(cluster([1, 2]), "t", partitions=1, replication_factor=2, seed=3)
    topic = image.topics.get_by_name("t")
    assert topic is not None
    leader = topic.partitions[0].leader
    other = 3 - leader
    result = unregister_broker(image, leader, settings=SETTINGS)
    epoch = image.cluster.brokers[leader].epoch
    assert messages(result) == [
        PartitionChangeRecord(partition_id=0, topic_id=topic.topic_id, isr=[other], leader=other),
        UnregisterBrokerRecord(broker_id=leader, broker_epoch=epoch),
    ]
    after = applied(image, result)
    assert leader not in after.cluster.brokers
    missing = unregister_broker(after, leader, settings=SETTINGS)
    assert missing.response.error_code == ErrorCode.BROKER_ID_NOT_REGISTERED
