"""UpdateFeatures (key 57) on the active controller: finalizing feature levels.

An operator moves a cluster-wide feature to a new level (``kafka-features.sh upgrade
--metadata 3.9-IV0``, ``downgrade --feature metadata.version=20``) once every node
runs software that supports it. The controller checks the request against what every
node declared and writes the new levels as ``FeatureLevelRecord`` s.

Behaviour (Kafka 4's ``QuorumController.updateFeatures`` and
``FeatureControlManager.updateFeatures``):

* each update names a feature, a level and an upgrade type: UPGRADE (1),
  SAFE_DOWNGRADE (2) or UNSAFE_DOWNGRADE (3). Version 0 has no upgrade type: the
  field decodes as its default, UPGRADE, and the controller does not read v0's
  ``AllowDowngrade``, as Kafka's does not;
* the checks, in Kafka's order, each refusal INVALID_UPDATE_VERSION with the text
  ``Invalid update version <level> for feature <name>. <reason>``: an unknown upgrade
  type; a level below 0; a level outside what this controller, every registered
  broker (fenced ones too) and every other registered controller supports -- a feature
  missing from a node's declaration is supported at level 0 only ("does not support
  this feature"), and from ``3.7-IV0`` every voter must have registered; a lower level
  asked as an UPGRADE; a higher level asked as a downgrade;
* level 0 removes a feature: only a downgrade gets below the current level, and only
  features Kafka knows may be named (``Feature <name> not found.``);
* ``metadata.version`` never goes below ``3.3-IV0`` (the first level a record can
  carry), and a downgrade across a level that changed the metadata records is refused
  (``Unsupported metadata.version downgrade from 21 to 16. Refusing ...``); Kafka 4
  implements no unsafe downgrade, so UNSAFE_DOWNGRADE across such a level is refused
  too. Downgrades between levels with the same records are allowed;
* ``kraft.version`` belongs to the Raft log, not to the metadata image: with a static
  quorum its only level is 0, and an UPGRADE to 0 writes a ``NoOpRecord`` so that the
  answer waits for a commit, as Kafka's does;
* the request is all or nothing: the first refused update refuses the whole request
  with a top-level error (``The update failed for all features since the following
  feature had an error: ...``) and no per-feature results. Otherwise one
  ``FeatureLevelRecord`` per update, also for a level that does not change, goes into
  one atomic batch; ``validate_only`` (v1+) checks everything and writes nothing;
* a successful answer at v0-v1 repeats every update as a result with error NONE and
  the message ``NONE`` (Kafka's ``Errors.NONE.message()``); v2 answers only the
  top-level error.

Updates are checked in the order the request names them (Kafka checks them in the
order of a hash map, so which of two bad updates is reported may differ). Kafka also
checks that a level's dependencies on other features hold (``group.version`` 1 needs
``transaction.version`` 2...); no feature Odradek supports above level 0 has any.

Specs: ``clients/UpdateFeaturesRequest.json``, ``clients/UpdateFeaturesResponse.json``,
``metadata/FeatureLevelRecord.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from odradek.metadata import versions
from odradek.metadata.cluster import VersionRange
from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.metadata.versions import MetadataVersion
from odradek.protocol.errors import ErrorCode, KafkaError
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

from .features import KAFKA_FEATURES, KRAFT_VERSION, supported_features
from .result import ControllerResult
from .settings import ControllerSettings

#: ``FeatureUpdate.UpgradeType`` codes.
UPGRADE: Final = 1
SAFE_DOWNGRADE: Final = 2
UNSAFE_DOWNGRADE: Final = 3

#: How a node that does not name a feature supports it (Kafka's ``QuorumFeatures.DISABLED``).
DISABLED: Final = VersionRange(0, 0)

#: The ``metadata.version`` levels whose records differ from the level below
#: (``MetadataVersion.didMetadataChange``): a downgrade across one may lose information.
METADATA_CHANGED_AT: Final = frozenset({1, 3, 5, 6, 7, 8, 11, 13, 14, 15, 17, 23})

FAILED_PREFIX: Final = (
    "The update failed for all features since the following feature had an error: "
)


def update_features(
    image: MetadataImage,
    request: UpdateFeaturesRequest,
    *,
    version: int,
    settings: ControllerSettings,
    supported: Mapping[str, VersionRange] | None = None,
) -> ControllerResult[UpdateFeaturesResponse]:
    """Check every update; write them all (unless ``validate_only``) or refuse the request.

    ``supported`` is what this controller's software supports (default: Odradek's
    :func:`~odradek.controller.features.supported_features`).
    """
    local = supported_features() if supported is None else supported
    # A name given twice counts once, with its last level, as in Kafka's map of updates.
    updates = {update.feature: update for update in request.feature_updates}
    records: list[VersionedRecord] = []
    try:
        for update in updates.values():
            records.extend(_update_feature(image, update, local, settings))
    except KafkaError as error:
        message = FAILED_PREFIX + error.message
        return ControllerResult(
            [], UpdateFeaturesResponse(error_code=error.code, error_message=message)
        )
    response = UpdateFeaturesResponse(error_code=ErrorCode.NONE, error_message=None)
    if version <= 1:
        response.results = [
            UpdatableFeatureResult(
                feature=update.feature, error_code=ErrorCode.NONE, error_message="NONE"
            )
            for update in request.feature_updates
        ]
    return ControllerResult([] if request.validate_only else records, response)


def metadata_changed_between(low: int, high: int) -> bool:
    """Whether some ``metadata.version`` level in ``(low, high]`` changed the records."""
    return any(level in METADATA_CHANGED_AT for level in range(low + 1, high + 1))


def _update_feature(
    image: MetadataImage,
    update: FeatureUpdateKey,
    local: Mapping[str, VersionRange],
    settings: ControllerSettings,
) -> list[VersionedRecord]:
    """The records of one update, or :class:`KafkaError` if it cannot be made."""
    name, level, upgrade_type = update.feature, update.max_version_level, update.upgrade_type
    if upgrade_type not in (UPGRADE, SAFE_DOWNGRADE, UNSAFE_DOWNGRADE):
        raise _invalid(name, level, "The controller does not support the given upgrade type.")
    current = _current_level(image, name)
    if level < 0:
        raise _invalid(name, level, "A feature version cannot be less than 0.")
    reason = _reason_not_supported(image, name, level, local, settings)
    if reason is not None:
        raise _invalid(name, level, reason)
    if level < current and upgrade_type == UPGRADE:
        raise _invalid(
            name,
            level,
            "Can't downgrade the version of this feature without setting the upgrade type "
            "to either safe or unsafe downgrade.",
        )
    if level > current and upgrade_type != UPGRADE:
        raise _invalid(name, level, "Can't downgrade to a newer version.")
    if name == versions.FEATURE_NAME:
        _check_metadata_version(current, level, unsafe=upgrade_type == UNSAFE_DOWNGRADE)
        return [VersionedRecord(FeatureLevelRecord(name=name, feature_level=level), 0)]
    if name == KRAFT_VERSION:
        # Only level 0 is supported, which is the current one: nothing changes, but an
        # UPGRADE still waits for a commit, as Kafka's upgrade through the Raft log does.
        return [VersionedRecord(NoOpRecord(), 0)] if upgrade_type == UPGRADE else []
    if name not in KAFKA_FEATURES:
        raise _invalid(name, level, f"Feature {name} not found.")
    return [VersionedRecord(FeatureLevelRecord(name=name, feature_level=level), 0)]


def _current_level(image: MetadataImage, name: str) -> int:
    if name == versions.FEATURE_NAME:
        return image.features.metadata_version.level
    if name == KRAFT_VERSION:
        return 0
    return image.features.finalized_versions.get(name, 0)


def _reason_not_supported(
    image: MetadataImage,
    name: str,
    level: int,
    local: Mapping[str, VersionRange],
    settings: ControllerSettings,
) -> str | None:
    """Why some node cannot run ``name`` at ``level``, or None if every node can.

    Kafka's ``FeatureControlManager.reasonNotSupported``: this controller first, then
    every registered broker, then the other controllers, whose registrations can only
    be checked from ``3.7-IV0`` on (before, the quorum is taken on trust).
    """
    reason = _not_supported(level, f"Local controller {settings.node_id}", local.get(name))
    if reason is not None:
        return reason
    cluster = image.cluster
    for broker_id in sorted(cluster.brokers):
        features = cluster.brokers[broker_id].supported_features
        reason = _not_supported(level, f"Broker {broker_id}", features.get(name))
        if reason is not None:
            return reason
    if not image.features.metadata_version.supports_controller_registration:
        return None
    found = {settings.node_id}
    for controller_id in sorted(cluster.controllers):
        if controller_id == settings.node_id:
            continue
        features = cluster.controllers[controller_id].supported_features
        reason = _not_supported(level, f"Controller {controller_id}", features.get(name))
        if reason is not None:
            return reason
        found.add(controller_id)
    for controller_id in sorted(settings.controller_ids):
        if controller_id not in found:
            return (
                f"controller {controller_id} has not registered, and may not support this feature"
            )
    return None


def _not_supported(level: int, who: str, supported: VersionRange | None) -> str | None:
    """Kafka's ``QuorumFeatures.reasonNotSupported`` for one node."""
    supported = supported or DISABLED
    if supported.contains(level):
        return None
    if supported.max == 0:
        return f"{who} does not support this feature."
    return f"{who} only supports versions {_range_text(supported)}"


