"""Loading a snapshot over an image: what the snapshot lacks is removed, for every reader.

Kafka's ``MetadataDelta`` built from a snapshot calls ``finishSnapshot()`` on each
sub-delta, so that topics, partitions, brokers, configs and the rest that the old
image had and the snapshot does not are deleted. A broker acts on deltas, so without
that it would keep serving (and storing) topics deleted while it was too far behind
to be sent the log. Image A below is what a broker holds; B, the snapshot, is A after
topic ``doomed`` was deleted and more.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odradek.metadata.configs import ConfigResource
from odradek.metadata.delta import MetadataDelta, replay_records
from odradek.metadata.image import EMPTY_IMAGE, MetadataImage, MetadataProvenance
from odradek.metadata.loader import MetadataLoader
from odradek.metadata.records import MetadataReplayError, VersionedRecord
from odradek.metadata.serde import MetadataBatch
from odradek.protocol.messages.metadata.access_control_entry_record import (
    AccessControlEntryRecord,
)
from odradek.protocol.messages.metadata.begin_transaction_record import BeginTransactionRecord
from odradek.protocol.messages.metadata.client_quota_record import ClientQuotaRecord, EntityData
from odradek.protocol.messages.metadata.config_record import ConfigRecord
from odradek.protocol.messages.metadata.delegation_token_record import DelegationTokenRecord
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from odradek.protocol.messages.metadata.partition_record import PartitionRecord
from odradek.protocol.messages.metadata.producer_ids_record import ProducerIdsRecord
from odradek.protocol.messages.metadata.register_broker_record import (
    BrokerEndpoint,
    RegisterBrokerRecord,
)
from odradek.protocol.messages.metadata.remove_topic_record import RemoveTopicRecord
from odradek.protocol.messages.metadata.topic_record import TopicRecord
from odradek.protocol.messages.metadata.unregister_broker_record import UnregisterBrokerRecord
from odradek.protocol.messages.metadata.user_scram_credential_record import (
    UserScramCredentialRecord,
)
from odradek.storage.checkpoints import TopicPartition
from tests.metadata.strategies import BROKER_IDS, images

DOOMED = uuid.UUID(int=0xD00)
KEPT = uuid.UUID(int=0xC0C)
REBORN = uuid.UUID(int=0xB0B)
ACL = uuid.UUID(int=0xAC1)
OLD = MetadataProvenance(last_offset=99, last_epoch=2, last_log_time_ms=50)
SNAPSHOT = MetadataProvenance(last_offset=499, last_epoch=4, last_log_time_ms=90)


def records(*messages: Any) -> list[VersionedRecord]:
    return [VersionedRecord(m, 0) for m in messages]


def register(broker_id: int) -> RegisterBrokerRecord:
    return RegisterBrokerRecord(
        broker_id=broker_id,
        broker_epoch=10 + broker_id,
        incarnation_id=uuid.UUID(int=broker_id),
        end_points=[BrokerEndpoint(name="PLAINTEXT", host="h", port=9092)],
        fenced=False,
    )


def partition(topic_id: uuid.UUID, pid: int, replicas: list[int]) -> PartitionRecord:
    """A partition led by its first replica."""
    return PartitionRecord(
        partition_id=pid,
        topic_id=topic_id,
        replicas=replicas,
        isr=replicas,
        leader=replicas[0],
        leader_epoch=0,
        partition_epoch=0,
    )


def topic_config(topic: str, name: str, value: str) -> ConfigRecord:
    return ConfigRecord(resource_type=2, resource_name=topic, name=name, value=value)


def quota(user: str) -> ClientQuotaRecord:
    return ClientQuotaRecord(
        entity=[EntityData(entity_type="user", entity_name=user)],
        key="producer_byte_rate",
        value=1024.0,
    )


IMAGE_A = replay_records(
    EMPTY_IMAGE,
    records(
        FeatureLevelRecord(name="metadata.version", feature_level=21),
        FeatureLevelRecord(name="group.version", feature_level=1),
        register(1),
        register(2),
        register(3),
        TopicRecord(name="doomed", topic_id=DOOMED),
        partition(DOOMED, 0, [1, 2]),
        partition(DOOMED, 1, [2, 3]),
        TopicRecord(name="kept", topic_id=KEPT),
        partition(KEPT, 0, [1, 2]),
        partition(KEPT, 1, [1, 3]),
        partition(KEPT, 2, [3, 2]),
        topic_config("doomed", "retention.ms", "1000"),
        topic_config("kept", "cleanup.policy", "compact"),
        ProducerIdsRecord(broker_id=1, broker_epoch=11, next_producer_id=5000),
        AccessControlEntryRecord(
            id=ACL,
            resource_type=2,
            resource_name="doomed",
            pattern_type=3,
            principal="User:alice",
            host="*",
            operation=3,
            permission_type=3,
        ),
        quota("alice"),
        UserScramCredentialRecord(
            name="alice", mechanism=1, salt=b"s", stored_key=b"k", server_key=b"v", iterations=4096
        ),
        DelegationTokenRecord(
            owner="User:alice",
            requester="User:alice",
            renewers=[],
            issue_timestamp=1,
            max_timestamp=2,
            expiration_timestamp=2,
            token_id="token",
        ),
    ),
    OLD,
)

#: A's future: ``doomed`` deleted, broker 3 gone (its replica of ``kept``-1 moved to
#: broker 2, its leadership of ``kept``-2 to broker 2), a feature removed, and no
#: producer ids, ACL, quota, credential or token; ``kept``-0 and its config untouched.
IMAGE_B = replay_records(
    IMAGE_A,
    records(
        RemoveTopicRecord(topic_id=DOOMED),
        UnregisterBrokerRecord(broker_id=3, broker_epoch=13),
        PartitionChangeRecord(topic_id=KEPT, partition_id=1, replicas=[1, 2], isr=[1, 2]),
        PartitionChangeRecord(topic_id=KEPT, partition_id=2, replicas=[2], isr=[2], leader=2),
        FeatureLevelRecord(name="group.version", feature_level=0),
    ),
    SNAPSHOT,
)
IMAGE_B = MetadataImage(
    provenance=SNAPSHOT,
    features=IMAGE_B.features,
    cluster=IMAGE_B.cluster,
    topics=IMAGE_B.topics,
    configs=IMAGE_B.configs,
)


def load(image: MetadataImage, snapshot: MetadataImage) -> tuple[MetadataDelta, MetadataImage]:
    loader = MetadataLoader(image)
    delta, loaded = loader.load_snapshot(snapshot.to_records(), snapshot.provenance)
    assert loader.image is loaded
    return delta, loaded


def test_the_loaded_image_is_the_snapshot() -> None:
    delta, loaded = load(IMAGE_A, IMAGE_B)
    assert loaded == IMAGE_B
    assert delta.apply(SNAPSHOT) == IMAGE_B


def test_a_topic_missing_from_the_snapshot_is_deleted_with_its_partitions_and_configs() -> None:
    delta, loaded = load(IMAGE_A, IMAGE_B)
    assert delta.topics is not None
    assert delta.topics.deleted_topic_ids == {DOOMED}
    assert loaded.topics.get_by_name("doomed") is None
    assert delta.configs is not None
    assert delta.configs.changed_topics() == {"doomed"}
    assert loaded.configs.topic("doomed") == {}
    assert loaded.configs.topic("kept") == {"cleanup.policy": "compact"}
    for broker_id, deleted in [
        (1, {TopicPartition("doomed", 0)}),
        (2, {TopicPartition("doomed", 0), TopicPartition("doomed", 1)}),
    ]:
        assert deleted <= delta.local_changes(broker_id).deletes


def test_partitions_moved_away_are_deleted_and_unchanged_ones_left_alone() -> None:
    delta, _ = load(IMAGE_A, IMAGE_B)
    one = delta.local_changes(1)
    assert one.deletes == {TopicPartition("doomed", 0)}
    # kept-1 changed (broker 3 left its replicas); broker 1 still leads it.
    assert set(one.leaders) == {TopicPartition("kept", 1)}
    two = delta.local_changes(2)
    assert TopicPartition("kept", 0) not in two.followers
    assert set(two.followers) == {TopicPartition("kept", 1)}
    assert set(two.elected_leaders) == {TopicPartition("kept", 2)}
    three = delta.local_changes(3)
    assert three.deletes == {
        TopicPartition("doomed", 1),
        TopicPartition("kept", 1),
        TopicPartition("kept", 2),
    }


def test_brokers_configs_producer_ids_features_and_security_state_are_removed() -> None:
    delta, loaded = load(IMAGE_A, IMAGE_B)
    assert delta.cluster is not None
    assert delta.cluster.changed_brokers == {3: None}
    assert sorted(loaded.cluster.brokers) == [1, 2]
    assert loaded.producer_ids.next_producer_id == -1
    assert loaded.features.finalized_versions == {}
    assert loaded.features.metadata_version_level == 21
    assert delta.metadata_version_changed() is None
    assert loaded.acls.acls == {}
    assert loaded.client_quotas.entities == {}
    assert loaded.scram.credentials == {}
    assert loaded.delegation_tokens.tokens == {}


def test_a_snapshot_equal_to_the_image_changes_nothing() -> None:
    delta, loaded = load(IMAGE_A, IMAGE_A)
    assert loaded == IMAGE_A
    parts = (
        "features",
        "cluster",
        "topics",
        "configs",
        "client_quotas",
        "producer_ids",
        "acls",
        "scram",
        "delegation_tokens",
    )
    assert {part: getattr(delta, part) for part in parts} == dict.fromkeys(parts)
    assert delta.local_changes(1).deletes == frozenset()


def test_a_topic_deleted_and_recreated_under_its_name_is_replaced() -> None:
    snapshot = replay_records(
        IMAGE_A,
        records(
            RemoveTopicRecord(topic_id=DOOMED),
            TopicRecord(name="doomed", topic_id=REBORN),
            partition(REBORN, 0, [1]),
        ),
        SNAPSHOT,
    )
    delta, loaded = load(IMAGE_A, snapshot)
    assert loaded == snapshot
    assert delta.topics is not None
    assert delta.topics.deleted_topic_ids == {DOOMED}
    assert delta.topics.created_topic_ids == {REBORN}
    changes = delta.local_changes(2)
    assert changes.deletes == {TopicPartition("doomed", 0), TopicPartition("doomed", 1)}
    assert set(delta.local_changes(1).elected_leaders) == {TopicPartition("doomed", 0)}
    assert delta.local_changes(1).topic_ids == {"doomed": REBORN}


def test_a_partition_missing_from_a_kept_topic_is_deleted() -> None:
    kept = IMAGE_A.topics.by_id[KEPT]
    shrunk = MetadataImage(
        provenance=SNAPSHOT,
        features=IMAGE_A.features,
        cluster=IMAGE_A.cluster,
        topics=replay_records(
            EMPTY_IMAGE,
            records(TopicRecord(name="kept", topic_id=KEPT), partition(KEPT, 0, [1, 2])),
            SNAPSHOT,
        ).topics,
    )
    delta, loaded = load(IMAGE_A, shrunk)
    assert loaded == shrunk
    assert delta.topics is not None
    assert delta.topics.changed_topics[KEPT].removed_partitions == {1, 2}
    assert delta.local_changes(3).deletes == {
        TopicPartition("doomed", 1),
        TopicPartition("kept", 1),
        TopicPartition("kept", 2),
    }
    assert kept.partitions[0] == loaded.topics.by_id[KEPT].partitions[0]


def test_a_snapshot_drops_an_unfinished_transaction_and_the_log_continues_from_it() -> None:
    loader = MetadataLoader(IMAGE_A)
    pending = MetadataBatch(
        base_offset=100,
        leader_epoch=2,
        append_time_ms=60,
        records=tuple(records(BeginTransactionRecord(name="t"), register(9))),
    )
    assert loader.load_batch(pending) == []
    assert loader.in_transaction
    loader.load_snapshot(IMAGE_B.to_records(), SNAPSHOT)
    assert not loader.in_transaction
    after = MetadataBatch(
        base_offset=500,
        leader_epoch=4,
        append_time_ms=95,
        records=tuple(records(register(4))),
    )
    (published,) = loader.load_batch(after)
    assert sorted(published.image.cluster.brokers) == [1, 2, 4]
    assert published.delta.image == IMAGE_B


def test_a_snapshot_that_does_not_replay_leaves_the_loader_as_it_was() -> None:
    loader = MetadataLoader(IMAGE_A)
    broken = records(partition(DOOMED, 0, [1]))  # a partition of no topic
    with pytest.raises(MetadataReplayError):
        loader.load_snapshot(broken, SNAPSHOT)
    assert loader.image is IMAGE_A


def _hosted(image: MetadataImage, broker_id: int) -> set[tuple[uuid.UUID, TopicPartition]]:
    return {
        (topic.topic_id, TopicPartition(topic.name, pid))
        for topic in image.topics.by_id.values()
        for pid, part in topic.partitions.items()
        if broker_id in part.replicas
    }


def _partition_epoch(image: MetadataImage, topic_id: uuid.UUID, tp: TopicPartition) -> int | None:
    topic = image.topics.get(topic_id)
    if topic is None or topic.name != tp.topic or tp.partition not in topic.partitions:
        return None
    return topic.partitions[tp.partition].partition_epoch


@given(images(), images(), BROKER_IDS)
def test_any_snapshot_over_any_image(
    image: MetadataImage, snapshot: MetadataImage, broker_id: int
) -> None:
    """Loading B over A gives B, whatever A was; a broker deletes exactly the replicas it
    hosted in A and does not host (under the same topic id) in B, and acts on every
    replica that is new to it (as the log would say: a partition's epoch moves with
    every change)."""
    delta, loaded = load(image, snapshot)
    assert loaded == snapshot
    assert delta.apply(snapshot.provenance) == snapshot
    changes = delta.local_changes(broker_id)
    before, after = _hosted(image, broker_id), _hosted(snapshot, broker_id)
    assert changes.deletes == {tp for _, tp in before - after}
    acted_on = changes.leaders.keys() | changes.followers.keys()
    for topic_id, tp in after - before:
        if _partition_epoch(image, topic_id, tp) != _partition_epoch(snapshot, topic_id, tp):
            assert tp in acted_on
    for tp in acted_on:
        topic = snapshot.topics.get_by_name(tp.topic)
        assert topic is not None
        assert broker_id in topic.partitions[tp.partition].replicas


@given(images(), st.data())
def test_from_snapshot_then_replay_continues_like_the_log(
    image: MetadataImage, data: st.DataObject
) -> None:
    """The image a snapshot leaves is an ordinary image: the log replays on top of it."""
    snapshot = data.draw(images())
    delta = MetadataDelta.from_snapshot(image, snapshot)
    after = MetadataDelta(delta.apply(snapshot.provenance))
    after.replay(ConfigRecord(resource_type=4, resource_name="", name="x", value="y"))
    assert after.apply(snapshot.provenance).configs.configs(ConfigResource.broker()) == {
        **snapshot.configs.configs(ConfigResource.broker()),
        "x": "y",
    }
