"""One partition's replication state: replicas, ISR, leader and the epochs that order changes.

A ``PartitionRecord`` (``shared/kafka-spec/metadata/PartitionRecord.json``) states a
partition in full; a ``PartitionChangeRecord`` (``PartitionChangeRecord.json``)
states only what changed, and :meth:`PartitionRegistration.merge` applies it with
Kafka's rules (``org.apache.kafka.metadata.PartitionRegistration.merge``):

* a field that is null (or, for the leader, -2) did not change;
* a new leader, even the same broker again, bumps the *leader epoch*, which fences
  requests from the previous leadership;
* every change bumps the *partition epoch*, which the leader quotes back in
  AlterPartition so that the controller can refuse requests based on stale state;
* ``leaderRecoveryState`` -1 means no change; 1 (RECOVERING) marks a leader chosen by
  an unclean election until it has rebuilt its ISR;
* directories of unknown placement default to :data:`~.directories.MIGRATING`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import msgspec

from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord

from . import directories
from .records import NO_LEADER, NO_LEADER_CHANGE, VersionedRecord
from .versions import MetadataVersion

#: ``LeaderRecoveryState``: elected from the ISR, or recovered from an unclean election.
RECOVERED = 0
#: ``LeaderRecoveryState``: elected uncleanly and still rebuilding its ISR.
RECOVERING = 1
#: ``PartitionChangeRecord.LeaderRecoveryState``: unchanged.
RECOVERY_STATE_NO_CHANGE = -1


class InvalidPartitionRecordError(ValueError):
    """A partition record whose fields contradict each other."""


def _default_to_migrating(
    dirs: Iterable[uuid.UUID] | None, replica_count: int
) -> tuple[uuid.UUID, ...]:
    found = tuple(dirs or ())
    if all(d == directories.MIGRATING for d in found):
        return (directories.MIGRATING,) * replica_count
    return found


def _recovery_state(value: int) -> int:
    if value not in (RECOVERED, RECOVERING):
        raise InvalidPartitionRecordError(f"{value} is not a valid leader recovery state")
    return value


class PartitionRegistration(msgspec.Struct, frozen=True, kw_only=True):
    """A partition as the metadata log describes it.

    ``directories[i]`` is the log directory of ``replicas[i]``. ``elr`` and
    ``last_known_elr`` are the eligible leader replicas of KIP-966; Odradek's
    controller does not maintain them, but replay keeps what the log says.
    """

    replicas: tuple[int, ...]
    directories: tuple[uuid.UUID, ...]
    isr: tuple[int, ...]
    removing_replicas: tuple[int, ...] = ()
    adding_replicas: tuple[int, ...] = ()
    elr: tuple[int, ...] = ()
    last_known_elr: tuple[int, ...] = ()
    leader: int
    leader_recovery_state: int = RECOVERED
    leader_epoch: int
    partition_epoch: int

    @classmethod
    def from_record(cls, record: PartitionRecord) -> PartitionRegistration:
        if record.directories and len(record.directories) != len(record.replicas):
            raise InvalidPartitionRecordError(
                f"partition {record.topic_id}:{record.partition_id} has "
                f"{len(record.replicas)} replicas but {len(record.directories)} directories"
            )
        return cls(
            replicas=tuple(record.replicas),
            directories=_default_to_migrating(record.directories, len(record.replicas)),
            isr=tuple(record.isr),
            removing_replicas=tuple(record.removing_replicas),
            adding_replicas=tuple(record.adding_replicas),
            elr=tuple(record.eligible_leader_replicas or ()),
            last_known_elr=tuple(record.last_known_elr or ()),
            leader=record.leader,
            leader_recovery_state=_recovery_state(record.leader_recovery_state),
            leader_epoch=record.leader_epoch,
            partition_epoch=record.partition_epoch,
        )

    def merge(self, record: PartitionChangeRecord) -> PartitionRegistration:
        """This partition after ``record``: only the fields the record sets change."""
        replicas = self.replicas if record.replicas is None else tuple(record.replicas)
        if (
            record.replicas is not None
            and record.directories
            and len(record.replicas) != len(record.directories)
        ):
            raise InvalidPartitionRecordError(
                f"change to {record.topic_id}:{record.partition_id} has "
                f"{len(record.replicas)} replicas but {len(record.directories)} directories"
            )
        dirs = _default_to_migrating(
            self.directories if record.directories is None else record.directories,
            len(replicas),
        )
        if len(dirs) != len(replicas):
            raise InvalidPartitionRecordError(
                f"change to {record.topic_id}:{record.partition_id} leaves {len(replicas)} "
                f"replicas with {len(dirs)} directories"
            )
        if record.leader == NO_LEADER_CHANGE:
            leader, leader_epoch = self.leader, self.leader_epoch
        else:
            leader, leader_epoch = record.leader, self.leader_epoch + 1
        return PartitionRegistration(
            replicas=replicas,
            directories=dirs,
            isr=self.isr if record.isr is None else tuple(record.isr),
            removing_replicas=(
                self.removing_replicas
                if record.removing_replicas is None
                else tuple(record.removing_replicas)
            ),
            adding_replicas=(
                self.adding_replicas
                if record.adding_replicas is None
                else tuple(record.adding_replicas)
            ),
            elr=(
                self.elr
                if record.eligible_leader_replicas is None
                else tuple(record.eligible_leader_replicas)
            ),
            last_known_elr=(
                self.last_known_elr
                if record.last_known_elr is None
                else tuple(record.last_known_elr)
            ),
            leader=leader,
            leader_recovery_state=(
                self.leader_recovery_state
                if record.leader_recovery_state == RECOVERY_STATE_NO_CHANGE
                else _recovery_state(record.leader_recovery_state)
            ),
            leader_epoch=leader_epoch,
            partition_epoch=self.partition_epoch + 1,
        )

    def to_record(
        self, topic_id: uuid.UUID, partition_id: int, metadata_version: MetadataVersion
    ) -> VersionedRecord:
        """This partition as a ``PartitionRecord`` at the version ``metadata_version`` writes."""
        record = PartitionRecord(
            partition_id=partition_id,
            topic_id=topic_id,
            replicas=list(self.replicas),
            isr=list(self.isr),
            removing_replicas=list(self.removing_replicas),
            adding_replicas=list(self.adding_replicas),
            leader=self.leader,
            leader_recovery_state=self.leader_recovery_state,
            leader_epoch=self.leader_epoch,
            partition_epoch=self.partition_epoch,
        )
        if metadata_version.supports_elr:
            # Tagged fields: written only when there is something to say.
            if self.elr:
                record.eligible_leader_replicas = list(self.elr)
            if self.last_known_elr:
                record.last_known_elr = list(self.last_known_elr)
        if metadata_version.supports_directory_assignment:
            record.directories = list(self.directories)
        return VersionedRecord(record, metadata_version.partition_record_version)

    @property
    def has_leader(self) -> bool:
        return self.leader != NO_LEADER

    @property
    def preferred_replica(self) -> int:
        return self.replicas[0] if self.replicas else NO_LEADER

    def directory(self, replica: int) -> uuid.UUID:
        """The log directory of ``replica``; ValueError if it is not a replica."""
        return self.directories[self.replicas.index(replica)]

    @property
    def is_reassigning(self) -> bool:
        return bool(self.removing_replicas or self.adding_replicas)
