"""ControllerRegistration (key 70) on the active controller: controllers join the metadata.

Brokers have always registered; from ``metadata.version`` 3.7-IV0 controllers do too
(KIP-919), so that the metadata log knows every controller's endpoints and the feature
levels its software supports. Admin tools that talk to the controllers directly
(``--bootstrap-controller``) find them through DescribeCluster, and UpdateFeatures
refuses a level that some voter has not declared it supports -- or any level at all
while a voter has not registered.

Every controller, the active one included, sends its registration once it has caught
up with the metadata log, and again whenever the log holds none for it or an older
one (:mod:`odradek.node.controller_registration`). Behaviour (Kafka 4's
``ClusterControlManager.registerController``):

* below ``3.7-IV0`` the request is refused with UNSUPPORTED_VERSION ("The current
  MetadataVersion is too old to support controller registrations.");
* otherwise the answer is one ``RegisterControllerRecord`` with the request's id,
  incarnation id, listeners and features, as they are: a controller is not checked
  against the finalized levels, nor against an earlier incarnation, since a
  controller is a voter of the quorum before it registers and registering changes
  nothing about who decides. The record replaces any earlier registration of the id;
* ``ZkMigrationReady`` is always written false: Kafka 4 has no ZooKeeper migration.

The response carries only an error code and message; it is sent once the record has
committed.

Specs: ``clients/ControllerRegistrationRequest.json``,
``clients/ControllerRegistrationResponse.json``, ``metadata/RegisterControllerRecord.json``.
"""

from __future__ import annotations

from odradek.metadata.image import MetadataImage
from odradek.metadata.records import VersionedRecord
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.controller_registration_request import (
    ControllerRegistrationRequest,
)
from odradek.protocol.messages.clients.controller_registration_response import (
    ControllerRegistrationResponse,
)
from odradek.protocol.messages.metadata.register_controller_record import (
    ControllerEndpoint,
    ControllerFeature,
    RegisterControllerRecord,
)

from .result import ControllerResult

#: The only version of ``RegisterControllerRecord``.
RECORD_VERSION = 0

TOO_OLD = "The current MetadataVersion is too old to support controller registrations."


def register_controller(
    image: MetadataImage, request: ControllerRegistrationRequest
) -> ControllerResult[ControllerRegistrationResponse]:
    """The controller's ``RegisterControllerRecord``, or UNSUPPORTED_VERSION before 3.7-IV0."""
    if not image.features.metadata_version.supports_controller_registration:
        return ControllerResult(
            [],
            ControllerRegistrationResponse(
                error_code=ErrorCode.UNSUPPORTED_VERSION, error_message=TOO_OLD
            ),
        )
    # Listeners are keyed by name (Kafka's ``ListenerInfo``): a name given twice counts
    # once, with its last entry, in the place the name first came. Features are copied
    # as they come.
    listeners = {
        listener.name: ControllerEndpoint(
            name=listener.name,
            host=listener.host,
            port=listener.port,
            security_protocol=listener.security_protocol,
        )
        for listener in request.listeners
    }
    features = [
        ControllerFeature(
            name=feature.name,
            min_supported_version=feature.min_supported_version,
            max_supported_version=feature.max_supported_version,
        )
        for feature in request.features
    ]
    record = RegisterControllerRecord(
        controller_id=request.controller_id,
        incarnation_id=request.incarnation_id,
        zk_migration_ready=False,
        end_points=list(listeners.values()),
        features=features,
    )
    return ControllerResult(
        [VersionedRecord(record, RECORD_VERSION)],
        ControllerRegistrationResponse(error_code=ErrorCode.NONE, error_message=None),
    )
