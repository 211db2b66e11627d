"""Leaders and ISRs when brokers come and go.

When a broker is fenced, shuts down or unregisters, it leaves every ISR it is in
and every partition it leads elects a new leader from the rest of its ISR; when a
broker is unfenced, partitions left without a leader may elect it. Each affected
partition gets one ``PartitionChangeRecord`` built by
:func:`~.partition_change.partition_change`; partitions of topics with
``unclean.leader.election.enable`` may elect a leader from outside the ISR.

The records for a broker state change come with the registration record that
states the change: a fenced broker's partitions move *before* the
``BrokerRegistrationChangeRecord`` that fences it, and a newly unfenced broker's
record comes *first*, so that replaying the batch in order always finds the
elected leader acceptable.

Mirrors ``ReplicationControlManager.handleBrokerFenced`` / ``handleBrokerUnfenced`` /
``handleBrokerInControlledShutdown`` / ``handleBrokerUnregistered`` and
``generateLeaderAndIsrUpdates`` in Kafka.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator

from odradek.metadata import directories
from odradek.metadata.cluster import (
    CONTROLLED_SHUTDOWN_ENTER,
    FENCING_FENCE,
    FENCING_UNFENCE,
)
from odradek.metadata.image import MetadataImage
from odradek.metadata.partition import PartitionRegistration
from odradek.metadata.records import NO_LEADER, VersionedRecord
from odradek.metadata.topics import TopicImage
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.fence_broker_record import FenceBrokerRecord
from odradek.protocol.messages.metadata.unfence_broker_record import UnfenceBrokerRecord
from odradek.protocol.messages.metadata.unregister_broker_record import UnregisterBrokerRecord

from .configs import unclean_leader_election_enabled
from .partition_change import Election, partition_change
from .settings import ControllerSettings

PartitionRef = tuple[TopicImage, int, PartitionRegistration]


def default_dir(image: MetadataImage) -> Callable[[int], uuid.UUID]:
    """The directory new replicas on each broker get (UNASSIGNED for unknown brokers)."""

    def pick(broker_id: int) -> uuid.UUID:
        broker = image.cluster.broker(broker_id)
        return directories.UNASSIGNED if broker is None else broker.default_dir()

    return pick


def leader_acceptor(
    image: MetadataImage,
    partition: PartitionRegistration,
    base: Callable[[int], bool] | None = None,
) -> Callable[[int], bool]:
    """Whether a replica may lead ``partition``: an active broker whose replica's disk is online.

    ``base`` replaces "active broker" (the fencing and unfencing paths adjust it).
    """
    is_live = base if base is not None else image.cluster.is_active

    def accept(broker_id: int) -> bool:
        if not is_live(broker_id):
            return False
        broker = image.cluster.broker(broker_id)
        try:
            directory = partition.directory(broker_id)
        except ValueError:
            return False
        return broker is not None and broker.has_online_dir(directory)

    return accept


def partitions_with_isr_member(image: MetadataImage, broker_id: int) -> Iterator[PartitionRef]:
    for topic in image.topics.by_id.values():
        for partition_id, partition in topic.partitions.items():
            if broker_id in partition.isr:
                yield topic, partition_id, partition


def partitions_without_leader(image: MetadataImage) -> Iterator[PartitionRef]:
    for topic in image.topics.by_id.values():
        for partition_id, partition in topic.partitions.items():
            if partition.leader == NO_LEADER:
                yield topic, partition_id, partition


def partitions_led_by(image: MetadataImage, broker_id: int) -> Iterator[PartitionRef]:
    for topic in image.topics.by_id.values():
        for partition_id, partition in topic.partitions.items():
            if partition.leader == broker_id:
                yield topic, partition_id, partition


def has_leaderships(image: MetadataImage, broker_id: int) -> bool:
    """True if ``broker_id`` leads at least one partition."""
    return next(partitions_led_by(image, broker_id), None) is not None


def leader_and_isr_updates(
    image: MetadataImage,
    settings: ControllerSettings,
    partitions: Iterable[PartitionRef],
    *,
    broker_to_remove: int = NO_LEADER,
    broker_to_add: int = NO_LEADER,
) -> list[VersionedRecord]:
    """Records moving ``partitions`` off ``broker_to_remove`` and onto ``broker_to_add``.

    ``broker_to_remove`` leaves each ISR and may not lead; ``broker_to_add`` may lead
    even though the image still shows it fenced (its unfencing is in the same batch).
    """
    metadata_version = image.features.metadata_version
    dirs = default_dir(image)

    def live(broker_id: int) -> bool:
        if broker_id == broker_to_remove:
            return False
        return broker_id == broker_to_add or image.cluster.is_active(broker_id)

    records = []
    for topic, partition_id, partition in partitions:
        election = (
            Election.UNCLEAN
            if unclean_leader_election_enabled(image, settings, topic.name)
            else Election.ONLINE
        )
        record = partition_change(
            partition,
            topic.topic_id,
            partition_id,
            metadata_version=metadata_version,
            is_acceptable_leader=leader_acceptor(image, partition, live),
            default_dir=dirs,
            target_isr=[r for r in partition.isr if r != broker_to_remove],
            election=election,
        )
        if record is not None:
            records.append(record)
    return records


def _registration_change(
    broker_id: int, epoch: int, *, fenced: int = 0, shutdown: int = 0
) -> VersionedRecord:
    return VersionedRecord(
        BrokerRegistrationChangeRecord(
            broker_id=broker_id,
            broker_epoch=epoch,
            fenced=fenced,
            in_controlled_shutdown=shutdown,
        ),
        1 if shutdown else 0,
    )


def broker_fenced(
    image: MetadataImage, settings: ControllerSettings, broker_id: int
) -> list[VersionedRecord]:
    """Fence a broker: it leaves every ISR, then its registration says fenced."""
    broker = image.cluster.broker(broker_id)
    if broker is None:
        raise ValueError(f"can't find broker registration for broker {broker_id}")
    records = leader_and_isr_updates(
        image, settings, partitions_with_isr_member(image, broker_id), broker_to_remove=broker_id
    )
    if image.features.metadata_version.uses_registration_change_record:
        records.append(_registration_change(broker_id, broker.epoch, fenced=FENCING_FENCE))
    else:
        records.append(VersionedRecord(FenceBrokerRecord(id=broker_id, epoch=broker.epoch), 0))
    return records


def broker_unfenced(
    image: MetadataImage, settings: ControllerSettings, broker_id: int, epoch: int
) -> list[VersionedRecord]:
    """Unfence a broker, then give it the partitions that have no leader and can take it."""
    if image.features.metadata_version.uses_registration_change_record:
        records = [_registration_change(broker_id, epoch, fenced=FENCING_UNFENCE)]
    else:
        records = [VersionedRecord(UnfenceBrokerRecord(id=broker_id, epoch=epoch), 0)]
    records += leader_and_isr_updates(
        image, settings, partitions_without_leader(image), broker_to_add=broker_id
    )
    return records


def broker_in_controlled_shutdown(
    image: MetadataImage, settings: ControllerSettings, broker_id: int, epoch: int
) -> list[VersionedRecord]:
    """Start a controlled shutdown: mark it, then move leadership and ISR membership away."""
    records = []
    broker = image.cluster.broker(broker_id)
    if image.features.metadata_version.supports_controlled_shutdown_state and not (
        broker is not None and broker.in_controlled_shutdown
    ):
        records.append(_registration_change(broker_id, epoch, shutdown=CONTROLLED_SHUTDOWN_ENTER))
    records += leader_and_isr_updates(
        image, settings, partitions_with_isr_member(image, broker_id), broker_to_remove=broker_id
    )
    return records


def broker_unregistered(
    image: MetadataImage, settings: ControllerSettings, broker_id: int, epoch: int
) -> list[VersionedRecord]:
    """Remove a broker: it leaves every ISR, then its registration goes."""
    records = leader_and_isr_updates(
        image, settings, partitions_with_isr_member(image, broker_id), broker_to_remove=broker_id
    )
    records.append(
        VersionedRecord(UnregisterBrokerRecord(broker_id=broker_id, broker_epoch=epoch), 0)
    )
    return records
