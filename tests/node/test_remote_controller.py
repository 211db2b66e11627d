"""The broker's network channel to the active controller, against scripted controllers."""

from __future__ import annotations

import itertools
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from odradek.node.config import BrokerConfig
from odradek.node.kafka_client import ClientSettings
from odradek.node.remote_controller import (
    ControllerAddress,
    RemoteController,
    error_codes,
    voter_addresses,
)
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.messages.clients.alter_partition_response import (
    AlterPartitionResponse,
    PartitionData,
    TopicData,
)
from odradek.protocol.messages.clients.create_topics_request import (
    CreatableTopic,
    CreateTopicsRequest,
)
from odradek.protocol.messages.clients.create_topics_response import (
    CreatableTopicResult,
    CreateTopicsResponse,
)
from tests.node.scripted_peer import API_VERSIONS, ScriptedPeer, serving
from tests.support.odradek_node import node_properties
from tests.support.probe import free_port

pytestmark = pytest.mark.timeout(60)

CREATE_TOPICS = 19
HOST = "127.0.0.1"
SETTINGS = ClientSettings(client_id="test-channel", request_timeout_s=5.0)


def run(test: Callable[[], Awaitable[None]], clock: trio.abc.Clock | None = None) -> None:
    async def guarded() -> None:
        with trio.fail_after(30):
            await test()

    trio.run(guarded, clock=clock)


def create(*names: str) -> CreateTopicsRequest:
    return CreateTopicsRequest(
        topics=[CreatableTopic(name=n, num_partitions=1, replication_factor=1) for n in names]
    )


def answering(code: ErrorCode) -> Callable[[int, int, Any], Awaitable[CreateTopicsResponse]]:
    async def answer(api_key: int, version: int, request: Any) -> CreateTopicsResponse:
        return CreateTopicsResponse(
            topics=[CreatableTopicResult(name=t.name, error_code=code) for t in request.topics]
        )

    return answer


def test_not_controller_sends_the_request_again_to_the_new_active_controller() -> None:
    stale = ScriptedPeer({CREATE_TOPICS: (2, 7)}, answering(ErrorCode.NOT_CONTROLLER))
    active = ScriptedPeer({CREATE_TOPICS: (2, 7)}, answering(ErrorCode.NONE))

    async def main() -> None:
        async with serving(stale) as stale_port, serving(active) as active_port:
            # The stale controller is believed active until it says it is not.
            def leader() -> ControllerAddress:
                if stale.requests(CREATE_TOPICS):
                    return ControllerAddress(2, HOST, active_port)
                return ControllerAddress(1, HOST, stale_port)

            async with trio.open_nursery() as nursery:
                channel = RemoteController(nursery, leader, SETTINGS, retry_timeout_s=20)
                response = await channel.call(CREATE_TOPICS, 7, create("a", "b"))
                channel.close()
        assert [(t.name, t.error_code) for t in response.topics] == [("a", 0), ("b", 0)]
        assert [s.version for s in stale.requests(CREATE_TOPICS)] == [7]
        assert [s.version for s in active.requests(CREATE_TOPICS)] == [7]

    run(main)


def test_other_errors_in_an_answer_are_the_callers_to_read() -> None:
    peer = ScriptedPeer({CREATE_TOPICS: (2, 7)}, answering(ErrorCode.TOPIC_ALREADY_EXISTS))

    async def main() -> None:
        async with serving(peer) as port, trio.open_nursery() as nursery:
            channel = RemoteController(
                nursery, lambda: ControllerAddress(1, HOST, port), SETTINGS, retry_timeout_s=20
            )
            response = await channel.call(CREATE_TOPICS, 5, create("a"))
            channel.close()
        assert response.topics[0].error_code == ErrorCode.TOPIC_ALREADY_EXISTS
        assert len(peer.requests(CREATE_TOPICS)) == 1

    run(main)


def test_a_version_the_controller_does_not_speak_is_not_retried() -> None:
    peer = ScriptedPeer({CREATE_TOPICS: (2, 4)}, answering(ErrorCode.NONE))

    async def main() -> None:
        async with serving(peer) as port, trio.open_nursery() as nursery:
            channel = RemoteController(
                nursery, lambda: ControllerAddress(1, HOST, port), SETTINGS, retry_timeout_s=20
            )
            with pytest.raises(KafkaError) as refused:
                await channel.call(CREATE_TOPICS, 7, create("a"))
            channel.close()
        assert refused.value.code == ErrorCode.UNSUPPORTED_VERSION
        assert peer.requests(CREATE_TOPICS) == []
        assert len(peer.requests(API_VERSIONS)) == 1

    run(main)


def test_without_an_active_controller_the_call_times_out_at_its_deadline() -> None:
    clock = trio.testing.MockClock(autojump_threshold=0)
    lookups: list[float] = []

    def nobody() -> None:
        lookups.append(trio.current_time())

    async def main() -> None:
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            channel = RemoteController(
                nursery, nobody, SETTINGS, retry_timeout_s=10, rng=random.Random(5)
            )
            with pytest.raises(KafkaError) as timed_out:
                await channel.call(CREATE_TOPICS, 7, create("a"))
        assert timed_out.value.code == ErrorCode.REQUEST_TIMED_OUT
        assert "no active controller is known" in timed_out.value.message
        assert trio.current_time() - started == pytest.approx(10)
        # Backing off: pauses grow from retry.backoff.ms to retry.backoff.max.ms.
        pauses = [b - a for a, b in itertools.pairwise(lookups)]
        assert pauses[0] < pauses[3] <= 1.2
        assert all(p <= 1.2 for p in pauses)

    run(main, clock=clock)


def test_an_unreachable_controller_is_retried_until_the_deadline() -> None:
    port = free_port(HOST)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            channel = RemoteController(
                nursery,
                lambda: ControllerAddress(1, HOST, port),
                SETTINGS,
                retry_timeout_s=1.0,
                retry_backoff_s=0.05,
            )
            with pytest.raises(KafkaError) as timed_out:
                await channel.call(CREATE_TOPICS, 7, create("a"))
            channel.close()
        assert timed_out.value.code == ErrorCode.REQUEST_TIMED_OUT
        assert "cannot connect" in timed_out.value.message

    run(main)


def test_error_codes_are_found_at_every_depth() -> None:
    response = AlterPartitionResponse(
        error_code=0,
        topics=[
            TopicData(partitions=[PartitionData(error_code=0), PartitionData(error_code=41)]),
            TopicData(partitions=[PartitionData(error_code=6)]),
        ],
    )
    assert error_codes(response) == {0, 6, 41}
    assert error_codes(CreateTopicsResponse()) == set()


def test_voter_addresses_place_the_leader_by_controller_quorum_voters(tmp_path: Any) -> None:
    properties = node_properties(
        node_id=4, host=HOST, port=9092, controller_port=9093, log_dir=tmp_path
    )
    properties["controller.quorum.voters"] = "3@10.0.0.3:9093,4@127.0.0.1:9093"
    config = BrokerConfig.from_properties(properties)
    leader: list[int | None] = [None]
    active = voter_addresses(config, lambda: leader[0])
    assert active() is None
    leader[0] = 3
    assert active() == ControllerAddress(3, "10.0.0.3", 9093)
    leader[0] = 7  # not a voter: no address to go to
    assert active() is None
