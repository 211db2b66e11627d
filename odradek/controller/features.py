"""Feature levels: what a new cluster starts with and what this software supports.

When the active controller finds the metadata log empty it writes the bootstrap
records: the ``FeatureLevelRecord`` finalizing ``metadata.version`` (chosen when the
cluster was formatted), and, from 3.4 on, ``ZkMigrationStateRecord`` NONE, since a
cluster born in KRaft mode never migrates. Kafka wraps these in a metadata
transaction from 3.6 on; one atomic batch gives the same guarantee and is what
Odradek writes.

Brokers and controllers declare in their registrations the feature levels they
support; Odradek supports ``metadata.version`` from the KRaft minimum up to the
level it bootstraps with.

Mirrors Kafka's ``ActivationRecordsGenerator.recordsForEmptyLog`` and
``QuorumFeatures.defaultFeatureMap``.
"""

from __future__ import annotations

from odradek.metadata import versions
from odradek.metadata.cluster import VersionRange
from odradek.metadata.features import ZK_MIGRATION_NONE
from odradek.metadata.records import VersionedRecord
from odradek.metadata.versions import MetadataVersion
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.zk_migration_state_record import ZkMigrationStateRecord


def supported_features() -> dict[str, VersionRange]:
    """The feature levels this software can run at, for registrations and ApiVersions."""
    return {
        versions.FEATURE_NAME: VersionRange(
            versions.MINIMUM_KRAFT_VERSION, versions.LATEST_PRODUCTION
        )
    }


def bootstrap_records(metadata_version: int = versions.LATEST_PRODUCTION) -> list[VersionedRecord]:
    """The first records of a new cluster's metadata log."""
    if not versions.MINIMUM_BOOTSTRAP_VERSION <= metadata_version <= versions.LATEST_PRODUCTION:
        raise ValueError(
            f"metadata.version {metadata_version} cannot bootstrap a cluster (supported: "
            f"{versions.MINIMUM_BOOTSTRAP_VERSION} to {versions.LATEST_PRODUCTION})"
        )
    records = [
        VersionedRecord(
            FeatureLevelRecord(name=versions.FEATURE_NAME, feature_level=metadata_version), 0
        )
    ]
    if MetadataVersion(metadata_version).supports_migration:
        records.append(
            VersionedRecord(ZkMigrationStateRecord(zk_migration_state=ZK_MIGRATION_NONE), 0)
        )
    return records
