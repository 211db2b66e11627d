"""The records of ``__consumer_offsets``: what they hold and how they sit in the log.

Every record of the offsets topic is a key/value pair of two version-prefixed
messages, as Kafka's ``CoordinatorRecordSerde`` writes them::

    key   = int16 version + key body     (the key's version *is* the record type)
    value = int16 version + value body   (null value: a tombstone, deleting the key)

The record types this coordinator writes and replays (``shared/kafka-spec/
group-coordinator/*.json``):

=====  ==============================  ===========================================
type   key                             value
=====  ==============================  ===========================================
0, 1   OffsetCommitKey (group,         OffsetCommitValue: a committed offset
       topic, partition)
2      GroupMetadataKey (group)        GroupMetadataValue: a classic group's last
                                       completed generation, members, assignments
3      ConsumerGroupMetadataKey        the consumer group's epoch
4      ConsumerGroupPartitionMetadata  the subscribed topics: ids, partition counts
5      ConsumerGroupMemberMetadata     a member's subscription
6      ConsumerGroupTargetAssignment-  the epoch of the target assignment
       MetadataKey
7      ConsumerGroupTargetAssignment-  a member's target partitions
       MemberKey
8      ConsumerGroupCurrentMember-     a member's epochs, state, owned partitions
       AssignmentKey
=====  ==============================  ===========================================

Type 0 is the old offset key; Kafka has written type 1 since 0.10 and reads both.
The value versions Kafka writes today: GroupMetadataValue v3 and OffsetCommitValue
v3, or v1 when the commit carries an explicit expire timestamp (OffsetCommit v2-v4's
``retention_time_ms``); the consumer group values have one version, 0. The builders
here and in :mod:`.consumer.records` are Kafka's ``GroupCoordinatorRecordHelpers``.

Share group record types (9-15) decode to :class:`UnknownRecordTypeError`; a loading
shard skips them, as Kafka skips types it does not know.
"""

from __future__ import annotations

from dataclasses import dataclass

