"""Delegation tokens: short-lived shared secrets standing in for a principal (KIP-48).

``DelegationTokenRecord`` (``shared/kafka-spec/metadata/DelegationTokenRecord.json``)
creates or renews a token; ``RemoveDelegationTokenRecord`` expires or cancels it.
The token's HMAC is not in the log: brokers derive it from the token id and the
cluster's secret key.

Mirrors Kafka's ``DelegationTokenImage``, ``DelegationTokenDelta`` and
``DelegationTokenData``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.delegation_token_record import DelegationTokenRecord
from odradek.protocol.messages.metadata.remove_delegation_token_record import (
    RemoveDelegationTokenRecord,
)

from .merge import differences, merged
from .records import VersionedRecord


class DelegationToken(msgspec.Struct, frozen=True, kw_only=True):
    owner: str
    requester: str
    renewers: tuple[str, ...]
    issue_timestamp: int
    max_timestamp: int
    expiration_timestamp: int


class DelegationTokensImage(msgspec.Struct, frozen=True, kw_only=True):
    """Every live delegation token, by token id."""

    tokens: Mapping[str, DelegationToken] = msgspec.field(default_factory=dict)

    def to_records(self) -> Iterator[VersionedRecord]:
        for token_id, t in sorted(self.tokens.items()):
            yield VersionedRecord(
                DelegationTokenRecord(
                    owner=t.owner,
                    requester=t.requester,
                    renewers=list(t.renewers),
                    issue_timestamp=t.issue_timestamp,
                    max_timestamp=t.max_timestamp,
                    expiration_timestamp=t.expiration_timestamp,
                    token_id=token_id,
                ),
                0,
            )


EMPTY_DELEGATION_TOKENS = DelegationTokensImage()


class DelegationTokensDelta:
    """Token changes on top of a :class:`DelegationTokensImage` (None: removed)."""

    def __init__(self, image: DelegationTokensImage) -> None:
        self.image = image
        self.changes: dict[str, DelegationToken | None] = {}

    @classmethod
    def from_snapshot(
        cls, image: DelegationTokensImage, snapshot: DelegationTokensImage
    ) -> DelegationTokensDelta:
        """From ``image`` to ``snapshot``: tokens the snapshot lacks are removed (Kafka's
        ``DelegationTokenDelta.finishSnapshot``)."""
        delta = cls(image)
        delta.changes = differences(image.tokens, snapshot.tokens)
        return delta

    def replay_token(self, record: DelegationTokenRecord) -> None:
        self.changes[record.token_id] = DelegationToken(
            owner=record.owner,
            requester=record.requester,
            renewers=tuple(record.renewers),
            issue_timestamp=record.issue_timestamp,
            max_timestamp=record.max_timestamp,
            expiration_timestamp=record.expiration_timestamp,
        )

    def replay_remove_token(self, record: RemoveDelegationTokenRecord) -> None:
        self.changes[record.token_id] = None

    def apply(self) -> DelegationTokensImage:
        return DelegationTokensImage(tokens=merged(self.image.tokens, self.changes))
