"""Finalized feature levels: ``metadata.version`` and the other cluster-wide features.

A ``FeatureLevelRecord`` (``shared/kafka-spec/metadata/FeatureLevelRecord.json``)
finalizes one feature at one level; level 0 removes a feature, except for
``metadata.version``, which always has a level. ``ZkMigrationStateRecord`` records
where a cluster stands in a ZooKeeper migration; a cluster born in KRaft mode stays
at NONE, and Kafka keeps that state in this image too.

Mirrors Kafka's ``FeaturesImage`` and ``FeaturesDelta`` (``org.apache.kafka.image``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.zk_migration_state_record import ZkMigrationStateRecord

from . import versions
from .merge import differences
from .records import VersionedRecord
from .versions import MetadataVersion

#: ``ZkMigrationStateRecord.ZkMigrationState`` of a cluster that never ran on ZooKeeper.
ZK_MIGRATION_NONE = 0


class FeaturesImage(msgspec.Struct, frozen=True, kw_only=True):
    """The finalized features of the cluster.

    ``metadata_version_level`` is 0 until a ``FeatureLevelRecord`` sets it; Kafka then
    assumes the KRaft minimum, which :attr:`metadata_version` reports.
    ``finalized_versions`` holds every other feature, never at level 0.
    """

    metadata_version_level: int = 0
    finalized_versions: Mapping[str, int] = msgspec.field(default_factory=dict)
    zk_migration_state: int = ZK_MIGRATION_NONE

    @property
    def metadata_version(self) -> MetadataVersion:
        return MetadataVersion(max(self.metadata_version_level, versions.MINIMUM_KRAFT_VERSION))

    def is_empty(self) -> bool:
        return self == EMPTY_FEATURES

    def finalized(self) -> dict[str, int]:
        """Every finalized feature and its level, ``metadata.version`` included when set."""
        result = dict(self.finalized_versions)
        if self.metadata_version_level:
            result[versions.FEATURE_NAME] = self.metadata_version_level
        return result

    def to_records(self) -> Iterator[VersionedRecord]:
        # metadata.version goes first: readers need it to make sense of what follows.
        if self.metadata_version_level:
            yield VersionedRecord(
                FeatureLevelRecord(
                    name=versions.FEATURE_NAME, feature_level=self.metadata_version_level
                ),
                0,
            )
        for name, level in sorted(self.finalized_versions.items()):
            yield VersionedRecord(FeatureLevelRecord(name=name, feature_level=level), 0)
        if self.zk_migration_state != ZK_MIGRATION_NONE or (
            self.metadata_version_level and self.metadata_version.supports_migration
        ):
            yield VersionedRecord(
                ZkMigrationStateRecord(zk_migration_state=self.zk_migration_state), 0
            )


EMPTY_FEATURES = FeaturesImage()


class FeaturesDelta:
    """Feature level changes on top of a :class:`FeaturesImage`."""

    def __init__(self, image: FeaturesImage) -> None:
        self.image = image
        #: Feature name -> new level, or None if the feature was removed.
        self.changes: dict[str, int | None] = {}
        self.metadata_version_change: int | None = None
        self.zk_migration_state_change: int | None = None

    @classmethod
    def from_snapshot(cls, image: FeaturesImage, snapshot: FeaturesImage) -> FeaturesDelta:
        """From ``image`` to ``snapshot``: features the snapshot lacks are removed.

        Kafka's ``finishSnapshot``; here ``metadata.version`` and the migration state
        follow the snapshot too, so that the result is exactly the snapshot's image.
        """
        delta = cls(image)
        delta.changes = differences(image.finalized_versions, snapshot.finalized_versions)
        if snapshot.metadata_version_level != image.metadata_version_level:
            delta.metadata_version_change = snapshot.metadata_version_level
        if snapshot.zk_migration_state != image.zk_migration_state:
            delta.zk_migration_state_change = snapshot.zk_migration_state
        return delta

    def replay_feature_level(self, record: FeatureLevelRecord) -> None:
        if record.name == versions.FEATURE_NAME:
            if record.feature_level < versions.MINIMUM_KRAFT_VERSION:
                raise ValueError(f"invalid metadata.version level {record.feature_level}")
            self.metadata_version_change = record.feature_level
        else:
            self.changes[record.name] = record.feature_level or None

    def replay_zk_migration_state(self, record: ZkMigrationStateRecord) -> None:
        self.zk_migration_state_change = record.zk_migration_state

    def apply(self) -> FeaturesImage:
        finalized = dict(self.image.finalized_versions)
        for name, level in self.changes.items():
            if level is None:
                finalized.pop(name, None)
            else:
                finalized[name] = level
        return FeaturesImage(
            metadata_version_level=(
                self.image.metadata_version_level
                if self.metadata_version_change is None
                else self.metadata_version_change
            ),
            finalized_versions=finalized,
            zk_migration_state=(
                self.image.zk_migration_state
                if self.zk_migration_state_change is None
                else self.zk_migration_state_change
            ),
        )
