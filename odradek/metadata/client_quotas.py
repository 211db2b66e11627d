"""Client quotas: byte-rate and request-rate limits per user, client id or IP.

A quota entity is a set of (entity type, name) pairs -- ``user``, ``client-id``,
``ip`` -- where a null name means the default for that type. Each
``ClientQuotaRecord`` (``shared/kafka-spec/metadata/ClientQuotaRecord.json``) sets
or removes one quota key (``producer_byte_rate``, ``consumer_byte_rate``,
``request_percentage``, ``controller_mutation_rate``, ``connection_creation_rate``)
of one entity.

Mirrors Kafka's ``ClientQuotasImage``, ``ClientQuotaImage`` and their deltas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.client_quota_record import ClientQuotaRecord, EntityData

from .merge import nested_differences
from .records import VersionedRecord

#: A quota entity: (entity type, name or None for the default) pairs, sorted by type.
QuotaEntity = tuple[tuple[str, str | None], ...]


def quota_entity(parts: Iterable[tuple[str, str | None]]) -> QuotaEntity:
    return tuple(sorted(parts, key=lambda part: part[0]))


class ClientQuotasImage(msgspec.Struct, frozen=True, kw_only=True):
    """Every entity's quotas: quota key -> value."""

    entities: Mapping[QuotaEntity, Mapping[str, float]] = msgspec.field(default_factory=dict)

    def quotas(self, entity: QuotaEntity) -> Mapping[str, float]:
        return self.entities.get(entity, {})

    def to_records(self) -> Iterator[VersionedRecord]:
        for entity in sorted(self.entities, key=_entity_order):
            for key, value in sorted(self.entities[entity].items()):
                yield VersionedRecord(
                    ClientQuotaRecord(
                        entity=[EntityData(entity_type=t, entity_name=n) for t, n in entity],
                        key=key,
                        value=value,
                    ),
                    0,
                )


def _entity_order(entity: QuotaEntity) -> tuple[tuple[str, bool, str], ...]:
    return tuple((t, n is None, n or "") for t, n in entity)


EMPTY_CLIENT_QUOTAS = ClientQuotasImage()


class ClientQuotasDelta:
    """Quota changes on top of a :class:`ClientQuotasImage` (None: removed)."""

    def __init__(self, image: ClientQuotasImage) -> None:
        self.image = image
        self.changes: dict[QuotaEntity, dict[str, float | None]] = {}

    @classmethod
    def from_snapshot(
        cls, image: ClientQuotasImage, snapshot: ClientQuotasImage
    ) -> ClientQuotasDelta:
        """From ``image`` to ``snapshot``: quotas the snapshot lacks are removed (Kafka's
        ``ClientQuotasDelta.finishSnapshot``)."""
        delta = cls(image)
        delta.changes = nested_differences(image.entities, snapshot.entities)
        return delta

    def replay_quota(self, record: ClientQuotaRecord) -> None:
        entity = quota_entity((e.entity_type, e.entity_name) for e in record.entity)
        self.changes.setdefault(entity, {})[record.key] = None if record.remove else record.value

    def apply(self) -> ClientQuotasImage:
        if not self.changes:
            return self.image
        entities = dict(self.image.entities)
        for entity, changes in self.changes.items():
            quotas = dict(self.image.quotas(entity))
            for key, value in changes.items():
                if value is None:
                    quotas.pop(key, None)
                else:
                    quotas[key] = value
            if quotas:
                entities[entity] = quotas
            else:
                entities.pop(entity, None)
        return ClientQuotasImage(entities=entities)