from odradek.protocol.codec import decode, encode
from odradek.protocol.messages.group_coordinator.consumer_group_current_member_assignment_key import (  # noqa: E501
    ConsumerGroupCurrentMemberAssignmentKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_current_member_assignment_value import (  # noqa: E501
    ConsumerGroupCurrentMemberAssignmentValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_member_metadata_key import (
    ConsumerGroupMemberMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_member_metadata_value import (
    ConsumerGroupMemberMetadataValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_metadata_key import (
    ConsumerGroupMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_metadata_value import (
    ConsumerGroupMetadataValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_partition_metadata_key import (
    ConsumerGroupPartitionMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_partition_metadata_value import (
    ConsumerGroupPartitionMetadataValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_member_key import (  # noqa: E501
    ConsumerGroupTargetAssignmentMemberKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_member_value import (  # noqa: E501
    ConsumerGroupTargetAssignmentMemberValue,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_metadata_key import (  # noqa: E501
    ConsumerGroupTargetAssignmentMetadataKey,
)
from odradek.protocol.messages.group_coordinator.consumer_group_target_assignment_metadata_value import (  # noqa: E501
    ConsumerGroupTargetAssignmentMetadataValue,
)
from odradek.protocol.messages.group_coordinator.group_metadata_key import GroupMetadataKey
from odradek.protocol.messages.group_coordinator.group_metadata_value import (
    GroupMetadataValue,
)
from odradek.protocol.messages.group_coordinator.offset_commit_key import OffsetCommitKey
from odradek.protocol.messages.group_coordinator.offset_commit_value import (
    OffsetCommitValue,
)
from odradek.protocol.primitives import INT16, Buffer, DecodeError

RecordKey = (
    OffsetCommitKey
    | GroupMetadataKey
    | ConsumerGroupMetadataKey
    | ConsumerGroupPartitionMetadataKey
    | ConsumerGroupMemberMetadataKey
    | ConsumerGroupTargetAssignmentMetadataKey
    | ConsumerGroupTargetAssignmentMemberKey
    | ConsumerGroupCurrentMemberAssignmentKey
)
RecordValue = (
    OffsetCommitValue
    | GroupMetadataValue
    | ConsumerGroupMetadataValue
    | ConsumerGroupPartitionMetadataValue
    | ConsumerGroupMemberMetadataValue
    | ConsumerGroupTargetAssignmentMetadataValue
    | ConsumerGroupTargetAssignmentMemberValue
    | ConsumerGroupCurrentMemberAssignmentValue
)

#: Record type (key version) -> key class, value class.
RECORD_TYPES: dict[int, tuple[type[RecordKey], type[RecordValue]]] = {
    0: (OffsetCommitKey, OffsetCommitValue),
    1: (OffsetCommitKey, OffsetCommitValue),
    2: (GroupMetadataKey, GroupMetadataValue),
    3: (ConsumerGroupMetadataKey, ConsumerGroupMetadataValue),
    4: (ConsumerGroupPartitionMetadataKey, ConsumerGroupPartitionMetadataValue),
    5: (ConsumerGroupMemberMetadataKey, ConsumerGroupMemberMetadataValue),
    6: (ConsumerGroupTargetAssignmentMetadataKey, ConsumerGroupTargetAssignmentMetadataValue),
    7: (ConsumerGroupTargetAssignmentMemberKey, ConsumerGroupTargetAssignmentMemberValue),
    8: (ConsumerGroupCurrentMemberAssignmentKey, ConsumerGroupCurrentMemberAssignmentValue),
}

OFFSET_COMMIT_TYPE = 1
GROUP_METADATA_TYPE = 2
GROUP_METADATA_VALUE_VERSION = 3
OFFSET_COMMIT_VALUE_VERSION = 3
#: The only OffsetCommitValue version with an expire timestamp.
OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1


class UnknownRecordTypeError(DecodeError):
    """A key whose record type this coordinator does not handle."""

    def __init__(self, record_type: int) -> None:
        super().__init__(f"unknown __consumer_offsets record type {record_type}")
        self.record_type = record_type


@dataclass(frozen=True, slots=True)
class CoordinatorRecord:
    """One key/value pair of the offsets topic, as messages with their versions."""

    key: RecordKey
    #: The key's version, which names the record type.
    record_type: int
    #: ``None`` is a tombstone.
    value: RecordValue | None
    value_version: int = 0

    @property
    def is_tombstone(self) -> bool:
        return self.value is None


def group_metadata_record(group_id: str, value: GroupMetadataValue) -> CoordinatorRecord:
    return CoordinatorRecord(
        GroupMetadataKey(group=group_id),
        GROUP_METADATA_TYPE,
        value,
        GROUP_METADATA_VALUE_VERSION,
    )


def group_tombstone(group_id: str) -> CoordinatorRecord:
    return CoordinatorRecord(GroupMetadataKey(group=group_id), GROUP_METADATA_TYPE, None)


def offset_commit_record(
    group_id: str, topic: str, partition: int, value: OffsetCommitValue
) -> CoordinatorRecord:
    version = (
        OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
        if value.expire_timestamp >= 0
        else OFFSET_COMMIT_VALUE_VERSION
    )
    return CoordinatorRecord(
        OffsetCommitKey(group=group_id, topic=topic, partition=partition),
        OFFSET_COMMIT_TYPE,
        value,
        version,
    )


def offset_tombstone(group_id: str, topic: str, partition: int) -> CoordinatorRecord:
    return CoordinatorRecord(
        OffsetCommitKey(group=group_id, topic=topic, partition=partition),
        OFFSET_COMMIT_TYPE,
        None,
    )


def serialize_key(record: CoordinatorRecord) -> bytes:
    return INT16.pack(record.record_type) + encode(record.key, record.record_type)


def serialize_value(record: CoordinatorRecord) -> bytes | None:
    if record.value is None:
        return None
    return INT16.pack(record.value_version) + encode(record.value, record.value_version)


def _read_version(buf: Buffer, what: str) -> int:
    if len(buf) < 2:
        raise DecodeError(f"__consumer_offsets record {what} too short for its version")
    version: int = INT16.unpack_from(buf, 0)[0]
    return version


def deserialize(key: Buffer, value: Buffer | None) -> CoordinatorRecord:
    """The record in a log record's key and value bytes.

    Raises :class:`UnknownRecordTypeError` for a record type not handled here and
    :class:`DecodeError` for bytes that do not parse.
    """
    record_type = _read_version(key, "key")
    classes = RECORD_TYPES.get(record_type)
    if classes is None:
        raise UnknownRecordTypeError(record_type)
    key_class, value_class = classes
    key_message = decode(key_class, memoryview(key)[2:], record_type)
    if value is None:
        return CoordinatorRecord(key_message, record_type, None)
    value_version = _read_version(value, "value")
    value_message = decode(value_class, memoryview(value)[2:], value_version)
    return CoordinatorRecord(key_message, record_type, value_message, value_version)
