"""Replaying each kind of metadata record, and what a delta tells a broker."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odradek.metadata.configs import ConfigResource
from odradek.metadata.delta import MetadataDelta, UnsupportedRecordError, replay_records
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from odradek.metadata.records import MetadataReplayError, VersionedRecord
from odradek.protocol.messages.metadata.access_control_entry_record import (
    AccessControlEntryRecord,
)
from odradek.protocol.messages.metadata.begin_transaction_record import BeginTransactionRecord
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.client_quota_record import ClientQuotaRecord, EntityData
from odradek.protocol.messages.metadata.config_record import ConfigRecord
from odradek.protocol.messages.metadata.delegation_token_record import DelegationTokenRecord
from odradek.protocol.messages.metadata.end_transaction_record import EndTransactionRecord
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.fence_broker_record import FenceBrokerRecord
from odradek.protocol.messages.metadata.no_op_record import NoOpRecord
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord
from odradek.protocol.messages.metadata.producer_ids_record import ProducerIdsRecord
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    RegisterBrokerRecord,
)
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
from odradek.storage.checkpoints import TopicPartition

FOO = uuid.UUID(int=0xF00)
BAR = uuid.UUID(int=0xBA2)
DIR = uuid.UUID(int=0xD1D)
PROVENANCE = MetadataProvenance(last_offset=10, last_epoch=1, last_log_time_ms=5)


def replay(image: MetadataImage, *messages: Any) -> MetadataImage:
    return replay_records(image, [VersionedRecord(m, 0) for m in messages], PROVENANCE)


def register(broker_id: int, epoch: int = 100, **fields: Any) -> RegisterBrokerRecord:
    return RegisterBrokerRecord(
        broker_id=broker_id,
        broker_epoch=epoch,
        incarnation_id=uuid.UUID(int=broker_id),
        end_points=[BrokerEndpoint(name="PLAINTEXT", host="h", port=9092 + broker_id)],
        rack=None,
        **fields,
    )


def partition(topic_id: uuid.UUID, pid: int, replicas: list[int], leader: int) -> PartitionRecord:
    return PartitionRecord(
        partition_id=pid,
        topic_id=topic_id,
        replicas=replicas,
        isr=replicas,
        leader=leader,
        leader_epoch=0,
        partition_epoch=0,
    )


@pytest.fixture
def image() -> MetadataImage:
    return replay(
        EMPTY_IMAGE,
        FeatureLevelRecord(name="metadata.version", feature_level=21),
        register(1, fenced=False),
        register(2, fenced=False),
        TopicRecord(name="foo", topic_id=FOO),
        partition(FOO, 0, [1, 2], 1),
        partition(FOO, 1, [2, 1], 2),
        ConfigRecord(resource_type=2, resource_name="foo", name="retention.ms", value="1000"),
    )


def test_replay_builds_the_image(image: MetadataImage) -> None:
    assert image.provenance == PROVENANCE
    assert image.features.metadata_version.level == 21
    assert sorted(image.cluster.brokers) == [1, 2]
    assert image.cluster.brokers[1].listeners["PLAINTEXT"].port == 9093
    foo = image.topics.get_by_name("foo")
    assert foo is not None
    assert foo is image.topics.get(FOO)
    assert sorted(foo.partitions) == [0, 1]
    assert image.configs.configs(ConfigResource.topic("foo")) == {"retention.ms": "1000"}


def test_untouched_parts_of_the_image_are_shared(image: MetadataImage) -> None:
    after = replay(image, NoOpRecord(), ProducerIdsRecord(broker_id=1, next_producer_id=1000))
    assert after.producer_ids.next_producer_id == 1000
    assert after.topics is image.topics
    assert after.cluster is image.cluster
    assert after.configs is image.configs
    assert after.features is image.features


def test_config_record_with_null_value_deletes(image: MetadataImage) -> None:
    after = replay(
        image, ConfigRecord(resource_type=2, resource_name="foo", name="retention.ms", value=None)
    )
    assert after.configs.resources == {}


def test_remove_topic_drops_partitions_and_configs(image: MetadataImage) -> None:
    after = replay(image, RemoveTopicRecord(topic_id=FOO))
    assert after.topics.by_id == {}
    assert after.topics.by_name == {}
    assert after.configs.resources == {}


def test_a_topic_created_and_deleted_in_one_delta_leaves_no_trace(image: MetadataImage) -> None:
    delta = MetadataDelta(image)
    delta.replay(TopicRecord(name="bar", topic_id=BAR))
    delta.replay(partition(BAR, 0, [1], 1))
    delta.replay(ConfigRecord(resource_type=2, resource_name="bar", name="a", value="b"))
    delta.replay(RemoveTopicRecord(topic_id=BAR))
    assert delta.topics is not None
    assert delta.topics.deleted_topic_ids == set()
    after = delta.apply(PROVENANCE)
    assert after.topics == image.topics
    assert after.configs == image.configs


def test_a_deleted_name_can_be_reused_in_the_same_delta(image: MetadataImage) -> None:
    after = replay(
        image,
        RemoveTopicRecord(topic_id=FOO),
        TopicRecord(name="foo", topic_id=BAR),
        partition(BAR, 0, [2], 2),
    )
    foo = after.topics.get_by_name("foo")
    assert foo is not None
    assert foo.topic_id == BAR
    assert list(after.topics.by_id) == [BAR]


@pytest.mark.parametrize(
    "record",
    [
        TopicRecord(name="foo", topic_id=BAR),
        TopicRecord(name="other", topic_id=FOO),
        PartitionRecord(topic_id=BAR, partition_id=0, replicas=[1], isr=[1], leader=1),
        PartitionChangeRecord(topic_id=FOO, partition_id=7, isr=[1]),
        RemoveTopicRecord(topic_id=BAR),
        FenceBrokerRecord(id=3, epoch=100),
        FenceBrokerRecord(id=1, epoch=99),
        UnfenceBrokerRecord(id=1, epoch=99),
        BrokerRegistrationChangeRecord(broker_id=1, broker_epoch=99, fenced=1),
        BrokerRegistrationChangeRecord(broker_id=1, broker_epoch=100, fenced=3),
        BrokerRegistrationChangeRecord(broker_id=1, broker_epoch=100, in_controlled_shutdown=2),
        UnregisterBrokerRecord(broker_id=1, broker_epoch=5),
        ProducerIdsRecord(next_producer_id=0),
        FeatureLevelRecord(name="metadata.version", feature_level=0),
    ],
)
def test_records_that_contradict_the_image_are_refused(image: MetadataImage, record: Any) -> None:
    image = replay(image, ProducerIdsRecord(next_producer_id=1000))
    with pytest.raises((MetadataReplayError, ValueError)):
        replay(image, record)


@pytest.mark.parametrize("record", [BeginTransactionRecord(name="x"), EndTransactionRecord()])
def test_unsupported_records_raise(image: MetadataImage, record: Any) -> None:
    with pytest.raises(UnsupportedRecordError):
        replay(image, record)


def test_unknown_objects_raise(image: MetadataImage) -> None:
    with pytest.raises(UnsupportedRecordError):
        MetadataDelta(image).replay(object())


def test_broker_state_changes(image: MetadataImage) -> None:
    fenced = replay(image, FenceBrokerRecord(id=1, epoch=100))
    assert fenced.cluster.brokers[1].fenced
    assert not replay(fenced, UnfenceBrokerRecord(id=1, epoch=100)).cluster.brokers[1].fenced
    change = replay(
        image,
        BrokerRegistrationChangeRecord(broker_id=1, broker_epoch=100, in_controlled_shutdown=1),
    )
    assert change.cluster.brokers[1].in_controlled_shutdown
    assert not change.cluster.is_active(1)
    again = replay(change, BrokerRegistrationChangeRecord(broker_id=1, broker_epoch=100, fenced=1))
    assert again.cluster.brokers[1].fenced
    # Kafka keeps the shutdown flag until the broker registers again.
    assert again.cluster.brokers[1].in_controlled_shutdown
    dirs = replay(
        image, BrokerRegistrationChangeRecord(broker_id=2, broker_epoch=100, log_dirs=[DIR])
    )
    assert dirs.cluster.brokers[2].directories == (DIR,)
    gone = replay(image, UnregisterBrokerRecord(broker_id=2, broker_epoch=100))
    assert list(gone.cluster.brokers) == [1]


def test_a_new_registration_replaces_the_old(image: MetadataImage) -> None:
    after = replay(image, register(1, epoch=200))
    assert after.cluster.brokers[1].epoch == 200
    assert after.cluster.brokers[1].fenced


def test_controllers_features_and_producer_ids(image: MetadataImage) -> None:
    after = replay(
        image,
        RegisterControllerRecord(controller_id=3000, incarnation_id=FOO),
        FeatureLevelRecord(name="group.version", feature_level=1),
        ZkMigrationStateRecord(zk_migration_state=0),
        ProducerIdsRecord(broker_id=1, broker_epoch=100, next_producer_id=2000),
    )
    assert after.cluster.controllers[3000].incarnation_id == FOO
    assert after.features.finalized() == {"group.version": 1, "metadata.version": 21}
    assert after.producer_ids.next_producer_id == 2000
    removed = replay(after, FeatureLevelRecord(name="group.version", feature_level=0))
    assert removed.features.finalized_versions == {}


def test_local_changes_for_leader_follower_and_deletion(image: MetadataImage) -> None:
    delta = MetadataDelta(image)
    delta.replay(PartitionChangeRecord(topic_id=FOO, partition_id=0, leader=2, isr=[2]))
    delta.replay(PartitionChangeRecord(topic_id=FOO, partition_id=1, isr=[2]))
    delta.replay(TopicRecord(name="bar", topic_id=BAR))
    delta.replay(partition(BAR, 0, [3, 1], 3))

    on_2 = delta.local_changes(2)
    foo0, foo1 = TopicPartition("foo", 0), TopicPartition("foo", 1)
    assert set(on_2.elected_leaders) == {foo0}
    assert set(on_2.leaders) == {foo0, foo1}
    assert on_2.followers == {}
    assert on_2.topic_ids == {"foo": FOO}

    on_1 = delta.local_changes(1)
    assert on_1.leaders == {}
    assert set(on_1.followers) == {foo0, foo1, TopicPartition("bar", 0)}
    assert on_1.followers[foo0].partition.leader == 2
    assert on_1.topic_ids == {"foo": FOO, "bar": BAR}
    assert (BAR, 0) in on_1.directory_ids

    removal = MetadataDelta(image)
    removal.replay(
        PartitionChangeRecord(topic_id=FOO, partition_id=0, replicas=[2], isr=[2], leader=2)
    )
    assert removal.local_changes(1).deletes == {foo0}
    deletion = MetadataDelta(image)
    deletion.replay(RemoveTopicRecord(topic_id=FOO))
    assert deletion.local_changes(1).deletes == {foo0, foo1}
    assert deletion.changed_config_resources() == {ConfigResource.topic("foo")}
    assert deletion.configs is not None
    assert deletion.configs.changed_topics() == {"foo"}
    assert deletion.cluster is None


def test_metadata_version_change(image: MetadataImage) -> None:
    delta = MetadataDelta(image)
    assert delta.metadata_version_changed() is None
    delta.replay(FeatureLevelRecord(name="metadata.version", feature_level=17))
    changed = delta.metadata_version_changed()
    assert changed is not None
    assert changed.level == 17


def test_acls(image: MetadataImage) -> None:
    acl = AccessControlEntryRecord(
        id=BAR, resource_type=2, resource_name="foo", principal="User:alice", host="*"
    )
    added = replay(image, acl)
    assert added.acls.acls[BAR].principal == "User:alice"
    assert replay(added, RemoveAccessControlEntryRecord(id=BAR)).acls.acls == {}
    assert replay(image, acl, RemoveAccessControlEntryRecord(id=BAR)).acls == image.acls
    with pytest.raises(MetadataReplayError):
        replay(image, RemoveAccessControlEntryRecord(id=BAR))


def test_client_quotas(image: MetadataImage) -> None:
    entity = [
        EntityData(entity_type="user", entity_name="alice"),
        EntityData(entity_type="client-id", entity_name=None),
    ]
    quota = ClientQuotaRecord(entity=entity, key="producer_byte_rate", value=1024.0)
    after = replay(image, quota)
    key = (("client-id", None), ("user", "alice"))
    assert after.client_quotas.quotas(key) == {"producer_byte_rate": 1024.0}
    removed = replay(
        after, ClientQuotaRecord(entity=entity[::-1], key="producer_byte_rate", remove=True)
    )
    assert removed.client_quotas.entities == {}


def test_scram_credentials(image: MetadataImage) -> None:
    credential = UserScramCredentialRecord(
        name="alice", mechanism=1, salt=b"s", stored_key=b"k", server_key=b"v", iterations=4096
    )
    after = replay(image, credential)
    found = after.scram.credential(1, "alice")
    assert found is not None
    assert found.iterations == 4096
    assert after.scram.credential(2, "alice") is None
    gone = replay(after, RemoveUserScramCredentialRecord(name="alice", mechanism=1))
    assert gone.scram.credentials == {}


def test_delegation_tokens(image: MetadataImage) -> None:
    token = DelegationTokenRecord(
        owner="User:a", requester="User:a", token_id="t1", max_timestamp=9
    )
    after = replay(image, token)
    assert after.delegation_tokens.tokens["t1"].max_timestamp == 9
    gone = replay(after, RemoveDelegationTokenRecord(token_id="t1"))
    assert gone.delegation_tokens.tokens == {}
