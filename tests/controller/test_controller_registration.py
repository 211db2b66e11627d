"""ControllerRegistration on the controller: Kafka's record, refusals, and what it unlocks."""

from __future__ import annotations

import uuid

import pytest

from odradek.controller import ControllerSettings, QuorumController
from odradek.controller.controller_registration import TOO_OLD, register_controller
from odradek.controller.features import bootstrap_records, supported_features
from odradek.controller.quorum_controller import NotActiveError
from odradek.controller.update_features import UPGRADE
from odradek.metadata.cluster import ControllerRegistration, Endpoint, VersionRange
from odradek.metadata.delta import MetadataDelta
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.protocol.codec import decode, encode
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.controller_registration_response import (
    ControllerRegistrationResponse,
)
from odradek.protocol.messages.clients.update_features_request import (
    FeatureUpdateKey,
    UpdateFeaturesRequest,
)
from odradek.protocol.messages.metadata.register_controller_record import (
    ControllerEndpoint,
    ControllerFeature,
    RegisterControllerRecord,
)
from tests.controller.support import CLUSTER_ID, SCHEMA, Ids, applied, messages, replay, rng

MV = "metadata.version"


def incarnation(controller_id: int, generation: int = 0) -> uuid.UUID:
    return uuid.UUID(int=(3 << 64) + (generation << 32) + controller_id)


def registration(
    controller_id: int, *, generation: int = 0, mv: tuple[int, int] = (1, 21)
) -> ControllerRegistrationRequest:
    return ControllerRegistrationRequest(
        controller_id=controller_id,
        incarnation_id=incarnation(controller_id, generation),
        listeners=[Listener(name="CONTROLLER", host=f"c{controller_id}", port=9093)],
        features=[Feature(name=MV, min_supported_version=mv[0], max_supported_version=mv[1])],
    )


def image_at(level: int) -> MetadataImage:
    return replay(EMPTY_IMAGE, bootstrap_records(level))


def test_writes_kafkas_record_from_the_request() -> None:
    request = registration(2)
    request.zk_migration_ready = True
    request.listeners.append(
        Listener(name="SSL_CONTROLLER", host="c2.example", port=9094, security_protocol=1)
    )
    result = register_controller(image_at(15), request)
    assert result.response == ControllerRegistrationResponse(error_code=0, error_message=None)
    assert result.atomic
    assert [r.version for r in result.records] == [0]
    assert messages(result) == [
        RegisterControllerRecord(
            controller_id=2,
            incarnation_id=incarnation(2),
            # Kafka 4 migrates from no ZooKeeper: the flag is never written true.
            zk_migration_ready=False,
            end_points=[
                ControllerEndpoint(name="CONTROLLER", host="c2", port=9093, security_protocol=0),
                ControllerEndpoint(
                    name="SSL_CONTROLLER", host="c2.example", port=9094, security_protocol=1
                ),
            ],
            features=[
                ControllerFeature(name=MV, min_supported_version=1, max_supported_version=21)
            ],
        )
    ]
    registered = applied(image_at(15), result).cluster.controllers[2]
    assert registered == ControllerRegistration(
        controller_id=2,
        incarnation_id=incarnation(2),
        listeners={
            "CONTROLLER": Endpoint(name="CONTROLLER", host="c2", port=9093, security_protocol=0),
            "SSL_CONTROLLER": Endpoint(
                name="SSL_CONTROLLER", host="c2.example", port=9094, security_protocol=1
            ),
        },
        supported_features={MV: VersionRange(1, 21)},
    )


def test_a_listener_named_twice_keeps_its_place_and_last_address() -> None:
    request = registration(2)
    request.listeners = [
        Listener(name="A", host="first", port=1),
        Listener(name="B", host="b", port=2),
        Listener(name="A", host="second", port=3),
    ]
    (record,) = messages(register_controller(image_at(21), request))
    assert [(e.name, e.host, e.port) for e in record.end_points] == [
        ("A", "second", 3),
        ("B", "b", 2),
    ]