def _range_text(supported: VersionRange) -> str:
    """A range as Kafka's ``VersionRange.toString`` writes it: ``7``, ``1-21``."""
    if supported.min == supported.max:
        return str(supported.min)
    return f"{supported.min}-{supported.max}"


def _check_metadata_version(current: int, level: int, *, unsafe: bool) -> None:
    """The extra rules of ``metadata.version`` (Kafka's ``updateMetadataVersion``)."""
    if level < versions.MINIMUM_BOOTSTRAP_VERSION:
        lowest = MetadataVersion(versions.MINIMUM_BOOTSTRAP_VERSION).name
        raise KafkaError(
            ErrorCode.INVALID_UPDATE_VERSION,
            f"Invalid metadata.version {level}. "
            f"Unable to set a metadata.version less than {lowest}",
        )
    if level < current and metadata_changed_between(level, current):
        reason = (
            "Unsafe metadata downgrade is not supported in this version."
            if unsafe
            else "Refusing to perform the requested downgrade because it might delete "
            "metadata information."
        )
        raise KafkaError(
            ErrorCode.INVALID_UPDATE_VERSION,
            f"Unsupported metadata.version downgrade from {current} to {level}. {reason}",
        )


def _invalid(name: str, level: int, reason: str) -> KafkaError:
    return KafkaError(
        ErrorCode.INVALID_UPDATE_VERSION,
        f"Invalid update version {level} for feature {name}. {reason}",
    )
