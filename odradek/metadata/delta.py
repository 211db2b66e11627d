"""Replaying metadata records: a delta on top of an image, applied to make the next image.

``MetadataDelta.replay(record)`` sends each record to the sub-delta of the part of
the image it changes, creating that sub-delta on first use; ``apply()`` builds the
new :class:`~.image.MetadataImage`, reusing every sub-image no record touched. The
same replay serves every reader of the metadata log: the active controller right
after it writes records, standby controllers and brokers as records commit, and
anyone loading a snapshot.

Which record goes where (specs in ``shared/kafka-spec/metadata/``):

* features (:mod:`.features`): FeatureLevelRecord, ZkMigrationStateRecord;
* cluster (:mod:`.cluster`): RegisterBrokerRecord, UnregisterBrokerRecord,
  FenceBrokerRecord, UnfenceBrokerRecord, BrokerRegistrationChangeRecord,
  RegisterControllerRecord;
* topics (:mod:`.topics`): TopicRecord, PartitionRecord, PartitionChangeRecord,
  RemoveTopicRecord (which also drops the topic's configs);
* configs (:mod:`.configs`): ConfigRecord;
* client quotas (:mod:`.client_quotas`): ClientQuotaRecord;
* producer ids (:mod:`.producer_ids`): ProducerIdsRecord;
* ACLs (:mod:`.acls`): AccessControlEntryRecord, RemoveAccessControlEntryRecord;
* SCRAM credentials (:mod:`.scram`): UserScramCredentialRecord,
  RemoveUserScramCredentialRecord;
* delegation tokens (:mod:`.delegation_tokens`): DelegationTokenRecord,
  RemoveDelegationTokenRecord;
* nothing: NoOpRecord, which only moves the offset on.

Any other record type raises :class:`UnsupportedRecordError`. Metadata transaction
markers (Begin/End/AbortTransactionRecord) are among them: they are the business
of whoever feeds batches in, since they decide when a delta may be applied at all.

**Snapshots.** A snapshot is a whole image, not a change: whatever the reader's image
holds and the snapshot does not -- a topic deleted, a partition moved away, a broker
unregistered, a config, quota, ACL, credential, token or feature removed, the producer
id counter -- must go. :meth:`MetadataDelta.from_snapshot` is that delta, from the
reader's image to the snapshot's, built part by part from the two images (Kafka
replays the snapshot onto the old image and then calls ``finishSnapshot()`` on every
sub-delta to mark the rest removed; comparing the images gives the same delta, with
the parts a snapshot leaves as they were left out). So a broker acts on a snapshot as
on any other delta: it deletes the partitions it no longer hosts.

Mirrors Kafka's ``MetadataDelta`` (``org.apache.kafka.image.MetadataDelta``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from odradek.protocol.messages.metadata.access_control_entry_record import (
    AccessControlEntryRecord,
)
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.client_quota_record import ClientQuotaRecord
from odradek.protocol.messages.metadata.config_record import ConfigRecord
from odradek.protocol.messages.metadata.delegation_token_record import DelegationTokenRecord
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.fence_broker_record import FenceBrokerRecord
from odradek.protocol.messages.metadata.no_op_record import NoOpRecord
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord
from odradek.protocol.messages.metadata.producer_ids_record import ProducerIdsRecord
from odradek.protocol.messages.metadata.register_broker_record import RegisterBrokerRecord
from odradek.protocol.messages.metadata.register_controller_record import (
    RegisterControllerRecord,
)
from odradek.protocol.messages.metadata.remove_access_control_entry_record import (
    RemoveAccessControlEntryRecord,
)
from odradek.protocol.messages.metadata.remove_delegation_token_record import (
    RemoveDelegationTokenRecord,
)
from odradek.protocol.messages.metadata.remove_topic_record import RemoveTopicRecord
from odradek.protocol.messages.metadata.remove_user_scram_credential_record import (
    RemoveUserScramCredentialRecord,
)
from odradek.protocol.messages.metadata.topic_record import TopicRecord
from odradek.protocol.messages.metadata.unfence_broker_record import UnfenceBrokerRecord
from odradek.protocol.messages.metadata.unregister_broker_record import UnregisterBrokerRecord
from odradek.protocol.messages.metadata.user_scram_credential_record import (
    UserScramCredentialRecord,
)
from odradek.protocol.messages.metadata.zk_migration_state_record import ZkMigrationStateRecord

from . import versions
from .acls import AclsDelta
from .client_quotas import ClientQuotasDelta
from .cluster import ClusterDelta
from .configs import ConfigResource, ConfigurationsDelta
from .delegation_tokens import DelegationTokensDelta
from .features import FeaturesDelta
from .image import MetadataImage, MetadataProvenance
from .producer_ids import ProducerIdsDelta
from .records import VersionedRecord, record_type_name
from .scram import ScramDelta
from .topics import LocalReplicaChanges, TopicsDelta
from .versions import MetadataVersion


class UnsupportedRecordError(ValueError):
    """A record type that this version of Odradek cannot replay."""


class MetadataDelta:
    """Records replayed on top of ``image``, not yet applied.

    Each sub-delta (``features``, ``cluster``, ``topics``, ``configs``,
    ``client_quotas``, ``producer_ids``, ``acls``, ``scram``, ``delegation_tokens``)
    is None until a record touches that part of the image, so a reader can skip
    whatever did not change.
    """

    def __init__(self, image: MetadataImage) -> None:
        self.image = image
        self.features: FeaturesDelta | None = None
        self.cluster: ClusterDelta | None = None
        self.topics: TopicsDelta | None = None
        self.configs: ConfigurationsDelta | None = None
        self.client_quotas: ClientQuotasDelta | None = None
        self.producer_ids: ProducerIdsDelta | None = None
        self.acls: AclsDelta | None = None
        self.scram: ScramDelta | None = None
        self.delegation_tokens: DelegationTokensDelta | None = None

    # -- sub-deltas, created on first use ------------------------------------------

    def _features(self) -> FeaturesDelta:
        if self.features is None:
            self.features = FeaturesDelta(self.image.features)
        return self.features

    def _cluster(self) -> ClusterDelta:
        if self.cluster is None:
            self.cluster = ClusterDelta(self.image.cluster)
        return self.cluster

    def _topics(self) -> TopicsDelta:
        if self.topics is None:
            self.topics = TopicsDelta(self.image.topics)
        return self.topics

    def _configs(self) -> ConfigurationsDelta:
        if self.configs is None:
            self.configs = ConfigurationsDelta(self.image.configs)
        return self.configs

    def _client_quotas(self) -> ClientQuotasDelta:
        if self.client_quotas is None:
            self.client_quotas = ClientQuotasDelta(self.image.client_quotas)
        return self.client_quotas

    def _producer_ids(self) -> ProducerIdsDelta:
        if self.producer_ids is None:
            self.producer_ids = ProducerIdsDelta(self.image.producer_ids)
        return self.producer_ids

    def _acls(self) -> AclsDelta:
        if self.acls is None:
            self.acls = AclsDelta(self.image.acls)
        return self.acls

    def _scram(self) -> ScramDelta:
        if self.scram is None:
            self.scram = ScramDelta(self.image.scram)
        return self.scram

    def _delegation_tokens(self) -> DelegationTokensDelta:
        if self.delegation_tokens is None:
            self.delegation_tokens = DelegationTokensDelta(self.image.delegation_tokens)
        return self.delegation_tokens

    # -- replay ---------------------------------------------------------------------

    def replay(self, record: Any) -> None:
        """Replay one metadata record (a generated record object)."""
        handler = _HANDLERS.get(type(record))
        if handler is None:
            name = record_type_name(getattr(record, "API_KEY", -1))
            raise UnsupportedRecordError(f"cannot replay {name}: not supported by this image")
        handler(self, record)

    def replay_all(self, records: Iterable[VersionedRecord]) -> None:
        for record in records:
            self.replay(record.message)

    @classmethod
    def from_snapshot(cls, image: MetadataImage, snapshot: MetadataImage) -> MetadataDelta:
        """The delta from ``image`` to ``snapshot``, the image a metadata snapshot holds.

        Everything ``image`` has and ``snapshot`` lacks is removed; a part of the image
        the snapshot leaves as it was gets no sub-delta. Applying the delta (at the
        snapshot's provenance) gives ``snapshot``.
        """
        delta = cls(image)
        for part, kind in _SNAPSHOT_PARTS:
            old, new = getattr(image, part), getattr(snapshot, part)
            if new != old:
                setattr(delta, part, kind.from_snapshot(old, new))
        return delta

    def _remove_topic(self, record: RemoveTopicRecord) -> None:
        name = self._topics().replay_remove_topic(record)
        self._configs().delete_all(ConfigResource.topic(name))

    # -- results --------------------------------------------------------------------

    def metadata_version_changed(self) -> MetadataVersion | None:
        """The new ``metadata.version``, if this delta finalizes one."""
        if self.features is None or self.features.metadata_version_change is None:
            return None
        # A snapshot without metadata.version (level 0) means the level Kafka assumes.
        return MetadataVersion(
            max(self.features.metadata_version_change, versions.MINIMUM_KRAFT_VERSION)
        )

    def local_changes(self, broker_id: int) -> LocalReplicaChanges:
        """What this delta asks of broker ``broker_id``: partitions to lead, follow, delete."""
        topics = self.topics or TopicsDelta(self.image.topics)
        return topics.local_changes(broker_id)

    def changed_config_resources(self) -> set[ConfigResource]:
        """Resources whose dynamic configs this delta changes."""
        return set() if self.configs is None else set(self.configs.changes)

    def apply(self, provenance: MetadataProvenance) -> MetadataImage:
        """The image after this delta, as of ``provenance``."""
        image = self.image
        return MetadataImage(
            provenance=provenance,
            features=image.features if self.features is None else self.features.apply(),
            cluster=image.cluster if self.cluster is None else self.cluster.apply(),
            topics=image.topics if self.topics is None else self.topics.apply(),
            configs=image.configs if self.configs is None else self.configs.apply(),
            client_quotas=(
                image.client_quotas if self.client_quotas is None else self.client_quotas.apply()
            ),
            producer_ids=(
                image.producer_ids if self.producer_ids is None else self.producer_ids.apply()
            ),
            acls=image.acls if self.acls is None else self.acls.apply(),
            scram=image.scram if self.scram is None else self.scram.apply(),
            delegation_tokens=(
                image.delegation_tokens
                if self.delegation_tokens is None
                else self.delegation_tokens.apply()
            ),
        )


#: Each part of the image, named alike in the image and the delta, and its delta's type.
_SNAPSHOT_PARTS: tuple[tuple[str, Any], ...] = (
    ("features", FeaturesDelta),
    ("cluster", ClusterDelta),
    ("topics", TopicsDelta),
    ("configs", ConfigurationsDelta),
    ("client_quotas", ClientQuotasDelta),
    ("producer_ids", ProducerIdsDelta),
    ("acls", AclsDelta),
    ("scram", ScramDelta),
    ("delegation_tokens", DelegationTokensDelta),
)


def _ignore(delta: MetadataDelta, record: Any) -> None:
    # NoOpRecord only moves the offset on, so that followers see the leader is alive.
    return None


_HANDLERS: dict[type, Callable[[MetadataDelta, Any], None]] = {
    FeatureLevelRecord: lambda d, r: d._features().replay_feature_level(r),
    ZkMigrationStateRecord: lambda d, r: d._features().replay_zk_migration_state(r),
    RegisterBrokerRecord: lambda d, r: d._cluster().replay_register_broker(r),
    UnregisterBrokerRecord: lambda d, r: d._cluster().replay_unregister_broker(r),
    FenceBrokerRecord: lambda d, r: d._cluster().replay_fence_broker(r),
    UnfenceBrokerRecord: lambda d, r: d._cluster().replay_unfence_broker(r),
    BrokerRegistrationChangeRecord: lambda d, r: d._cluster().replay_registration_change(r),
    RegisterControllerRecord: lambda d, r: d._cluster().replay_register_controller(r),
    TopicRecord: lambda d, r: d._topics().replay_topic(r),
    PartitionRecord: lambda d, r: d._topics().replay_partition(r),
    PartitionChangeRecord: lambda d, r: d._topics().replay_partition_change(r),
    RemoveTopicRecord: MetadataDelta._remove_topic,
    ConfigRecord: lambda d, r: d._configs().replay_config(r),
    ProducerIdsRecord: lambda d, r: d._producer_ids().replay_producer_ids(r),
    ClientQuotaRecord: lambda d, r: d._client_quotas().replay_quota(r),
    AccessControlEntryRecord: lambda d, r: d._acls().replay_acl(r),
    RemoveAccessControlEntryRecord: lambda d, r: d._acls().replay_remove_acl(r),
    UserScramCredentialRecord: lambda d, r: d._scram().replay_credential(r),
    RemoveUserScramCredentialRecord: lambda d, r: d._scram().replay_remove_credential(r),
    DelegationTokenRecord: lambda d, r: d._delegation_tokens().replay_token(r),
    RemoveDelegationTokenRecord: lambda d, r: d._delegation_tokens().replay_remove_token(r),
    NoOpRecord: _ignore,
}


def replay_records(
    image: MetadataImage, records: Iterable[VersionedRecord], provenance: MetadataProvenance
) -> MetadataImage:
    """``image`` with ``records`` replayed and applied: the one-call form of a delta."""
    delta = MetadataDelta(image)
    delta.replay_all(records)
    return delta.apply(provenance)
