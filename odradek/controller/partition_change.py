"""Building a ``PartitionChangeRecord``: the one place where ISRs shrink and leaders are elected.

Every change to an existing partition -- an ISR update from its leader, a broker
fenced or unfenced, a reassignment step -- states a *target* (ISR, replicas,
reassignment lists, recovery state) and asks for a record that moves the partition
there, electing a leader on the way. The rules, from Kafka's
``PartitionChangeBuilder``:

1. If a reassignment is in progress and the target ISR now holds every replica of
   the target assignment, the reassignment completes: removed replicas leave the
   ISR and the replica list, and the adding/removing lists clear.
2. Election. The current leader stays if it is still in the target ISR and
   acceptable (alive, not shutting down, its directory online). Otherwise the first
   replica, in replica order, that is in the target ISR and acceptable leads; a
   *preferred* election tries the first replica before the current leader. If none
   qualifies and unclean election is allowed, the first acceptable replica leads
   even outside the ISR: the ISR becomes just that replica (data written only to the
   old ISR may be lost) and the leader is marked RECOVERING. Otherwise there is no
   leader (-1).
3. A leader change, or a replica set losing a member, bumps the leader epoch (the
   record sets ``Leader``, even to the same broker); before ``metadata.version``
   3.6 an ISR shrink did too.
4. The ISR is never written empty: the last member stays in it, so that the replica
   most likely to have all the data is known when brokers come back.
5. Nothing changed: no record at all.

Eligible leader replicas (KIP-966) are not maintained. Spec:
``shared/kafka-spec/metadata/PartitionChangeRecord.json``.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping, Sequence

from odradek.metadata.partition import RECOVERING, PartitionRegistration
from odradek.metadata.records import NO_LEADER, NO_LEADER_CHANGE, VersionedRecord
from odradek.metadata.versions import MetadataVersion
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord


class Election(enum.Enum):
    """How far an election may go to find a leader."""

    #: Elect the first replica if it is in the ISR; otherwise as ONLINE.
    PREFERRED = "preferred"
    #: Keep the partition online with a leader from the ISR.
    ONLINE = "online"
    #: Prefer the ISR, but take any live replica rather than stay offline.
    UNCLEAN = "unclean"


def _complete_reassignment(
    isr: list[int], replicas: list[int], removing: list[int], adding: list[int]
) -> tuple[list[int], list[int]] | None:
    """The ISR and replicas that finish the reassignment, or None if it cannot finish yet."""
    if not removing and not adding:
        return None
    new_isr, new_replicas = isr, replicas
    if removing:
        new_isr = [r for r in isr if r not in removing]
        new_replicas = [r for r in replicas if r not in removing]
        if not new_isr or not new_replicas:
            return None
    if not set(new_replicas) <= set(new_isr):
        return None
    return new_isr, new_replicas


def partition_change(
    partition: PartitionRegistration,
    topic_id: uuid.UUID,
    partition_id: int,
    *,
    metadata_version: MetadataVersion,
    is_acceptable_leader: Callable[[int], bool],
    default_dir: Callable[[int], uuid.UUID],
    target_isr: Sequence[int] | None = None,
    target_replicas: Sequence[int] | None = None,
    target_removing: Sequence[int] | None = None,
    target_adding: Sequence[int] | None = None,
    target_leader_recovery_state: int | None = None,
    target_directories: Mapping[int, uuid.UUID] | None = None,
    election: Election = Election.ONLINE,
) -> VersionedRecord | None:
    """The record that moves ``partition`` to the targets, or None if nothing changes.

    A target left as None keeps the partition's current value. ``default_dir``
    gives the directory of a replica new to the partition.
    """
    isr = list(partition.isr if target_isr is None else target_isr)
    replicas = list(partition.replicas if target_replicas is None else target_replicas)
    removing = list(partition.removing_replicas if target_removing is None else target_removing)
    adding = list(partition.adding_replicas if target_adding is None else target_adding)
    recovery_state = (
        partition.leader_recovery_state
        if target_leader_recovery_state is None
        else target_leader_recovery_state
    )

    completed = _complete_reassignment(isr, replicas, removing, adding)
    if completed is not None:
        isr, replicas = completed
        removing, adding = [], []

    record = PartitionChangeRecord(partition_id=partition_id, topic_id=topic_id)

    def valid_leader(replica: int) -> bool:
        return replica in isr and is_acceptable_leader(replica)

    leader, unclean = _elect(partition, replicas, valid_leader, is_acceptable_leader, election)
    if leader != partition.leader:
        record.leader = leader
        if unclean:
            record.isr = [leader]
            if (
                partition.leader_recovery_state != RECOVERING
                and metadata_version.supports_leader_recovery
            ):
                record.leader_recovery_state = RECOVERING

    if record.leader == NO_LEADER_CHANGE and not set(partition.replicas) <= set(replicas):
        # Replicas leaving the assignment must stop acting on the old leadership.
        record.leader = partition.leader

    if record.isr is None and isr and isr != list(partition.isr):
        record.isr = isr

    if (
        metadata_version.bumps_leader_epoch_on_isr_shrink
        and record.leader == NO_LEADER_CHANGE
        and record.isr is not None
        and not set(partition.isr) <= set(record.isr)
    ):
        record.leader = partition.leader

    if replicas:
        if metadata_version.supports_directory_assignment:
            current = dict(zip(partition.replicas, partition.directories, strict=True))
            current.update(target_directories or {})
            dirs = [current[r] if r in current else default_dir(r) for r in replicas]
            if dirs != list(partition.directories):
                record.directories = dirs
        if replicas != list(partition.replicas):
            record.replicas = replicas
    if removing != list(partition.removing_replicas):
        record.removing_replicas = removing
    if adding != list(partition.adding_replicas):
        record.adding_replicas = adding
    if recovery_state != partition.leader_recovery_state:
        record.leader_recovery_state = recovery_state

    if _is_no_op(record):
        return None
    return VersionedRecord(record, metadata_version.partition_change_record_version)


def _elect(
    partition: PartitionRegistration,
    replicas: Sequence[int],
    valid_leader: Callable[[int], bool],
    is_acceptable_leader: Callable[[int], bool],
    election: Election,
) -> tuple[int, bool]:
    """The elected leader and whether the election was unclean."""
    if election is Election.PREFERRED and replicas and valid_leader(replicas[0]):
        return replicas[0], False
    if valid_leader(partition.leader):
        return partition.leader, False
    for replica in replicas:
        if valid_leader(replica):
            return replica, False
    if election is Election.UNCLEAN:
        for replica in replicas:
            if is_acceptable_leader(replica):
                return replica, True
    return NO_LEADER, False


def _is_no_op(record: PartitionChangeRecord) -> bool:
    return (
        record.isr is None
        and record.leader == NO_LEADER_CHANGE
        and record.replicas is None
        and record.removing_replicas is None
        and record.adding_replicas is None
        and record.leader_recovery_state == -1
        and record.directories is None
        and record.eligible_leader_replicas is None
        and record.last_known_elr is None
    )
