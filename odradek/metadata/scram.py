"""SCRAM credentials: the salted password hashes brokers check SASL/SCRAM logins against.

``UserScramCredentialRecord`` (``shared/kafka-spec/metadata/UserScramCredentialRecord.json``)
stores one user's credential for one mechanism (1: SCRAM-SHA-256, 2: SCRAM-SHA-512);
``RemoveUserScramCredentialRecord`` deletes it. Only the derived keys are stored,
never the password (RFC 5802).

Mirrors Kafka's ``ScramImage``, ``ScramDelta`` and ``ScramCredentialData``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.remove_user_scram_credential_record import (
    RemoveUserScramCredentialRecord,
)
from odradek.protocol.messages.metadata.user_scram_credential_record import (
    UserScramCredentialRecord,
)

from .merge import differences, merged
from .records import VersionedRecord

#: ``ScramMechanism`` type ids.
SCRAM_SHA_256 = 1
SCRAM_SHA_512 = 2


class ScramCredential(msgspec.Struct, frozen=True, kw_only=True):
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


class ScramImage(msgspec.Struct, frozen=True, kw_only=True):
    """Every credential, by (mechanism, user name)."""

    credentials: Mapping[tuple[int, str], ScramCredential] = msgspec.field(default_factory=dict)

    def credential(self, mechanism: int, user: str) -> ScramCredential | None:
        return self.credentials.get((mechanism, user))

    def to_records(self) -> Iterator[VersionedRecord]:
        for (mechanism, user), c in sorted(self.credentials.items()):
            yield VersionedRecord(
                UserScramCredentialRecord(
                    name=user,
                    mechanism=mechanism,
                    salt=c.salt,
                    stored_key=c.stored_key,
                    server_key=c.server_key,
                    iterations=c.iterations,
                ),
                0,
            )


EMPTY_SCRAM = ScramImage()


class ScramDelta:
    """Credential changes on top of a :class:`ScramImage` (None: removed)."""

    def __init__(self, image: ScramImage) -> None:
        self.image = image
        self.changes: dict[tuple[int, str], ScramCredential | None] = {}

    @classmethod
    def from_snapshot(cls, image: ScramImage, snapshot: ScramImage) -> ScramDelta:
        """From ``image`` to ``snapshot``: credentials the snapshot lacks are removed
        (Kafka's ``ScramDelta.finishSnapshot``)."""
        delta = cls(image)
        delta.changes = differences(image.credentials, snapshot.credentials)
        return delta

    def replay_credential(self, record: UserScramCredentialRecord) -> None:
        self.changes[(record.mechanism, record.name)] = ScramCredential(
            salt=record.salt,
            stored_key=record.stored_key,
            server_key=record.server_key,
            iterations=record.iterations,
        )

    def replay_remove_credential(self, record: RemoveUserScramCredentialRecord) -> None:
        self.changes[(record.mechanism, record.name)] = None

    def apply(self) -> ScramImage:
        return ScramImage(credentials=merged(self.image.credentials, self.changes))
