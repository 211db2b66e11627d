"""Joining and leaving the cluster: broker and controller registration.

A broker process registers on start-up (BrokerRegistration,
``shared/kafka-spec/clients/BrokerRegistrationRequest.json``) with its endpoints,
rack, log directories, the feature levels it supports, and an *incarnation id*
that is new for every process start. The controller answers with a ``RegisterBrokerRecord``
(``metadata/RegisterBrokerRecord.json``):

* a new incarnation gets a new *broker epoch*: the offset the record will be written
  at, so epochs only grow; requests carrying an older epoch are from a dead process;
* the same incarnation registering again (a retried request) keeps its epoch and
  its fenced and shutdown state;
* a different incarnation while the old one still has a live session is refused
  (DUPLICATE_BROKER_REGISTRATION): two processes would share one broker id;
* every finalized feature level must be within the broker's supported range
  (UNSUPPORTED_VERSION), and a broker that says nothing of ``metadata.version``
  is taken to support only the KRaft minimum;
* since ``metadata.version`` 3.7-IV2 the broker must name its log directories,
  none reserved, none repeated, none claimed by another broker (INVALID_REGISTRATION).

A new registration starts fenced; the broker is unfenced by a heartbeat once it has
caught up with the log (see :mod:`.heartbeats`). Controllers register too
(ControllerRegistration, KIP-919): :mod:`.controller_registration`.

Mirrors ``ClusterControlManager.registerBroker`` and
``ReplicationControlManager.unregisterBroker`` in Kafka.
"""

from __future__ import annotations

from collections.abc import Callable

from odradek.metadata import directories, versions
from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
)
from odradek.protocol.messages.clients.broker_registration_response import (
    BrokerRegistrationResponse,
)
from odradek.protocol.messages.clients.unregister_broker_response import (
    UnregisterBrokerResponse,
)
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    BrokerFeature,
    RegisterBrokerRecord,
)

from . import leadership
from .result import ControllerResult
from .settings import ControllerSettings


def _checked_feature(finalized: dict[str, int], feature: Feature) -> BrokerFeature:
    # An unfinalized metadata.version means the KRaft minimum; other features mean 0.
    default = versions.MINIMUM_KRAFT_VERSION if feature.name == versions.FEATURE_NAME else 0
    level = finalized.get(feature.name, default)
    if not feature.min_supported_version <= level <= feature.max_supported_version:
        raise KafkaError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"Unable to register because the broker does not support finalized version {level} "
            f"of {feature.name}. The broker wants a version between "
            f"{feature.min_supported_version} and {feature.max_supported_version}, inclusive.",
        )
    return BrokerFeature(
        name=feature.name,
        min_supported_version=feature.min_supported_version,
        max_supported_version=feature.max_supported_version,
    )


def _check_directories(image: MetadataImage, request: BrokerRegistrationRequest) -> None:
    dirs = request.log_dirs
    if not dirs:
        raise KafkaError(ErrorCode.INVALID_REGISTRATION, "No directories specified in request")
    if any(directories.is_reserved(d) for d in dirs):
        raise KafkaError(ErrorCode.INVALID_REGISTRATION, "Reserved directory ID in request")
    if len(set(dirs)) != len(dirs):
        raise KafkaError(ErrorCode.INVALID_REGISTRATION, "Duplicate directory ID in request")
    for broker in image.cluster.brokers.values():
        if broker.broker_id == request.broker_id:
            continue
        for d in dirs:
            if d in broker.directories:
                raise KafkaError(
                    ErrorCode.INVALID_REGISTRATION,
                    f"Broker {broker.broker_id} is already registered with directory {d}",
                )