@pytest.mark.parametrize("level", [None, 4, 7, 14])
def test_refused_before_3_7_iv0(level: int | None) -> None:
    image = EMPTY_IMAGE if level is None else image_at(level)
    result = register_controller(image, registration(2))
    assert result.records == []
    assert result.response == ControllerRegistrationResponse(
        error_code=ErrorCode.UNSUPPORTED_VERSION,
        error_message="The current MetadataVersion is too old to support controller registrations.",
    )
    assert result.response.error_message == TOO_OLD


def test_not_checked_against_finalized_levels_nor_earlier_incarnations() -> None:
    image = applied(image_at(21), register_controller(image_at(21), registration(2)))
    # A controller declaring no support for the finalized level, from a new process.
    again = register_controller(image, registration(2, generation=1, mv=(1, 15)))
    assert again.response.error_code == 0
    registered = applied(image, again).cluster.controllers[2]
    assert registered.incarnation_id == incarnation(2, 1)
    assert registered.supported_features == {MV: VersionRange(1, 15)}


def test_the_response_round_trips_at_version_0() -> None:
    response = register_controller(image_at(10), registration(2)).response
    assert decode(ControllerRegistrationResponse, encode(response, 0), 0) == response


def test_registrations_survive_a_snapshot_and_leave_with_it() -> None:
    image = image_at(21)
    for controller_id in (1, 2, 3):
        image = applied(image, register_controller(image, registration(controller_id)))
    records = list(image.cluster.to_records(image.features.metadata_version))
    assert sum(isinstance(r.message, RegisterControllerRecord) for r in records) == 3
    assert replay(EMPTY_IMAGE, records).cluster == image.cluster
    # A snapshot without controller 3 removes its registration from readers' images.
    without = replay(
        EMPTY_IMAGE, [r for r in records if getattr(r.message, "controller_id", 0) != 3]
    )
    delta = MetadataDelta.from_snapshot(image, without)
    assert delta.apply(without.provenance).cluster.controllers.keys() == {1, 2}


def quorum(node_id: int = 1) -> QuorumController:
    settings = ControllerSettings(
        node_id=node_id, cluster_id=CLUSTER_ID, controller_ids=frozenset({1, 2, 3})
    )
    controller = QuorumController(settings, schema=SCHEMA, id_source=Ids(), rng=rng())
    activation = controller.activate(epoch=1, now_ms=0, next_offset=0)
    assert activation.batch is not None
    controller.handle_committed_batch(activation.batch)
    return controller


def upgrade(level: int) -> UpdateFeaturesRequest:
    return UpdateFeaturesRequest(
        feature_updates=[
            FeatureUpdateKey(feature=MV, max_version_level=level, upgrade_type=UPGRADE)
        ],
        validate_only=True,
    )


def test_the_active_controller_decides_and_features_wait_for_every_voter() -> None:
    c = quorum()
    supported = supported_features()[MV]
    assert c.image.features.metadata_version.level == supported.max
    level = supported.max
    refused = c.update_features(upgrade(level), 1, now_ms=1)
    assert refused.response.error_message.endswith(
        "controller 2 has not registered, and may not support this feature"
    )
    for controller_id in (1, 2):
        decision = c.register_controller(registration(controller_id), now_ms=2)
        assert decision.response.error_code == 0
        assert decision.batch is not None
        assert decision.commit_offset == decision.batch.last_offset
        c.handle_committed_batch(decision.batch)
    refused = c.update_features(upgrade(level), 1, now_ms=3)
    assert refused.response.error_message.endswith(
        "controller 3 has not registered, and may not support this feature"
    )
    decision = c.register_controller(registration(3), now_ms=4)
    assert decision.batch is not None
    c.handle_committed_batch(decision.batch)
    assert c.committed_image.cluster.controllers.keys() == {1, 2, 3}
    accepted = c.update_features(upgrade(level), 1, now_ms=5)
    assert accepted.response.error_code == 0, accepted.response


def test_a_standby_controller_does_not_decide() -> None:
    settings = ControllerSettings(node_id=2, cluster_id=CLUSTER_ID)
    standby = QuorumController(settings, schema=SCHEMA, id_source=Ids(), rng=rng())
    with pytest.raises(NotActiveError):
        standby.register_controller(registration(2), now_ms=0)
