"""Who is in the cluster: broker and controller registrations.

A broker joins by registering (``RegisterBrokerRecord``, written when the
controller accepts a BrokerRegistration request); its registration carries its
endpoints, rack, supported features, log directories and a *broker epoch* that
changes with every new incarnation of the process. Its state then moves between
fenced (the default: not trusted to lead or be in an ISR), unfenced, and in
controlled shutdown, through ``BrokerRegistrationChangeRecord`` (or the older
``FenceBrokerRecord`` / ``UnfenceBrokerRecord``), each naming the broker epoch it
applies to. ``UnregisterBrokerRecord`` removes a broker. Controllers register
with ``RegisterControllerRecord`` (KIP-919) so that brokers can find them.

Specs: ``shared/kafka-spec/metadata/RegisterBrokerRecord.json``,
``BrokerRegistrationChangeRecord.json``, ``FenceBrokerRecord.json``,
``UnfenceBrokerRecord.json``, ``UnregisterBrokerRecord.json``,
``RegisterControllerRecord.json``. Mirrors Kafka's ``BrokerRegistration``,
``ControllerRegistration``, ``ClusterImage`` and ``ClusterDelta``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.fence_broker_record import FenceBrokerRecord
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    BrokerFeature,
    RegisterBrokerRecord,
)
from odradek.protocol.messages.metadata.register_controller_record import (
    ControllerEndpoint,
    ControllerFeature,
    RegisterControllerRecord,
)
from odradek.protocol.messages.metadata.unfence_broker_record import UnfenceBrokerRecord
from odradek.protocol.messages.metadata.unregister_broker_record import UnregisterBrokerRecord

from . import directories
from .merge import differences, merged
from .records import MetadataReplayError, VersionedRecord
from .versions import MetadataVersion

# BrokerRegistrationChangeRecord.Fenced: -1 unfenced, 0 no change, 1 fenced
# (Kafka's BrokerRegistrationFencingChange).
FENCING_UNFENCE = -1
FENCING_NONE = 0
FENCING_FENCE = 1
# BrokerRegistrationChangeRecord.InControlledShutdown: 0 no change, 1 entered it.
CONTROLLED_SHUTDOWN_NONE = 0
CONTROLLED_SHUTDOWN_ENTER = 1


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A named listener: where clients (or brokers, or controllers) reach a node."""

    name: str
    host: str
    port: int
    security_protocol: int


class VersionRange(msgspec.Struct, frozen=True):
    """The feature levels a node supports, both ends included."""

    min: int
    max: int

    def contains(self, level: int) -> bool:
        return self.min <= level <= self.max