def register_broker(
    image: MetadataImage,
    request: BrokerRegistrationRequest,
    *,
    settings: ControllerSettings,
    new_broker_epoch: int,
    has_valid_session: Callable[[int], bool],
) -> ControllerResult[BrokerRegistrationResponse]:
    """BrokerRegistration: the broker's ``RegisterBrokerRecord`` and its broker epoch.

    ``new_broker_epoch`` is the offset the record will be written at;
    ``has_valid_session`` says whether a broker id has a live heartbeat session.
    """
    try:
        record = _registration_record(
            image,
            request,
            settings=settings,
            new_broker_epoch=new_broker_epoch,
            has_valid_session=has_valid_session,
        )
    except KafkaError as exc:
        return ControllerResult([], BrokerRegistrationResponse(error_code=exc.code))
    version = image.features.metadata_version.register_broker_record_version
    return ControllerResult(
        [VersionedRecord(record, version)],
        BrokerRegistrationResponse(broker_epoch=record.broker_epoch),
    )


def _registration_record(
    image: MetadataImage,
    request: BrokerRegistrationRequest,
    *,
    settings: ControllerSettings,
    new_broker_epoch: int,
    has_valid_session: Callable[[int], bool],
) -> RegisterBrokerRecord:
    if request.cluster_id != settings.cluster_id:
        raise KafkaError(
            ErrorCode.INCONSISTENT_CLUSTER_ID,
            f"Expected cluster ID {settings.cluster_id}, but got cluster ID {request.cluster_id}",
        )
    broker_id = request.broker_id
    existing = image.cluster.broker(broker_id)
    if (
        existing is not None
        and has_valid_session(broker_id)
        and existing.incarnation_id != request.incarnation_id
    ):
        raise KafkaError(
            ErrorCode.DUPLICATE_BROKER_REGISTRATION,
            "Another broker is registered with that broker id.",
        )
    if request.is_migrating_zk_broker:
        raise KafkaError(
            ErrorCode.BROKER_ID_NOT_REGISTERED,
            "Controller does not support registering ZK brokers.",
        )
    metadata_version = image.features.metadata_version
    if metadata_version.supports_directory_assignment:
        _check_directories(image, request)
    finalized = image.features.finalized()
    features = [_checked_feature(finalized, f) for f in request.features]
    named = {f.name for f in request.features}
    if versions.FEATURE_NAME not in named:
        minimum = versions.MINIMUM_KRAFT_VERSION
        features.append(
            _checked_feature(
                finalized,
                Feature(
                    name=versions.FEATURE_NAME,
                    min_supported_version=minimum,
                    max_supported_version=minimum,
                ),
            )
        )
    for name, level in finalized.items():
        if level and name not in named and name != versions.FEATURE_NAME:
            _checked_feature(finalized, Feature(name=name))
    record = RegisterBrokerRecord(
        broker_id=broker_id,
        is_migrating_zk_broker=request.is_migrating_zk_broker,
        incarnation_id=request.incarnation_id,
        end_points=[
            BrokerEndpoint(
                name=listener.name,
                host=listener.host,
                port=listener.port,
                security_protocol=listener.security_protocol,
            )
            for listener in request.listeners
        ],
        features=features,
        rack=request.rack,
    )
    if metadata_version.supports_directory_assignment:
        record.log_dirs = list(request.log_dirs)
    if existing is not None and existing.incarnation_id == request.incarnation_id:
        record.broker_epoch = existing.epoch
        record.fenced = existing.fenced
        record.in_controlled_shutdown = existing.in_controlled_shutdown
    else:
        record.broker_epoch = new_broker_epoch
    return record


def unregister_broker(
    image: MetadataImage, broker_id: int, *, settings: ControllerSettings
) -> ControllerResult[UnregisterBrokerResponse]:
    """UnregisterBroker: the broker leaves every ISR, then its registration is removed."""
    broker = image.cluster.broker(broker_id)
    if broker is None:
        return ControllerResult(
            [],
            UnregisterBrokerResponse(
                error_code=ErrorCode.BROKER_ID_NOT_REGISTERED,
                error_message=f"Broker ID {broker_id} is not currently registered",
            ),
        )
    records = leadership.broker_unregistered(image, settings, broker_id, broker.epoch)
    return ControllerResult(records, UnregisterBrokerResponse(error_message=None), atomic=False)
