"""Access control lists: who may do what to which resource.

Each ACL binding is one ``AccessControlEntryRecord`` with an id
(``shared/kafka-spec/metadata/AccessControlEntryRecord.json``); removing it is a
``RemoveAccessControlEntryRecord`` naming that id. The ids of resource types,
pattern types, operations and permission types are those of the Kafka protocol
(``AclResourceType``, ``PatternType``, ``AclOperation``, ``AclPermissionType``).

Mirrors Kafka's ``AclsImage``, ``AclsDelta`` and ``StandardAcl``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.access_control_entry_record import (
    AccessControlEntryRecord,
)
from odradek.protocol.messages.metadata.remove_access_control_entry_record import (
    RemoveAccessControlEntryRecord,
)

from .merge import differences, merged
from .records import MetadataReplayError, VersionedRecord


class StandardAcl(msgspec.Struct, frozen=True, kw_only=True):
    """One ACL binding: a resource pattern and an access control entry."""

    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission_type: int

    @classmethod
    def from_record(cls, record: AccessControlEntryRecord) -> StandardAcl:
        return cls(
            resource_type=record.resource_type,
            resource_name=record.resource_name,
            pattern_type=record.pattern_type,
            principal=record.principal,
            host=record.host,
            operation=record.operation,
            permission_type=record.permission_type,
        )

    def to_record(self, acl_id: uuid.UUID) -> VersionedRecord:
        return VersionedRecord(
            AccessControlEntryRecord(
                id=acl_id,
                resource_type=self.resource_type,
                resource_name=self.resource_name,
                pattern_type=self.pattern_type,
                principal=self.principal,
                host=self.host,
                operation=self.operation,
                permission_type=self.permission_type,
            ),
            0,
        )


class AclsImage(msgspec.Struct, frozen=True, kw_only=True):
    """Every ACL binding, by id."""

    acls: Mapping[uuid.UUID, StandardAcl] = msgspec.field(default_factory=dict)

    def to_records(self) -> Iterator[VersionedRecord]:
        for acl_id in sorted(self.acls):
            yield self.acls[acl_id].to_record(acl_id)


EMPTY_ACLS = AclsImage()


class AclsDelta:
    """ACLs added and removed on top of an :class:`AclsImage` (None: removed)."""

    def __init__(self, image: AclsImage) -> None:
        self.image = image
        self.changes: dict[uuid.UUID, StandardAcl | None] = {}

    @classmethod
    def from_snapshot(cls, image: AclsImage, snapshot: AclsImage) -> AclsDelta:
        """From ``image`` to ``snapshot``: ACLs the snapshot lacks are removed (Kafka's
        ``AclsDelta.finishSnapshot``)."""
        delta = cls(image)
        delta.changes = differences(image.acls, snapshot.acls)
        return delta

    def replay_acl(self, record: AccessControlEntryRecord) -> None:
        self.changes[record.id] = StandardAcl.from_record(record)

    def replay_remove_acl(self, record: RemoveAccessControlEntryRecord) -> None:
        if record.id in self.image.acls:
            self.changes[record.id] = None
        elif self.changes.get(record.id) is not None:
            # Added and removed within this delta: no trace left.
            del self.changes[record.id]
        else:
            raise MetadataReplayError(f"no ACL with id {record.id} to remove")

    def apply(self) -> AclsImage:
        return AclsImage(acls=merged(self.image.acls, self.changes))