class BrokerRegistration(msgspec.Struct, frozen=True, kw_only=True):
    """A registered broker, as the metadata log describes it.

    ``directories`` are the broker's online log directories, kept in Kafka's
    ``Uuid`` order.
    """

    broker_id: int
    epoch: int
    incarnation_id: uuid.UUID
    listeners: Mapping[str, Endpoint] = msgspec.field(default_factory=dict)
    supported_features: Mapping[str, VersionRange] = msgspec.field(default_factory=dict)
    rack: str | None = None
    fenced: bool = True
    in_controlled_shutdown: bool = False
    is_migrating_zk_broker: bool = False
    directories: tuple[uuid.UUID, ...] = ()

    @classmethod
    def from_record(cls, record: RegisterBrokerRecord) -> BrokerRegistration:
        return cls(
            broker_id=record.broker_id,
            epoch=record.broker_epoch,
            incarnation_id=record.incarnation_id,
            listeners={
                e.name: Endpoint(
                    name=e.name, host=e.host, port=e.port, security_protocol=e.security_protocol
                )
                for e in record.end_points
            },
            supported_features={
                f.name: VersionRange(f.min_supported_version, f.max_supported_version)
                for f in record.features
            },
            rack=record.rack,
            fenced=record.fenced,
            in_controlled_shutdown=record.in_controlled_shutdown,
            is_migrating_zk_broker=record.is_migrating_zk_broker,
            directories=sorted_directories(record.log_dirs),
        )

    def to_record(self, metadata_version: MetadataVersion) -> VersionedRecord:
        return VersionedRecord(
            RegisterBrokerRecord(
                broker_id=self.broker_id,
                is_migrating_zk_broker=self.is_migrating_zk_broker,
                incarnation_id=self.incarnation_id,
                broker_epoch=self.epoch,
                end_points=[
                    BrokerEndpoint(
                        name=e.name,
                        host=e.host,
                        port=e.port,
                        security_protocol=e.security_protocol,
                    )
                    for e in self.listeners.values()
                ],
                features=[
                    BrokerFeature(
                        name=name, min_supported_version=r.min, max_supported_version=r.max
                    )
                    for name, r in self.supported_features.items()
                ],
                rack=self.rack,
                fenced=self.fenced,
                in_controlled_shutdown=self.in_controlled_shutdown,
                log_dirs=list(self.directories),
            ),
            metadata_version.register_broker_record_version,
        )

    @property
    def is_active(self) -> bool:
        """Unfenced and not shutting down: fit to lead partitions and join ISRs."""
        return not self.fenced and not self.in_controlled_shutdown

    def has_online_dir(self, dir_id: uuid.UUID) -> bool:
        return directories.is_online(dir_id, self.directories)

    def default_dir(self) -> uuid.UUID:
        """The directory a new replica on this broker is assigned to (Kafka's ``defaultDir``)."""
        if not self.directories:
            return directories.MIGRATING
        if len(self.directories) == 1:
            return self.directories[0]
        return directories.UNASSIGNED

    def with_changes(
        self,
        *,
        fenced: bool | None = None,
        in_controlled_shutdown: bool | None = None,
        online_dirs: Iterable[uuid.UUID] | None = None,
    ) -> BrokerRegistration:
        """This registration with some state changed (Kafka's ``cloneWith``)."""
        return msgspec.structs.replace(
            self,
            fenced=self.fenced if fenced is None else fenced,
            in_controlled_shutdown=(
                self.in_controlled_shutdown
                if in_controlled_shutdown is None
                else in_controlled_shutdown
            ),
            directories=(
                self.directories if online_dirs is None else sorted_directories(online_dirs)
            ),
        )


def sorted_directories(dirs: Iterable[uuid.UUID]) -> tuple[uuid.UUID, ...]:
    return tuple(sorted(dirs, key=directories.java_order))


class ControllerRegistration(msgspec.Struct, frozen=True, kw_only=True):
    """A registered controller (KIP-919)."""

    controller_id: int
    incarnation_id: uuid.UUID
    zk_migration_ready: bool = False
    listeners: Mapping[str, Endpoint] = msgspec.field(default_factory=dict)
    supported_features: Mapping[str, VersionRange] = msgspec.field(default_factory=dict)

    @classmethod
    def from_record(cls, record: RegisterControllerRecord) -> ControllerRegistration:
        return cls(
            controller_id=record.controller_id,
            incarnation_id=record.incarnation_id,
            zk_migration_ready=record.zk_migration_ready,
            listeners={
                e.name: Endpoint(
                    name=e.name, host=e.host, port=e.port, security_protocol=e.security_protocol
                )
                for e in record.end_points
            },
            supported_features={
                f.name: VersionRange(f.min_supported_version, f.max_supported_version)
                for f in record.features
            },
        )

    def to_record(self) -> VersionedRecord:
        return VersionedRecord(
            RegisterControllerRecord(
                controller_id=self.controller_id,
                incarnation_id=self.incarnation_id,
                zk_migration_ready=self.zk_migration_ready,
                end_points=[
                    ControllerEndpoint(
                        name=e.name,
                        host=e.host,
                        port=e.port,
                        security_protocol=e.security_protocol,
                    )
                    for e in self.listeners.values()
                ],
                features=[
                    ControllerFeature(
                        name=name, min_supported_version=r.min, max_supported_version=r.max
                    )
                    for name, r in self.supported_features.items()
                ],
            ),
            0,
        )


class ClusterImage(msgspec.Struct, frozen=True, kw_only=True):
    """Every registered broker and controller, by node id."""

    brokers: Mapping[int, BrokerRegistration] = msgspec.field(default_factory=dict)
    controllers: Mapping[int, ControllerRegistration] = msgspec.field(default_factory=dict)

    def broker(self, broker_id: int) -> BrokerRegistration | None:
        return self.brokers.get(broker_id)

    def is_unfenced(self, broker_id: int) -> bool:
        broker = self.brokers.get(broker_id)
        return broker is not None and not broker.fenced

    def is_active(self, broker_id: int) -> bool:
        broker = self.brokers.get(broker_id)
        return broker is not None and broker.is_active

    def to_records(self, metadata_version: MetadataVersion) -> Iterator[VersionedRecord]:
        for broker_id in sorted(self.brokers):
            yield self.brokers[broker_id].to_record(metadata_version)
        for controller_id in sorted(self.controllers):
            yield self.controllers[controller_id].to_record()


