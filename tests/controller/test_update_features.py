"""UpdateFeatures on the controller: Kafka's checks, messages, records and versions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from odradek.controller import ControllerSettings, QuorumController
from odradek.controller.features import bootstrap_records, supported_features
from odradek.controller.result import ControllerResult
from odradek.controller.update_features import (
    FAILED_PREFIX,
    SAFE_DOWNGRADE,
    UNSAFE_DOWNGRADE,
    UPGRADE,
    metadata_changed_between,
    update_features,
)
from odradek.metadata.cluster import VersionRange
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.protocol.codec import decode, encode
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.update_features_request import (
    FeatureUpdateKey,
    UpdateFeaturesRequest,
)
from odradek.protocol.messages.clients.update_features_response import (
    UpdatableFeatureResult,
    UpdateFeaturesResponse,
)
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.no_op_record import NoOpRecord
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    BrokerFeature,
    RegisterBrokerRecord,
)
from odradek.protocol.messages.metadata.register_controller_record import (
    ControllerFeature,
    RegisterControllerRecord,
)
from tests.controller.support import CLUSTER_ID, SCHEMA, Ids, dir_of, incarnation, replay, rng

MV = "metadata.version"
SETTINGS = ControllerSettings(node_id=1, cluster_id=CLUSTER_ID, controller_ids=frozenset({1}))
ODRADEK = {MV: (1, 21)}


def broker(
    broker_id: int, features: Mapping[str, tuple[int, int]], *, epoch: int, level: int
) -> VersionedRecord:
    """A fenced broker's registration, as written at ``metadata.version`` ``level``."""
    record = RegisterBrokerRecord(
        broker_id=broker_id,
        incarnation_id=incarnation(broker_id),
        broker_epoch=epoch,
        end_points=[BrokerEndpoint(name="PLAINTEXT", host="localhost", port=9092)],
        features=[
            BrokerFeature(name=name, min_supported_version=lo, max_supported_version=hi)
            for name, (lo, hi) in features.items()
        ],
        fenced=True,
    )
    if level >= 17:
        record.log_dirs = [dir_of(broker_id)]
        return VersionedRecord(record, 3)
    return VersionedRecord(record, 1)


def controller(controller_id: int, features: Mapping[str, tuple[int, int]]) -> Any:
    return RegisterControllerRecord(
        controller_id=controller_id,
        incarnation_id=incarnation(controller_id),
        features=[
            ControllerFeature(name=name, min_supported_version=lo, max_supported_version=hi)
            for name, (lo, hi) in features.items()
        ],
    )


def cluster(
    level: int = 21,
    *,
    brokers: Mapping[int, Mapping[str, tuple[int, int]]] | None = None,
    controllers: Mapping[int, Mapping[str, tuple[int, int]]] | None = None,
    finalized: Mapping[str, int] | None = None,
) -> MetadataImage:
    """A cluster at ``metadata.version`` ``level`` with brokers and controllers declaring features.

    By default broker 1 and controller 1 (this one) support what Odradek supports.
    """
    image = replay(EMPTY_IMAGE, bootstrap_records(level))
    records = [
        VersionedRecord(controller(cid, features), 0)
        for cid, features in (controllers or {1: ODRADEK}).items()
    ]
    for bid, features in (brokers or {1: ODRADEK}).items():
        epoch = image.provenance.next_offset + len(records)
        records.append(broker(bid, features, epoch=epoch, level=level))
    records += [
        VersionedRecord(FeatureLevelRecord(name=name, feature_level=lvl), 0)
        for name, lvl in (finalized or {}).items()
    ]
    return replay(image, records)


def request(*updates: tuple[str, int, int], validate_only: bool = False) -> UpdateFeaturesRequest:
    return UpdateFeaturesRequest(
        feature_updates=[
            FeatureUpdateKey(feature=name, max_version_level=level, upgrade_type=kind)
            for name, level, kind in updates
        ],
        validate_only=validate_only,
    )


