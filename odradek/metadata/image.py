"""The metadata image: everything the metadata log says, as of one offset, immutable.

A :class:`MetadataImage` is the fold of every committed record up to
``provenance.last_offset``. It is never changed: a :class:`~.delta.MetadataDelta`
collects records on top of an image and ``apply()`` makes a new image that shares
every sub-image the records did not touch, so holding on to an old image is cheap
and safe (a request handler can keep using the image it started with).

:meth:`MetadataImage.to_records` writes the image back out as records -- what a
metadata snapshot holds. Replaying those records onto the empty image gives an
equal image.

Mirrors Kafka's ``MetadataImage`` and ``MetadataProvenance``
(``org.apache.kafka.image``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import msgspec

from .acls import EMPTY_ACLS, AclsImage
from .client_quotas import EMPTY_CLIENT_QUOTAS, ClientQuotasImage
from .cluster import EMPTY_CLUSTER, ClusterImage
from .configs import EMPTY_CONFIGS, ConfigurationsImage
from .delegation_tokens import EMPTY_DELEGATION_TOKENS, DelegationTokensImage
from .features import EMPTY_FEATURES, FeaturesImage
from .producer_ids import EMPTY_PRODUCER_IDS, ProducerIdsImage
from .records import VersionedRecord
from .scram import EMPTY_SCRAM, ScramImage
from .topics import EMPTY_TOPICS, TopicsImage


class MetadataProvenance(msgspec.Struct, frozen=True, kw_only=True):
    """Where an image comes from: the last offset, epoch and append time it contains."""

    last_offset: int = -1
    last_epoch: int = -1
    last_log_time_ms: int = -1

    @property
    def next_offset(self) -> int:
        """The offset of the first record the image does not contain (a snapshot's id)."""
        return self.last_offset + 1


EMPTY_PROVENANCE = MetadataProvenance()


class MetadataImage(msgspec.Struct, frozen=True, kw_only=True):
    """The whole cluster metadata as of ``provenance``."""

    #: The image before any record: what every replay starts from.
    EMPTY: ClassVar[MetadataImage]

    provenance: MetadataProvenance = EMPTY_PROVENANCE
    features: FeaturesImage = EMPTY_FEATURES
    cluster: ClusterImage = EMPTY_CLUSTER
    topics: TopicsImage = EMPTY_TOPICS
    configs: ConfigurationsImage = EMPTY_CONFIGS
    client_quotas: ClientQuotasImage = EMPTY_CLIENT_QUOTAS
    producer_ids: ProducerIdsImage = EMPTY_PRODUCER_IDS
    acls: AclsImage = EMPTY_ACLS
    scram: ScramImage = EMPTY_SCRAM
    delegation_tokens: DelegationTokensImage = EMPTY_DELEGATION_TOKENS

    def is_empty(self) -> bool:
        return msgspec.structs.replace(self, provenance=EMPTY_PROVENANCE) == EMPTY_IMAGE

    def to_records(self) -> Iterator[VersionedRecord]:
        """The records that rebuild this image from the empty one (a snapshot's content).

        They are written at the record versions this image's ``metadata.version`` calls for.
        """
        metadata_version = self.features.metadata_version
        yield from self.features.to_records()
        yield from self.cluster.to_records(metadata_version)
        yield from self.topics.to_records(metadata_version)
        yield from self.configs.to_records()
        yield from self.client_quotas.to_records()
        yield from self.producer_ids.to_records()
        yield from self.acls.to_records()
        yield from self.scram.to_records()
        yield from self.delegation_tokens.to_records()


EMPTY_IMAGE = MetadataImage()
MetadataImage.EMPTY = EMPTY_IMAGE
