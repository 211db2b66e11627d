"""``metadata.version``: the feature level that decides how metadata records are written.

A KRaft cluster finalizes one ``metadata.version`` feature level, written as the
first record of the metadata log (a ``FeatureLevelRecord``, see
``shared/kafka-spec/metadata/FeatureLevelRecord.json``). Each level switches on
record fields and behaviours, so writers ask the level which record version to use
and readers accept every version. This mirrors the KRaft part of Kafka's
``org.apache.kafka.server.common.MetadataVersion`` (levels 1 to 25 exist in Kafka
4.0; the ones below are those that change what Odradek writes).

Odradek bootstraps new clusters at :data:`LATEST_PRODUCTION`, Kafka 3.9's
``3.9-IV0`` (level 21): directory assignment (JBOD, KIP-858), controller
registration (KIP-919), metadata transactions, ``BrokerRegistrationChangeRecord``
instead of fence/unfence records, and no leader epoch bump when an ISR shrinks.
Eligible leader replicas (KIP-966, level 23) are not switched on.
"""

from __future__ import annotations

from typing import Final

#: The feature name under which the level is finalized.
FEATURE_NAME: Final = "metadata.version"

#: ``3.0-IV1``: the first level a KRaft cluster can run; assumed when no record says otherwise.
MINIMUM_KRAFT_VERSION: Final = 1
#: ``3.2-IV0``: unclean elections mark the leader RECOVERING (KIP-704).
IBP_3_2_IV0: Final = 3
#: ``3.3-IV0``: the first level that can be written to the log (KIP-778).
MINIMUM_BOOTSTRAP_VERSION: Final = 4
#: ``3.3-IV1``: ``NoOpRecord`` (KIP-835).
IBP_3_3_IV1: Final = 5
#: ``3.3-IV2``: ``BrokerRegistrationChangeRecord`` replaces Fence/UnfenceBrokerRecord.
IBP_3_3_IV2: Final = 6
#: ``3.3-IV3``: the InControlledShutdown broker state (KIP-841).
IBP_3_3_IV3: Final = 7
#: ``3.4-IV0``: ZooKeeper migration fields and ``ZkMigrationStateRecord`` (KIP-866).
IBP_3_4_IV0: Final = 8
#: ``3.6-IV0``: an ISR shrink no longer bumps the leader epoch (KAFKA-15021).
IBP_3_6_IV0: Final = 12
#: ``3.6-IV1``: metadata transactions (Begin/End/AbortTransactionRecord, KIP-868).
IBP_3_6_IV1: Final = 13
#: ``3.7-IV0``: controller registration (KIP-919).
IBP_3_7_IV0: Final = 15
#: ``3.7-IV2``: replicas assigned to log directories (KIP-858).
IBP_3_7_IV2: Final = 17
#: ``3.9-IV0``: Kafka 3.9's production level.
IBP_3_9_IV0: Final = 21
#: ``4.0-IV1``: eligible leader replicas (KIP-966).
IBP_4_0_IV1: Final = 23

#: The level Odradek formats new clusters with.
LATEST_PRODUCTION: Final = IBP_3_9_IV0

_NAMES: Final = {
    1: "3.0-IV1",
    2: "3.1-IV0",
    3: "3.2-IV0",
    4: "3.3-IV0",
    5: "3.3-IV1",
    6: "3.3-IV2",
    7: "3.3-IV3",
    8: "3.4-IV0",
    9: "3.5-IV0",
    10: "3.5-IV1",
    11: "3.5-IV2",
    12: "3.6-IV0",
    13: "3.6-IV1",
    14: "3.6-IV2",
    15: "3.7-IV0",
    16: "3.7-IV1",
    17: "3.7-IV2",
    18: "3.7-IV3",
    19: "3.7-IV4",
    20: "3.8-IV0",
    21: "3.9-IV0",
    22: "4.0-IV0",
    23: "4.0-IV1",
    24: "4.0-IV2",
    25: "4.0-IV3",
}


class MetadataVersion:
    """One ``metadata.version`` level and what it means for the records written under it."""

    __slots__ = ("level",)

    def __init__(self, level: int) -> None:
        if level < MINIMUM_KRAFT_VERSION:
            raise ValueError(f"metadata.version level {level} is below the KRaft minimum")
        self.level = level

    def __repr__(self) -> str:
        return f"MetadataVersion({self.level}, {self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetadataVersion) and other.level == self.level

    def __hash__(self) -> int:
        return hash(self.level)

    @property
    def name(self) -> str:
        """Kafka's name for the level, e.g. ``3.9-IV0``."""
        return _NAMES.get(self.level, f"level-{self.level}")

    def is_at_least(self, level: int) -> bool:
        return self.level >= level

    @property
    def uses_registration_change_record(self) -> bool:
        return self.level >= IBP_3_3_IV2

    @property
    def supports_controlled_shutdown_state(self) -> bool:
        return self.level >= IBP_3_3_IV3

    @property
    def supports_leader_recovery(self) -> bool:
        return self.level >= IBP_3_2_IV0

    @property
    def supports_migration(self) -> bool:
        return self.level >= IBP_3_4_IV0

    @property
    def bumps_leader_epoch_on_isr_shrink(self) -> bool:
        return self.level < IBP_3_6_IV0

    @property
    def supports_directory_assignment(self) -> bool:
        return self.level >= IBP_3_7_IV2

    @property
    def supports_controller_registration(self) -> bool:
        return self.level >= IBP_3_7_IV0

    @property
    def supports_elr(self) -> bool:
        return self.level >= IBP_4_0_IV1

    @property
    def register_broker_record_version(self) -> int:
        if self.supports_directory_assignment:
            return 3
        if self.supports_migration:
            return 2
        if self.supports_controlled_shutdown_state:
            return 1
        return 0

    @property
    def partition_record_version(self) -> int:
        if self.supports_elr:
            return 2
        if self.supports_directory_assignment:
            return 1
        return 0

    @property
    def partition_change_record_version(self) -> int:
        return self.partition_record_version
