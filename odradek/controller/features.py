"""Feature levels: what a new cluster starts with and what this software supports.

When the active controller finds the metadata log empty it writes the bootstrap
records: the ``FeatureLevelRecord`` finalizing ``metadata.version`` (chosen when the
cluster was formatted), and, from 3.4 on, ``ZkMigrationStateRecord`` NONE, since a
cluster born in KRaft mode never migrates. Kafka wraps these in a metadata
transaction from 3.6 on; one atomic batch gives the same guarantee and is what
Odradek writes.

Brokers and controllers declare in their registrations, and in ApiVersions, the
feature levels they support. Odradek declares a feature only where it implements
what the levels mean:

* ``metadata.version`` from the KRaft minimum up to the level it bootstraps with;
* nothing else. Kafka leaves out of the map every feature whose highest level is 0,
  and a feature missing from a node's map counts as supported at level 0 only
  (``QuorumFeatures.DISABLED``). So ``kraft.version`` stays at 0 (the quorum is the
  static ``controller.quorum.voters``, no dynamic voters), and ``group.version``,
  ``transaction.version``, ``eligible.leader.replicas.version``, ``share.version``
  and ``streams.version`` cannot be finalized above 0 on an Odradek cluster.

Mirrors Kafka's ``ActivationRecordsGenerator.recordsForEmptyLog``,
``QuorumFeatures.defaultFeatureMap`` and ``BrokerFeatures.defaultSupportedFeatures``.
"""

from __future__ import annotations

from typing import Final

from odradek.metadata import versions
from odradek.metadata.cluster import VersionRange
from odradek.metadata.features import ZK_MIGRATION_NONE
from odradek.metadata.records import VersionedRecord
from odradek.metadata.versions import MetadataVersion
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.zk_migration_state_record import ZkMigrationStateRecord

#: ``kraft.version``: the format of the quorum's voter set; its level lives in the Raft log.
KRAFT_VERSION: Final = "kraft.version"

#: The features of Kafka 4.3's ``Feature.FEATURES`` (leaving out its unit-test entries):
#: besides ``metadata.version``, the only names a Kafka controller lets an update name,
#: even at level 0.
KAFKA_FEATURES: Final = frozenset(
    {
        KRAFT_VERSION,
        "transaction.version",
        "group.version",
        "eligible.leader.replicas.version",
        "share.version",
        "streams.version",
        "test.feature.version",
    }
)


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