def run(
    image: MetadataImage,
    *updates: tuple[str, int, int],
    version: int = 2,
    validate_only: bool = False,
    settings: ControllerSettings = SETTINGS,
) -> ControllerResult[UpdateFeaturesResponse]:
    return update_features(
        image,
        request(*updates, validate_only=validate_only),
        version=version,
        settings=settings,
    )


def refusal(result: ControllerResult[UpdateFeaturesResponse]) -> str:
    """The reason of a refused request, after checking that it is refused as a whole."""
    response = result.response
    assert result.records == []
    assert response.error_code == ErrorCode.INVALID_UPDATE_VERSION
    assert response.results == []
    assert response.error_message is not None
    assert response.error_message.startswith(FAILED_PREFIX)
    return response.error_message.removeprefix(FAILED_PREFIX)


def messages(result: ControllerResult[Any]) -> list[Any]:
    return [r.message for r in result.records]


def test_odradek_declares_only_metadata_version() -> None:
    assert {name: (r.min, r.max) for name, r in supported_features().items()} == ODRADEK


# -- metadata.version ---------------------------------------------------------------------


def test_upgrade_writes_the_new_level_and_the_image_follows() -> None:
    image = cluster(17)
    result = run(image, (MV, 21, UPGRADE))
    assert result.response == UpdateFeaturesResponse(error_code=0, error_message=None)
    assert messages(result) == [FeatureLevelRecord(name=MV, feature_level=21)]
    assert result.atomic
    after = replay(image, result.records)
    assert after.features.metadata_version.level == 21
    assert after.features.finalized() == {MV: 21}


def test_an_update_to_the_current_level_is_written_again() -> None:
    for kind in (UPGRADE, SAFE_DOWNGRADE, UNSAFE_DOWNGRADE):
        result = run(cluster(21), (MV, 21, kind))
        assert result.response.error_code == 0
        assert messages(result) == [FeatureLevelRecord(name=MV, feature_level=21)]


def test_a_lower_level_needs_a_downgrade_type() -> None:
    assert refusal(run(cluster(21), (MV, 20, UPGRADE))) == (
        "Invalid update version 20 for feature metadata.version. Can't downgrade the version "
        "of this feature without setting the upgrade type to either safe or unsafe downgrade."
    )


def test_a_downgrade_cannot_raise_the_level() -> None:
    for kind in (SAFE_DOWNGRADE, UNSAFE_DOWNGRADE):
        assert refusal(run(cluster(17), (MV, 21, kind))) == (
            "Invalid update version 21 for feature metadata.version. "
            "Can't downgrade to a newer version."
        )


def test_a_downgrade_between_levels_with_the_same_records_is_made() -> None:
    image = cluster(21)
    for kind in (SAFE_DOWNGRADE, UNSAFE_DOWNGRADE):
        result = run(image, (MV, 17, kind))
        assert result.response.error_code == 0
        assert messages(result) == [FeatureLevelRecord(name=MV, feature_level=17)]
    assert replay(image, run(image, (MV, 18, SAFE_DOWNGRADE)).records).features.finalized() == {
        MV: 18
    }


def test_a_downgrade_that_may_lose_metadata_is_refused() -> None:
    assert refusal(run(cluster(21), (MV, 16, SAFE_DOWNGRADE))) == (
        "Unsupported metadata.version downgrade from 21 to 16. Refusing to perform the "
        "requested downgrade because it might delete metadata information."
    )
    assert refusal(run(cluster(21), (MV, 16, UNSAFE_DOWNGRADE))) == (
        "Unsupported metadata.version downgrade from 21 to 16. "
        "Unsafe metadata downgrade is not supported in this version."
    )
    assert refusal(run(cluster(8), (MV, 7, SAFE_DOWNGRADE))).startswith(
        "Unsupported metadata.version downgrade from 8 to 7."
    )


