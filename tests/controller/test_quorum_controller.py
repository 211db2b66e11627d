"""The quorum controller as a node drives it: activation, commands, commits, resignation."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.controller import ControllerSettings, Decision, NotActiveError, QuorumController
from odradek.metadata.serde import MetadataBatch, encode_metadata_batch, read_metadata_batches
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.clients.broker_registration_request import (
    BrokerRegistrationRequest,
    Feature,
    Listener,
)
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.metadata.feature_level_record import FeatureLevelRecord
from odradek.protocol.messages.metadata.zk_migration_state_record import ZkMigrationStateRecord
from tests.controller.support import CLUSTER_ID, SCHEMA, Ids, dir_of, incarnation, rng

SETTINGS = ControllerSettings(node_id=1, cluster_id=CLUSTER_ID, session_timeout_ms=9000)


def controller() -> QuorumController:
    return QuorumController(SETTINGS, schema=SCHEMA, id_source=Ids(), rng=rng())


def commit(
    c: QuorumController, decision: Decision[Any], log: list[MetadataBatch] | None = None
) -> Any:
    """Append the decision's batch to a log, read it back, and report it committed."""
    if decision.batch is not None:
        for batch in through_the_log(decision.batch):
            if log is not None:
                log.append(batch)
            c.handle_committed_batch(batch)
    return decision.response


def through_the_log(batch: MetadataBatch) -> list[MetadataBatch]:
    data = encode_metadata_batch(
        batch.records,
        base_offset=batch.base_offset,
        leader_epoch=batch.leader_epoch,
        append_time_ms=batch.append_time_ms,
    )
    return list(read_metadata_batches(data))


def registration(broker_id: int, generation: int = 0) -> BrokerRegistrationRequest:
    return BrokerRegistrationRequest(
        broker_id=broker_id,
        cluster_id=CLUSTER_ID,
        incarnation_id=incarnation(broker_id, generation),
        listeners=[Listener(name="PLAINTEXT", host="localhost", port=9092, security_protocol=0)],
        features=[
            Feature(name="metadata.version", min_supported_version=1, max_supported_version=21)
        ],
        rack=None,
        log_dirs=[dir_of(broker_id)],
    )


def heartbeat(c: QuorumController, broker_id: int, **fields: Any) -> BrokerHeartbeatRequest:
    return BrokerHeartbeatRequest(
        broker_id=broker_id,
        broker_epoch=c.image.cluster.brokers[broker_id].epoch,
        current_metadata_offset=c.next_offset - 1,
        **fields,
    )


def started(now: int = 1000, log: list[MetadataBatch] | None = None) -> QuorumController:
    """A one-node cluster: bootstrapped, broker 1 registered and unfenced."""
    c = controller()
    commit(c, c.activate(epoch=1, now_ms=now, next_offset=1), log)
    commit(c, c.register_broker(registration(1), now), log)
    response = commit(c, c.broker_heartbeat(heartbeat(c, 1), now), log)
    assert response.is_fenced is False
    return c


def test_an_empty_log_gets_the_bootstrap_records() -> None:
    c = controller()
    decision = c.activate(epoch=3, now_ms=5, next_offset=1)
    assert decision.batch is not None
    assert decision.batch.base_offset == 1
    assert decision.batch.leader_epoch == 3
    assert [r.message for r in decision.batch.records] == [
        FeatureLevelRecord(name="metadata.version", feature_level=21),
        ZkMigrationStateRecord(zk_migration_state=0),
    ]
    assert decision.commit_offset == 2
    assert c.image.features.metadata_version.level == 21
    assert c.committed_image.features.metadata_version_level == 0
    commit(c, decision)
    assert c.committed_image is c.image


def test_single_node_start_up() -> None:
    c = controller()
    commit(c, c.activate(epoch=1, now_ms=0, next_offset=1))
    response = commit(c, c.register_broker(registration(1), 0))
    # The broker epoch is the offset of the registration record.
    assert response.broker_epoch == 3
    assert c.register_offset(1) == 3
    lagging = commit(
        c,
        c.broker_heartbeat(
            BrokerHeartbeatRequest(broker_id=1, broker_epoch=3, current_metadata_offset=2), 10
        ),
    )
    assert (lagging.is_caught_up, lagging.is_fenced) == (False, True)
    caught_up = commit(c, c.broker_heartbeat(heartbeat(c, 1), 20))
    assert (caught_up.is_caught_up, caught_up.is_fenced) == (True, False)
    assert c.image.cluster.is_active(1)
    created = commit(
        c,
        c.create_topics(
            CreateTopicsRequest(
                topics=[CreatableTopic(name="t", num_partitions=3, replication_factor=1)]
            ),
            30,
        ),
    )
    assert created.topics[0].error_code == 0
    t = c.image.topics.get_by_name("t")
    assert t is not None
    assert [p.leader for p in t.partitions.values()] == [1, 1, 1]


