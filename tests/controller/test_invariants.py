"""Random sequences of controller commands keep the metadata consistent.

A hypothesis state machine drives a :class:`QuorumController` through registrations,
heartbeats (fencing, unfencing, shutdowns), session expiry, topic creation and
deletion, partition growth, ISR changes proposed by leaders, config changes and
producer id grants. Every decision goes through the log format and commits; a
standby controller replays the same batches. After every step:

* every partition's ISR is non-empty, within its replicas, and holds its leader
  (or the leader is -1); directories match replicas one to one;
* topics by name and by id are the same topics, names and ids unique;
* leader epochs, partition epochs, broker epochs and the next producer id never go
  backwards;
* the standby's image equals the active controller's committed image.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from odradek.controller import ControllerSettings, Decision, QuorumController
from odradek.controller.configs import OpType
from odradek.metadata.image import MetadataImage
from odradek.metadata.serde import encode_metadata_batch, read_metadata_batches
from odradek.protocol.messages.clients.allocate_producer_ids_request import (
    AllocateProducerIdsRequest,
)
from odradek.protocol.messages.clients.alter_partition_request import (
    AlterPartitionRequest,
    BrokerState,
    PartitionData,
    TopicData,
)
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.create_partitions_request import (
    CreatePartitionsRequest,
    CreatePartitionsTopic,
)
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.delete_topics_request import DeleteTopicsRequest
from odradek.protocol.messages.clients.incremental_alter_configs_request import (
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from tests.controller.support import CLUSTER_ID, SCHEMA, dir_of

BROKERS = st.integers(1, 4)
TOPICS = st.sampled_from(["a", "b", "c", "d.e", "d_e"])
SESSION_MS = 9000


class ControllerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0
        self.seed = random.Random(0)
        ids = random.Random(1)
        config = ControllerSettings(node_id=0, cluster_id=CLUSTER_ID, session_timeout_ms=SESSION_MS)
        self.active = QuorumController(
            config,
            schema=SCHEMA,
            id_source=lambda: uuid.UUID(int=ids.getrandbits(128)),
            rng=self.seed,
        )
        self.standby = QuorumController(
            config, schema=SCHEMA, id_source=lambda: uuid.UUID(int=0), rng=random.Random(0)
        )
        self.generation: dict[int, int] = {}
        self.previous = self.active.image
        self.commit(self.active.activate(epoch=1, now_ms=0, next_offset=0))

    def commit(self, decision: Decision[Any]) -> Any:
        if decision.batch is not None:
            data = encode_metadata_batch(
                decision.batch.records,
                base_offset=decision.batch.base_offset,
                leader_epoch=decision.batch.leader_epoch,
                append_time_ms=decision.batch.append_time_ms,
            )
            for batch in read_metadata_batches(data):
                self.active.handle_committed_batch(batch)
                self.standby.handle_committed_batch(batch)
        return decision.response

    @property
    def image(self) -> MetadataImage:
        return self.active.image

    # -- brokers ----------------------------------------------------------------------

    @rule(broker_id=BROKERS, restart=st.booleans(), wait=st.integers(0, 12_000))
    def register(self, broker_id: int, restart: bool, wait: int) -> None:
        self.now += wait
        if restart or broker_id not in self.generation:
            self.generation[broker_id] = self.generation.get(broker_id, -1) + 1
        request = BrokerRegistrationRequest(
            broker_id=broker_id,
            cluster_id=CLUSTER_ID,
            incarnation_id=uuid.UUID(int=(self.generation[broker_id] << 8) + broker_id),
            listeners=[Listener(name="PLAINTEXT", host="h", port=9092, security_protocol=0)],
            features=[
                Feature(name="metadata.version", min_supported_version=1, max_supported_version=21)
            ],
            rack=self.seed.choice(["r1", "r2", None]),
            log_dirs=[dir_of(broker_id)],
        )
        self.commit(self.active.register_broker(request, self.now))

    @precondition(lambda self: self.image.cluster.brokers)
    @rule(
        data=st.data(),
        want_fence=st.booleans(),
        want_shut_down=st.booleans(),
        lag=st.integers(0, 3),
    )
    def heartbeat(self, data: Any, want_fence: bool, want_shut_down: bool, lag: int) -> None:
        broker_id = data.draw(st.sampled_from(sorted(self.image.cluster.brokers)))
        self.now += 100
        request = BrokerHeartbeatRequest(
            broker_id=broker_id,
            broker_epoch=self.image.cluster.brokers[broker_id].epoch,
            current_metadata_offset=self.active.next_offset - 1 - lag,
            want_fence=want_fence,
            want_shut_down=want_shut_down,
        )
        self.commit(self.active.broker_heartbeat(request, self.now))

    @rule(wait=st.integers(0, 3000))
    def all_brokers_heartbeat(self, wait: int) -> None:
        """The common case: every broker is alive and caught up."""
        self.now += wait
        for broker_id in sorted(self.image.cluster.brokers):
            request = BrokerHeartbeatRequest(
                broker_id=broker_id,
                broker_epoch=self.image.cluster.brokers[broker_id].epoch,
                current_metadata_offset=self.active.next_offset - 1,
            )
            self.commit(self.active.broker_heartbeat(request, self.now))

    @rule(wait=st.integers(0, 20_000))
    def expire_sessions(self, wait: int) -> None:
        self.now += wait
        while self.commit(self.active.fence_stale_brokers(self.now)):
            pass

    @precondition(lambda self: self.image.cluster.brokers)
    @rule(data=st.data(), chance=st.integers(0, 4))
    def unregister(self, data: Any, chance: int) -> None:
        if chance:
            return  # rarer than the other events, as in real clusters
        broker_id = data.draw(st.sampled_from(sorted(self.image.cluster.brokers)))
        self.commit(self.active.unregister_broker(broker_id, self.now))

    # -- topics -----------------------------------------------------------------------

    @rule(name=TOPICS, partitions=st.integers(1, 3), rf=st.integers(1, 3))
    def create_topic(self, name: str, partitions: int, rf: int) -> None:
        topic = CreatableTopic(name=name, num_partitions=partitions, replication_factor=rf)
        self.commit(self.active.create_topics(CreateTopicsRequest(topics=[topic]), self.now))

    @rule(name=TOPICS)
    def delete_topic(self, name: str) -> None:
        request = DeleteTopicsRequest(topic_names=[name])
        self.commit(self.active.delete_topics(request, 5, self.now))

    @rule(name=TOPICS, count=st.integers(1, 5))
    def create_partitions(self, name: str, count: int) -> None:
        request = CreatePartitionsRequest(
            topics=[CreatePartitionsTopic(name=name, count=count, assignments=None)]
        )
        self.commit(self.active.create_partitions(request, self.now))

    @precondition(lambda self: self.image.topics.by_id)
    @rule(data=st.data(), stale=st.booleans())
    def alter_partition(self, data: Any, stale: bool) -> None:
        topic = data.draw(
            st.sampled_from(sorted(self.image.topics.by_name.values(), key=lambda t: t.name))
        )
        partition_id = data.draw(st.sampled_from(sorted(topic.partitions)))
        partition = topic.partitions[partition_id]
        leader = partition.leader
        if leader not in self.image.cluster.brokers:
            return
        followers = [r for r in partition.replicas if r != leader]
        picked = data.draw(st.lists(st.sampled_from(followers), unique=True)) if followers else []
        isr = [leader, *picked]
        request = AlterPartitionRequest(
            broker_id=leader,
            broker_epoch=self.image.cluster.brokers[leader].epoch,
            topics=[
                TopicData(
                    topic_id=topic.topic_id,
                    partitions=[
                        PartitionData(
                            partition_index=partition_id,
                            leader_epoch=partition.leader_epoch,
                            partition_epoch=partition.partition_epoch - stale,
                            new_isr_with_epochs=[BrokerState(broker_id=b) for b in isr],
                        )
                    ],
                )
            ],
        )
        self.commit(self.active.alter_partition(request, 3, self.now))

    @rule(name=TOPICS, unclean=st.booleans())
    def set_unclean_election(self, name: str, unclean: bool) -> None:
        request = IncrementalAlterConfigsRequest(
            resources=[
                AlterConfigsResource(
                    resource_type=2,
                    resource_name=name,
                    configs=[
                        AlterableConfig(
                            name="unclean.leader.election.enable",
                            config_operation=OpType.SET,
                            value=str(unclean).lower(),
                        )
                    ],
                )
            ]
        )
        self.commit(self.active.incremental_alter_configs(request, self.now))

    @precondition(lambda self: self.image.cluster.brokers)
    @rule(data=st.data())
    def allocate_producer_ids(self, data: Any) -> None:
        broker_id = data.draw(st.sampled_from(sorted(self.image.cluster.brokers)))
        request = AllocateProducerIdsRequest(
            broker_id=broker_id, broker_epoch=self.image.cluster.brokers[broker_id].epoch
        )
        self.commit(self.active.allocate_producer_ids(request, self.now))

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def partitions_are_consistent(self) -> None:
        for topic in self.image.topics.by_id.values():
            for partition in topic.partitions.values():
                assert partition.isr, partition
                assert set(partition.isr) <= set(partition.replicas), partition
                assert len(set(partition.isr)) == len(partition.isr), partition
                assert partition.leader == -1 or partition.leader in partition.isr, partition
                assert len(partition.directories) == len(partition.replicas), partition
            assert sorted(topic.partitions) == list(range(len(topic.partitions)))

    @invariant()
    def names_and_ids_are_unique(self) -> None:
        topics = self.image.topics
        assert {t.topic_id for t in topics.by_name.values()} == set(topics.by_id)
        assert {t.name for t in topics.by_id.values()} == set(topics.by_name)
        for name, topic in topics.by_name.items():
            assert topic.name == name
            assert topics.by_id[topic.topic_id] is topic

    @invariant()
    def epochs_only_grow(self) -> None:
        before, after = self.previous, self.image
        for topic_id, topic in after.topics.by_id.items():
            old = before.topics.get(topic_id)
            if old is None:
                continue
            for pid, partition in topic.partitions.items():
                previous = old.partitions.get(pid)
                if previous is not None:
                    assert partition.leader_epoch >= previous.leader_epoch
                    assert partition.partition_epoch >= previous.partition_epoch
        for broker_id, broker in after.cluster.brokers.items():
            old_broker = before.cluster.broker(broker_id)
            if old_broker is not None:
                assert broker.epoch >= old_broker.epoch
        assert after.producer_ids.next_producer_id >= before.producer_ids.next_producer_id
        self.previous = after

    @invariant()
    def the_standby_agrees(self) -> None:
        assert self.active.committed_image is self.active.image
        assert self.standby.image == self.active.image


ControllerMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None
)
TestControllerInvariants = ControllerMachine.TestCase