def test_metadata_changes_follow_kafkas_table() -> None:
    assert not metadata_changed_between(17, 21)
    assert metadata_changed_between(16, 17)
    assert not metadata_changed_between(15, 16)
    assert metadata_changed_between(10, 12)
    assert not metadata_changed_between(8, 10)
    assert not metadata_changed_between(21, 21)


def test_metadata_version_never_goes_below_the_first_level_a_record_carries() -> None:
    assert refusal(run(cluster(4), (MV, 3, SAFE_DOWNGRADE))) == (
        "Invalid metadata.version 3. Unable to set a metadata.version less than 3.3-IV0"
    )


def test_metadata_version_cannot_be_removed() -> None:
    for kind in (SAFE_DOWNGRADE, UNSAFE_DOWNGRADE):
        assert refusal(run(cluster(21), (MV, 0, kind))) == (
            "Invalid update version 0 for feature metadata.version. "
            "Local controller 1 only supports versions 1-21"
        )


def test_levels_beyond_this_software_are_refused() -> None:
    assert refusal(run(cluster(21), (MV, 22, UPGRADE))) == (
        "Invalid update version 22 for feature metadata.version. "
        "Local controller 1 only supports versions 1-21"
    )


def test_a_negative_level_is_refused_before_support_is_checked() -> None:
    assert refusal(run(cluster(21), (MV, -1, SAFE_DOWNGRADE))) == (
        "Invalid update version -1 for feature metadata.version. "
        "A feature version cannot be less than 0."
    )


@pytest.mark.parametrize("kind", [0, 4, -1])
def test_unknown_upgrade_types_are_refused(kind: int) -> None:
    assert refusal(run(cluster(21), (MV, 21, kind))) == (
        "Invalid update version 21 for feature metadata.version. "
        "The controller does not support the given upgrade type."
    )


# -- what the other nodes support --------------------------------------------------------


def test_every_registered_broker_must_support_the_level_fenced_ones_too() -> None:
    image = cluster(17, brokers={1: ODRADEK, 2: {MV: (1, 17)}})
    assert image.cluster.brokers[2].fenced
    assert refusal(run(image, (MV, 21, UPGRADE))) == (
        "Invalid update version 21 for feature metadata.version. "
        "Broker 2 only supports versions 1-17"
    )
    assert run(image, (MV, 17, UPGRADE)).response.error_code == 0


def test_a_broker_that_does_not_name_a_feature_supports_only_level_0() -> None:
    image = cluster(17, brokers={1: ODRADEK, 3: {}})
    assert refusal(run(image, (MV, 21, UPGRADE))) == (
        "Invalid update version 21 for feature metadata.version. "
        "Broker 3 does not support this feature."
    )


def test_a_single_level_range_is_written_as_one_number() -> None:
    image = cluster(17, brokers={1: ODRADEK, 2: {MV: (17, 17)}})
    assert refusal(run(image, (MV, 21, UPGRADE))).endswith("Broker 2 only supports versions 17")


def test_every_other_registered_controller_must_support_the_level() -> None:
    settings = ControllerSettings(
        node_id=1, cluster_id=CLUSTER_ID, controller_ids=frozenset({1, 2})
    )
    image = cluster(17, controllers={1: ODRADEK, 2: {MV: (1, 18)}})
    assert refusal(run(image, (MV, 21, UPGRADE), settings=settings)) == (
        "Invalid update version 21 for feature metadata.version. "
        "Controller 2 only supports versions 1-18"
    )
    assert run(image, (MV, 18, UPGRADE), settings=settings).response.error_code == 0


def test_this_controllers_own_registration_is_not_checked_again() -> None:
    image = cluster(17, controllers={1: {}})
    assert run(image, (MV, 21, UPGRADE)).response.error_code == 0


