"""Broker heartbeats: unfencing, fencing, controlled shutdown, session expiry."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.controller.heartbeats import (
    BrokerControlState,
    BrokerHeartbeatTracker,
    fence_stale_broker,
    process_broker_heartbeat,
)
from odradek.metadata.image import MetadataImage
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.broker_heartbeat_request import BrokerHeartbeatRequest
from odradek.protocol.messages.metadata.broker_registration_change_record import (
    BrokerRegistrationChangeRecord,
)
from odradek.protocol.messages.metadata.partition_change_record import PartitionChangeRecord
from tests.controller.support import SETTINGS, applied, cluster, create, dir_of, messages

TIMEOUT = 9000


def tracker_for(image: MetadataImage, now: int = 0) -> BrokerHeartbeatTracker:
    tracker = BrokerHeartbeatTracker(TIMEOUT)
    for broker in image.cluster.brokers.values():
        tracker.register(broker.broker_id, now, fenced=broker.fenced)
    return tracker


def beat(
    image: MetadataImage,
    tracker: BrokerHeartbeatTracker,
    broker_id: int,
    *,
    offset: int = 1000,
    register_offset: int | None = 5,
    **fields: Any,
) -> Any:
    request = BrokerHeartbeatRequest(
        broker_id=broker_id,
        broker_epoch=fields.pop("epoch", image.cluster.brokers[broker_id].epoch),
        current_metadata_offset=offset,
        **fields,
    )
    return process_broker_heartbeat(
        image, tracker, request, register_offset=register_offset, settings=SETTINGS
    )


def test_a_caught_up_fenced_broker_is_unfenced() -> None:
    image = cluster([1], fenced=[1])
    epoch = image.cluster.brokers[1].epoch
    result = beat(image, tracker_for(image), 1, offset=5)
    assert result.response.next_state is BrokerControlState.UNFENCED
    assert result.response.response.is_fenced is False
    assert result.response.response.is_caught_up is True
    assert messages(result) == [
        BrokerRegistrationChangeRecord(broker_id=1, broker_epoch=epoch, fenced=-1)
    ]
    assert not applied(image, result).cluster.brokers[1].fenced


def test_a_lagging_fenced_broker_stays_fenced() -> None:
    image = cluster([1], fenced=[1])
    result = beat(image, tracker_for(image), 1, offset=4)
    assert result.records == []
    assert result.response.response.is_fenced is True
    assert result.response.response.is_caught_up is False


def test_unfencing_elects_the_broker_for_leaderless_partitions() -> None:
    image = create(cluster([1, 2]), "t", partitions=1, replication_factor=2, seed=1)
    tracker = tracker_for(image)
    t = image.topics.get_by_name("t")
    assert t is not None
    # Both brokers fenced: the partition keeps its last ISR member and has no leader.
    for broker_id in (1, 2):
        image = applied(image, beat(image, tracker, broker_id, want_fence=True))
    p = image.topics.partition(t.topic_id, 0)
    assert p is not None
    assert p.leader == -1
    (last,) = p.isr
    result = beat(image, tracker, last)
    assert messages(result)[1] == PartitionChangeRecord(
        partition_id=0, topic_id=t.topic_id, leader=last
    )
    assert applied(image, result).topics.partition(t.topic_id, 0).leader == last  # type: ignore[union-attr]


def test_fencing_moves_leadership_before_the_fence_record() -> None:
    image = create(cluster([1, 2]), "t", partitions=1, replication_factor=2)
    t = image.topics.get_by_name("t")
    assert t is not None
    leader = t.partitions[0].leader
    result = beat(image, tracker_for(image), leader, want_fence=True)
    assert result.response.next_state is BrokerControlState.FENCED
    assert messages(result) == [
        PartitionChangeRecord(
            partition_id=0, topic_id=t.topic_id, leader=3 - leader, isr=[3 - leader]
        ),
        BrokerRegistrationChangeRecord(
            broker_id=leader, broker_epoch=image.cluster.brokers[leader].epoch, fenced=1
        ),
    ]


@pytest.mark.parametrize(
    ("fenced", "want_fence", "want_shut_down", "leads", "state"),
    [
        (True, False, True, False, BrokerControlState.SHUTDOWN_NOW),
        (True, True, False, False, BrokerControlState.FENCED),
        (False, True, True, False, BrokerControlState.SHUTDOWN_NOW),
        (False, True, False, False, BrokerControlState.FENCED),
        (False, False, True, True, BrokerControlState.CONTROLLED_SHUTDOWN),
        (False, False, True, False, BrokerControlState.SHUTDOWN_NOW),
        (False, False, False, False, BrokerControlState.UNFENCED),
    ],
)
def test_state_transitions(
    fenced: bool, want_fence: bool, want_shut_down: bool, leads: bool, state: BrokerControlState
) -> None:
    image = cluster([1, 2], fenced=[1] if fenced else [])
    if leads:
        image = create(image, "t", partitions=4, replication_factor=1)
    result = beat(
        image, tracker_for(image), 1, want_fence=want_fence, want_shut_down=want_shut_down
    )
    assert result.response.next_state is state
    assert result.response.response.should_shut_down == (state is BrokerControlState.SHUTDOWN_NOW)


def test_controlled_shutdown_moves_leaders_then_completes() -> None:
    image = create(cluster([1, 2]), "t", partitions=4, replication_factor=2)
    tracker = tracker_for(image)
    start = beat(image, tracker, 1, want_shut_down=True)
    assert start.response.next_state is BrokerControlState.CONTROLLED_SHUTDOWN
    assert messages(start)[0] == BrokerRegistrationChangeRecord(
        broker_id=1, broker_epoch=image.cluster.brokers[1].epoch, in_controlled_shutdown=1
    )
    image = applied(image, start)
    assert not any(
        p.leader == 1 for t in image.topics.by_id.values() for p in t.partitions.values()
    )
    tracker.touch(1, 0, fenced=False, metadata_offset=1000)
    tracker.update_controlled_shutdown_offset(1, 50)
    # Broker 2 has not yet replayed the leadership changes: broker 1 must wait.
    tracker.touch(2, 0, fenced=False, metadata_offset=40)
    waiting = beat(image, tracker, 1, want_shut_down=True)
    assert waiting.response.next_state is BrokerControlState.CONTROLLED_SHUTDOWN
    assert waiting.records == []
    tracker.touch(2, 0, fenced=False, metadata_offset=50)
    done = beat(image, tracker, 1, want_shut_down=True)
    assert done.response.next_state is BrokerControlState.SHUTDOWN_NOW
    assert done.response.response.should_shut_down
    assert messages(done)[-1] == BrokerRegistrationChangeRecord(
        broker_id=1, broker_epoch=image.cluster.brokers[1].epoch, fenced=1
    )


def test_stale_epoch_and_unregistered_brokers() -> None:
    image = cluster([1])
    tracker = tracker_for(image)
    stale = beat(image, tracker, 1, epoch=1)
    assert stale.records == []
    assert stale.response.response.error_code == ErrorCode.STALE_BROKER_EPOCH
    early = beat(image, tracker, 1, register_offset=None)
    assert early.response.response.error_code == ErrorCode.STALE_BROKER_EPOCH


def test_offline_directories_take_replicas_out_of_isrs() -> None:
    image = create(cluster([1, 2]), "t", partitions=1, replication_factor=2)
    t = image.topics.get_by_name("t")
    assert t is not None
    result = beat(image, tracker_for(image), 1, offline_log_dirs=[dir_of(1)])
    epoch = image.cluster.brokers[1].epoch
    assert messages(result)[-1] == BrokerRegistrationChangeRecord(
        broker_id=1, broker_epoch=epoch, log_dirs=[]
    )
    assert result.records[-1].version == 2
    p = applied(image, result).topics.partition(t.topic_id, 0)
    assert p is not None
    assert p.isr == (2,)


def test_sessions_expire() -> None:
    image = cluster([1, 2])
    tracker = tracker_for(image, now=0)
    tracker.touch(2, 5000, fenced=False, metadata_offset=10)
    assert tracker.next_check_ms() == TIMEOUT + 1
    assert fence_stale_broker(image, tracker, TIMEOUT, SETTINGS) == (None, [])
    broker_id, records = fence_stale_broker(image, tracker, TIMEOUT + 1, SETTINGS)
    assert broker_id == 1
    assert [r.message for r in records] == [
        BrokerRegistrationChangeRecord(
            broker_id=1, broker_epoch=image.cluster.brokers[1].epoch, fenced=1
        )
    ]
    tracker.fence(1)
    assert tracker.stale_broker(TIMEOUT + 1) is None
    assert tracker.stale_broker(5000 + TIMEOUT + 1) == 2


def test_valid_sessions() -> None:
    tracker = BrokerHeartbeatTracker(TIMEOUT)
    tracker.register(1, 100, fenced=False)
    tracker.register(2, 100, fenced=True)
    assert tracker.has_valid_session(1, 100 + TIMEOUT)
    assert not tracker.has_valid_session(1, 101 + TIMEOUT)
    assert not tracker.has_valid_session(2, 100)
    assert not tracker.has_valid_session(3, 100)