EMPTY_CLUSTER = ClusterImage()


class ClusterDelta:
    """Registration changes on top of a :class:`ClusterImage`.

    ``changed_brokers`` maps a broker id to its new registration, or to None when
    it was unregistered; likewise ``changed_controllers``.
    """

    def __init__(self, image: ClusterImage) -> None:
        self.image = image
        self.changed_brokers: dict[int, BrokerRegistration | None] = {}
        self.changed_controllers: dict[int, ControllerRegistration | None] = {}

    @classmethod
    def from_snapshot(cls, image: ClusterImage, snapshot: ClusterImage) -> ClusterDelta:
        """From ``image`` to ``snapshot``: brokers and controllers the snapshot lacks are
        unregistered (Kafka's ``ClusterDelta.finishSnapshot``)."""
        delta = cls(image)
        delta.changed_brokers = differences(image.brokers, snapshot.brokers)
        delta.changed_controllers = differences(image.controllers, snapshot.controllers)
        return delta

    def broker(self, broker_id: int) -> BrokerRegistration | None:
        """The broker's registration as of this delta."""
        if broker_id in self.changed_brokers:
            return self.changed_brokers[broker_id]
        return self.image.brokers.get(broker_id)

    def _broker_at_epoch(self, broker_id: int, epoch: int, action: str) -> BrokerRegistration:
        broker = self.broker(broker_id)
        if broker is None:
            raise MetadataReplayError(
                f"tried to {action} broker {broker_id}, but that broker was not registered"
            )
        if broker.epoch != epoch:
            raise MetadataReplayError(
                f"tried to {action} broker {broker_id}, but the given epoch, {epoch}, did not "
                f"match the current broker epoch, {broker.epoch}"
            )
        return broker

    def replay_register_broker(self, record: RegisterBrokerRecord) -> None:
        self.changed_brokers[record.broker_id] = BrokerRegistration.from_record(record)

    def replay_unregister_broker(self, record: UnregisterBrokerRecord) -> None:
        broker = self.broker(record.broker_id)
        if broker is None or broker.epoch != record.broker_epoch:
            raise MetadataReplayError(
                f"unable to replay {record}: no broker {record.broker_id} registered with epoch "
                f"{record.broker_epoch}"
            )
        self.changed_brokers[record.broker_id] = None

    def replay_fence_broker(self, record: FenceBrokerRecord) -> None:
        broker = self._broker_at_epoch(record.id, record.epoch, "fence")
        self.changed_brokers[record.id] = broker.with_changes(fenced=True)

    def replay_unfence_broker(self, record: UnfenceBrokerRecord) -> None:
        broker = self._broker_at_epoch(record.id, record.epoch, "unfence")
        self.changed_brokers[record.id] = broker.with_changes(fenced=False)

    def replay_registration_change(self, record: BrokerRegistrationChangeRecord) -> None:
        broker = self._broker_at_epoch(record.broker_id, record.broker_epoch, "change")
        fencing = {FENCING_UNFENCE: False, FENCING_NONE: None, FENCING_FENCE: True}
        if record.fenced not in fencing:
            raise MetadataReplayError(f"unknown value {record.fenced} for fenced in {record}")
        shutdown = {CONTROLLED_SHUTDOWN_NONE: None, CONTROLLED_SHUTDOWN_ENTER: True}
        if record.in_controlled_shutdown not in shutdown:
            raise MetadataReplayError(
                f"unknown value {record.in_controlled_shutdown} for inControlledShutdown in "
                f"{record}"
            )
        changed = broker.with_changes(
            fenced=fencing[record.fenced],
            in_controlled_shutdown=shutdown[record.in_controlled_shutdown],
            online_dirs=record.log_dirs or None,
        )
        if changed != broker:
            self.changed_brokers[record.broker_id] = changed

    def replay_register_controller(self, record: RegisterControllerRecord) -> None:
        self.changed_controllers[record.controller_id] = ControllerRegistration.from_record(record)

    def apply(self) -> ClusterImage:
        return ClusterImage(
            brokers=merged(self.image.brokers, self.changed_brokers),
            controllers=merged(self.image.controllers, self.changed_controllers),
        )