def test_every_voter_must_have_registered() -> None:
    settings = ControllerSettings(
        node_id=1, cluster_id=CLUSTER_ID, controller_ids=frozenset({1, 2, 3})
    )
    image = cluster(17, controllers={1: ODRADEK, 2: ODRADEK})
    assert refusal(run(image, (MV, 21, UPGRADE), settings=settings)) == (
        "Invalid update version 21 for feature metadata.version. "
        "controller 3 has not registered, and may not support this feature"
    )


def test_before_controller_registration_the_quorum_is_taken_on_trust() -> None:
    settings = ControllerSettings(
        node_id=1, cluster_id=CLUSTER_ID, controller_ids=frozenset({1, 2, 3})
    )
    image = cluster(13, controllers={})
    result = run(image, (MV, 14, UPGRADE), settings=settings)
    assert result.response.error_code == 0
    assert messages(result) == [FeatureLevelRecord(name=MV, feature_level=14)]


# -- other features ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["group.version", "transaction.version", "kraft.version"])
def test_features_odradek_does_not_implement_stay_at_0(name: str) -> None:
    assert refusal(run(cluster(21), (name, 1, UPGRADE))) == (
        f"Invalid update version 1 for feature {name}. Local controller 1 does not support "
        "this feature."
    )


def test_a_feature_a_broker_does_not_name_is_refused_even_if_this_controller_supports_it() -> None:
    result = update_features(
        cluster(21),
        request(("group.version", 1, UPGRADE)),
        version=2,
        settings=SETTINGS,
        supported=supported_features() | {"group.version": VersionRange(0, 1)},
    )
    assert refusal(result) == (
        "Invalid update version 1 for feature group.version. Broker 1 does not support this "
        "feature."
    )


def test_level_0_removes_a_feature() -> None:
    image = cluster(21, finalized={"group.version": 1})
    assert image.features.finalized() == {MV: 21, "group.version": 1}
    assert refusal(run(image, ("group.version", 0, UPGRADE))).endswith(
        "Can't downgrade the version of this feature without setting the upgrade type to "
        "either safe or unsafe downgrade."
    )
    result = run(image, ("group.version", 0, SAFE_DOWNGRADE))
    assert messages(result) == [FeatureLevelRecord(name="group.version", feature_level=0)]
    assert replay(image, result.records).features.finalized() == {MV: 21}


def test_level_0_of_an_unfinalized_feature_is_written_as_kafka_does() -> None:
    result = run(cluster(21), ("transaction.version", 0, SAFE_DOWNGRADE))
    assert messages(result) == [FeatureLevelRecord(name="transaction.version", feature_level=0)]


def test_only_features_kafka_knows_can_be_named() -> None:
    assert refusal(run(cluster(21), ("foo.bar", 0, SAFE_DOWNGRADE))) == (
        "Invalid update version 0 for feature foo.bar. Feature foo.bar not found."
    )
    assert refusal(run(cluster(21), ("foo.bar", 1, UPGRADE))) == (
        "Invalid update version 1 for feature foo.bar. Local controller 1 does not support "
        "this feature."
    )


def test_kraft_version_0_is_a_no_op() -> None:
    upgrade = run(cluster(21), ("kraft.version", 0, UPGRADE))
    assert upgrade.response.error_code == 0
    assert messages(upgrade) == [NoOpRecord()]
    downgrade = run(cluster(21), ("kraft.version", 0, SAFE_DOWNGRADE))
    assert downgrade.response.error_code == 0
    assert downgrade.records == []


# -- the request as a whole --------------------------------------------------------------


def test_one_refused_update_refuses_them_all() -> None:
    result = run(cluster(17), (MV, 21, UPGRADE), ("group.version", 1, UPGRADE))
    assert refusal(result) == (
        "Invalid update version 1 for feature group.version. Local controller 1 does not "
        "support this feature."
    )


def test_updates_are_written_in_one_atomic_batch() -> None:
    result = run(cluster(17), (MV, 21, UPGRADE), ("group.version", 0, SAFE_DOWNGRADE))
    assert result.atomic
    assert messages(result) == [
        FeatureLevelRecord(name=MV, feature_level=21),
        FeatureLevelRecord(name="group.version", feature_level=0),
    ]