def test_commands_see_uncommitted_decisions() -> None:
    c = started()
    request = CreateTopicsRequest(
        topics=[CreatableTopic(name="t", num_partitions=1, replication_factor=1)]
    )
    first = c.create_topics(request, 2000)
    second = c.create_topics(request, 2000)
    assert first.response.topics[0].error_code == 0
    assert second.response.topics[0].error_code == 36  # TOPIC_ALREADY_EXISTS
    assert second.batch is None
    # A response that wrote nothing still waits for what it read to commit.
    assert second.commit_offset == first.commit_offset
    assert c.committed_image.topics.get_by_name("t") is None


def test_resigning_forgets_uncommitted_decisions() -> None:
    c = started()
    committed = c.image
    decision = c.create_topics(
        CreateTopicsRequest(
            topics=[CreatableTopic(name="t", num_partitions=1, replication_factor=1)]
        ),
        2000,
    )
    assert decision.batch is not None
    c.deactivate()
    assert c.image is committed
    assert not c.is_active
    with pytest.raises(NotActiveError):
        c.create_topics(CreateTopicsRequest(), 0)


def test_a_standby_follows_the_committed_log() -> None:
    log: list[MetadataBatch] = []
    active = started(log=log)
    commit(
        active,
        active.create_topics(
            CreateTopicsRequest(
                topics=[CreatableTopic(name="t", num_partitions=2, replication_factor=1)]
            ),
            2000,
        ),
        log,
    )
    standby = controller()
    for batch in log:
        standby.handle_committed_batch(batch)
    assert standby.image == active.committed_image
    assert standby.next_offset == active.next_offset
    with pytest.raises(NotActiveError):
        standby.register_broker(registration(2), 0)


def test_stale_brokers_are_fenced_one_at_a_time() -> None:
    c = started(now=1000)
    commit(c, c.register_broker(registration(2), 1000))
    commit(c, c.broker_heartbeat(heartbeat(c, 2), 1000))
    assert c.next_session_check_ms() == 1000 + 9000 + 1
    assert commit(c, c.fence_stale_brokers(5000)) == []
    commit(c, c.broker_heartbeat(heartbeat(c, 2), 6000))
    assert commit(c, c.fence_stale_brokers(10_001)) == [1]
    assert c.image.cluster.brokers[1].fenced
    assert commit(c, c.fence_stale_brokers(10_001)) == []
    assert commit(c, c.fence_stale_brokers(15_001)) == [2]


def test_controlled_shutdown_completes_after_the_leaders_move() -> None:
    c = started()
    commit(c, c.register_broker(registration(2), 1000))
    commit(c, c.broker_heartbeat(heartbeat(c, 2), 1000))
    commit(
        c,
        c.create_topics(
            CreateTopicsRequest(
                topics=[CreatableTopic(name="t", num_partitions=4, replication_factor=2)]
            ),
            1000,
        ),
    )
    first = commit(c, c.broker_heartbeat(heartbeat(c, 1, want_shut_down=True), 1100))
    assert (first.is_fenced, first.should_shut_down) == (False, False)
    t = c.image.topics.get_by_name("t")
    assert t is not None
    assert all(p.leader == 2 for p in t.partitions.values())
    # Broker 2 has not reported replaying the leadership changes yet.
    waiting = commit(c, c.broker_heartbeat(heartbeat(c, 1, want_shut_down=True), 1200))
    assert waiting.should_shut_down is False
    commit(c, c.broker_heartbeat(heartbeat(c, 2), 1300))
    done = commit(c, c.broker_heartbeat(heartbeat(c, 1, want_shut_down=True), 1400))
    assert (done.is_fenced, done.should_shut_down) == (True, True)
    assert c.image.cluster.brokers[1].fenced


def test_a_restarted_broker_registers_again() -> None:
    c = started(now=1000)
    old_epoch = c.image.cluster.brokers[1].epoch
    # The old process is still within its session: a second process is refused.
    refused = commit(c, c.register_broker(registration(1, generation=1), 2000))
    assert refused.error_code == 101  # DUPLICATE_BROKER_REGISTRATION
    accepted = commit(c, c.register_broker(registration(1, generation=1), 20_000))
    assert accepted.error_code == 0
    assert accepted.broker_epoch > old_epoch
    assert c.image.cluster.brokers[1].fenced
    assert c.image.cluster.brokers[1].incarnation_id == incarnation(1, 1)