def test_validate_only_checks_and_writes_nothing() -> None:
    image = cluster(17)
    checked = run(image, (MV, 21, UPGRADE), validate_only=True)
    assert checked.records == []
    assert checked.response == run(image, (MV, 21, UPGRADE)).response
    assert refusal(run(image, (MV, 22, UPGRADE), validate_only=True)).endswith(
        "Local controller 1 only supports versions 1-21"
    )


def test_an_empty_request_succeeds_with_nothing_to_write() -> None:
    result = run(cluster(21), version=1)
    assert result.records == []
    assert result.response == UpdateFeaturesResponse(error_code=0, error_message=None, results=[])


# -- versions ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1])
def test_v0_and_v1_repeat_each_update_as_a_result(version: int) -> None:
    result = run(cluster(17), (MV, 21, UPGRADE), version=version)
    assert result.response == UpdateFeaturesResponse(
        error_code=0,
        error_message=None,
        results=[UpdatableFeatureResult(feature=MV, error_code=0, error_message="NONE")],
    )


@pytest.mark.parametrize("version", [0, 1, 2])
def test_a_refusal_has_no_results_at_any_version(version: int) -> None:
    result = run(cluster(21), (MV, 22, UPGRADE), version=version)
    refusal(result)


def test_v2_answers_without_results() -> None:
    response = run(cluster(17), (MV, 21, UPGRADE), version=2).response
    assert response.results == []
    assert encode(response, 2) == encode(UpdateFeaturesResponse(error_message=None), 2)


def test_a_name_given_twice_counts_once_with_its_last_level() -> None:
    result = run(cluster(17), (MV, 18, UPGRADE), (MV, 21, UPGRADE), version=1)
    assert messages(result) == [FeatureLevelRecord(name=MV, feature_level=21)]
    assert [r.feature for r in result.response.results] == [MV, MV]


def test_v0_allow_downgrade_is_not_read_by_the_controller() -> None:
    sent = UpdateFeaturesRequest(
        feature_updates=[FeatureUpdateKey(feature=MV, max_version_level=20, allow_downgrade=True)]
    )
    received = decode(UpdateFeaturesRequest, encode(sent, 0), 0)
    assert received.feature_updates[0].upgrade_type == UPGRADE
    result = update_features(cluster(21), received, version=0, settings=SETTINGS)
    assert refusal(result).endswith(
        "Can't downgrade the version of this feature without setting the upgrade type to "
        "either safe or unsafe downgrade."
    )


# -- through the quorum controller --------------------------------------------------------


def test_the_quorum_controller_appends_the_records_and_sees_them_at_once() -> None:
    settings = ControllerSettings(node_id=1, cluster_id=CLUSTER_ID, bootstrap_metadata_version=17)
    c = QuorumController(settings, schema=SCHEMA, id_source=Ids(), rng=rng())
    activation = c.activate(epoch=1, now_ms=0, next_offset=0)
    assert activation.batch is not None
    c.handle_committed_batch(activation.batch)
    dry = c.update_features(request((MV, 21, UPGRADE), validate_only=True), 1, now_ms=1)
    assert dry.batch is None
    assert c.image.features.metadata_version.level == 17
    decision = c.update_features(request((MV, 21, UPGRADE)), 1, now_ms=2)
    assert decision.batch is not None
    assert [r.message for r in decision.batch.records] == [
        FeatureLevelRecord(name=MV, feature_level=21)
    ]
    assert decision.commit_offset == decision.batch.last_offset
    assert c.image.features.metadata_version.level == 21
    assert c.committed_image.features.metadata_version.level == 17
    assert decision.response.results == [
        UpdatableFeatureResult(feature=MV, error_code=0, error_message="NONE")
    ]
