"""The node-to-node Kafka client against a tiny scripted peer: versions, pipelining, failures.

DescribeCluster (key 60) is the request the peer is scripted to answer: its response
has a free-text ``cluster_id`` in which the peer says which request it answers.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from odradek.node.kafka_client import (
    ClientSettings,
    KafkaClient,
    open_kafka_client,
    reconnect_backoff_s,
)
from odradek.protocol.errors import ErrorCode, KafkaError
from odradek.protocol.framing import CloseConnection
from odradek.protocol.messages.clients.describe_cluster_request import DescribeClusterRequest
from odradek.protocol.messages.clients.describe_cluster_response import DescribeClusterResponse
from tests.node.scripted_peer import API_VERSIONS, ScriptedPeer, serving
from tests.support.probe import free_port

pytestmark = pytest.mark.timeout(60)

DESCRIBE_CLUSTER = 60
HOST = "127.0.0.1"
#: A bound on every test's run, far above what any of them needs.
GUARD_S = 30


def run(test: Callable[[], Awaitable[None]], clock: trio.abc.Clock | None = None) -> None:
    async def guarded() -> None:
        with trio.fail_after(GUARD_S):
            await test()

    trio.run(guarded, clock=clock)


async def echo(api_key: int, version: int, request: Any) -> DescribeClusterResponse:
    return DescribeClusterResponse(cluster_id=f"v{version} type {request.endpoint_type}")


def describe(endpoint_type: int = 1) -> DescribeClusterRequest:
    return DescribeClusterRequest(endpoint_type=endpoint_type)


async def until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition`` holds; never sleeps, so any clock will do."""
    while not condition():
        await trio.lowlevel.checkpoint()


def in_flight_is(client: KafkaClient, count: int) -> bool:
    return client.in_flight == count


def test_requests_go_at_the_highest_version_both_sides_speak() -> None:
    async def main() -> None:
        for peer_range, expected in (((0, 0), "v0 type 1"), ((0, 1), "v1 type 1")):
            peer = ScriptedPeer({DESCRIBE_CLUSTER: peer_range}, echo)
            async with serving(peer) as port, open_kafka_client(HOST, port) as client:
                response = await client.request(DESCRIBE_CLUSTER, describe())
                assert response.cluster_id == expected
                assert client.peer_versions[DESCRIBE_CLUSTER] == peer_range
                # A version the caller pins is sent as it is.
                pinned = await client.request(DESCRIBE_CLUSTER, describe(), version=0)
                assert pinned.cluster_id == "v0 type 1"

    run(main)


def test_a_version_or_api_the_peer_does_not_serve_is_refused_before_sending() -> None:
    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 0)}, echo)
        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            with pytest.raises(KafkaError) as pinned:
                await client.request(DESCRIBE_CLUSTER, describe(), version=1)
            assert pinned.value.code == ErrorCode.UNSUPPORTED_VERSION
            with pytest.raises(KafkaError) as missing:
                await client.request(3, object())  # Metadata: not listed by the peer
            assert missing.value.code == ErrorCode.UNSUPPORTED_VERSION
            assert peer.requests(DESCRIBE_CLUSTER) == []
            assert peer.requests(3) == []

    run(main)


@pytest.mark.parametrize(
    ("peer_max", "listed", "asked"),
    [(2, True, [4, 2]), (3, True, [4, 3]), (1, False, [4, 0]), (4, True, [4])],
)
def test_api_versions_falls_back_to_a_version_the_peer_knows(
    peer_max: int, listed: bool, asked: list[int]
) -> None:
    async def main() -> None:
        peer = ScriptedPeer(
            {DESCRIBE_CLUSTER: (0, 1)}, echo, api_versions_max=peer_max, lists_api_versions=listed
        )
        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            response = await client.request(DESCRIBE_CLUSTER, describe())
            assert response.cluster_id == "v1 type 1"
        assert [s.version for s in peer.requests(API_VERSIONS)] == asked

    run(main)


def test_a_peer_that_knows_no_api_versions_version_is_refused() -> None:
    async def main() -> None:
        peer = ScriptedPeer({}, api_versions_max=-1, lists_api_versions=False)
        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            with pytest.raises(KafkaError) as refused:
                await client.api_versions()
            assert refused.value.code == ErrorCode.UNSUPPORTED_VERSION
            assert not client.connected
        assert [s.version for s in peer.requests(API_VERSIONS)] == [4, 0]

    run(main)


def test_pipelined_requests_share_a_connection_and_get_their_own_answers() -> None:
    release = trio.Event()

    async def hold_the_first(api_key: int, version: int, request: Any) -> DescribeClusterResponse:
        if request.endpoint_type == 1:
            await release.wait()
        return await echo(api_key, version, request)

    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 1)}, hold_the_first)
        answers: dict[int, str] = {}

        async def ask(client: KafkaClient, endpoint_type: int) -> None:
            response = await client.request(DESCRIBE_CLUSTER, describe(endpoint_type))
            answers[endpoint_type] = response.cluster_id

        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            await client.api_versions()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask, client, 1)
                await until(lambda: len(peer.requests(DESCRIBE_CLUSTER)) == 1)
                for waiting, endpoint_type in ((2, 2), (3, 3)):
                    nursery.start_soon(ask, client, endpoint_type)
                    await until(functools.partial(in_flight_is, client, waiting))
                # Three requests wait on the connection while the peer holds the first
                # (and reads nothing more until it has answered it).
                assert client.in_flight == 3
                assert len(peer.requests(DESCRIBE_CLUSTER)) == 1
                release.set()
            assert client.in_flight == 0
        assert answers == {t: f"v1 type {t}" for t in (1, 2, 3)}
        connections = {s.connection_id for s in peer.seen}
        assert len(connections) == 1
        correlation_ids = [s.correlation_id for s in peer.seen]
        assert correlation_ids == sorted(set(correlation_ids))

    run(main)


def test_a_request_that_times_out_closes_the_connection() -> None:
    async def never_the_first(api_key: int, version: int, request: Any) -> Any:
        if request.endpoint_type == 1:
            await trio.sleep_forever()
        return await echo(api_key, version, request)

    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 1)}, never_the_first)
        errors: dict[str, ErrorCode] = {}

        async def ask(client: KafkaClient, name: str, endpoint_type: int, wait_s: float) -> None:
            with pytest.raises(KafkaError) as failed:
                await client.request(DESCRIBE_CLUSTER, describe(endpoint_type), timeout_s=wait_s)
            errors[name] = failed.value.code

        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            await client.api_versions()
            async with trio.open_nursery() as nursery:
                # The peer holds the first forever; the second, behind it, gives up first.
                nursery.start_soon(ask, client, "held", 1, GUARD_S)
                await until(lambda: client.in_flight == 1)
                nursery.start_soon(ask, client, "impatient", 2, 0.5)
            assert errors == {
                "impatient": ErrorCode.REQUEST_TIMED_OUT,
                "held": ErrorCode.NETWORK_EXCEPTION,
            }
            # The next request gets a new connection, and its answer.
            response = await client.request(DESCRIBE_CLUSTER, describe(2))
            assert response.cluster_id == "v1 type 2"
        handshakes = peer.requests(API_VERSIONS)
        assert len({s.connection_id for s in handshakes}) == 2

    run(main)


def test_a_peer_that_closes_the_connection_fails_what_waits_on_it() -> None:
    async def close_on_the_first(api_key: int, version: int, request: Any) -> Any:
        if request.endpoint_type == 1:
            raise CloseConnection("scripted")
        return await echo(api_key, version, request)

    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 1)}, close_on_the_first)
        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            with pytest.raises(KafkaError) as failed:
                await client.request(DESCRIBE_CLUSTER, describe(1))
            assert failed.value.code == ErrorCode.NETWORK_EXCEPTION
            response = await client.request(DESCRIBE_CLUSTER, describe(3))
            assert response.cluster_id == "v1 type 3"
        assert len({s.connection_id for s in peer.requests(API_VERSIONS)}) == 2

    run(main)


def test_an_answer_to_the_wrong_correlation_id_breaks_the_connection() -> None:
    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 1)}, echo, correlation_offset=7)
        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            with pytest.raises(KafkaError) as failed:
                await client.request(DESCRIBE_CLUSTER, describe())
            assert failed.value.code == ErrorCode.NETWORK_EXCEPTION
            assert not client.connected

    run(main)


def test_a_closed_client_refuses_requests() -> None:
    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 1)}, echo)
        async with serving(peer) as port, open_kafka_client(HOST, port) as client:
            await client.request(DESCRIBE_CLUSTER, describe())
            client.close()
            assert not client.connected
            with pytest.raises(trio.ClosedResourceError):
                await client.request(DESCRIBE_CLUSTER, describe())

    run(main)


def test_reconnects_back_off_until_the_peer_is_back() -> None:
    # Virtual time that moves only when the test moves it: the waits are exact, and
    # no timeout can fire while real sockets are busy.
    clock = trio.testing.MockClock()
    settings = ClientSettings(reconnect_backoff_s=0.05, reconnect_backoff_max_s=1.0)
    expected = random.Random(11)
    port = free_port(HOST)

    async def main() -> None:
        peer = ScriptedPeer({DESCRIBE_CLUSTER: (0, 1)}, echo)
        async with trio.open_nursery() as nursery:
            client = KafkaClient(nursery, HOST, port, settings, rng=random.Random(11))
            # Nothing listens: the attempt fails at once, and the next must wait.
            with pytest.raises(KafkaError) as refused:
                await client.request(DESCRIBE_CLUSTER, describe())
            assert refused.value.code == ErrorCode.NETWORK_EXCEPTION
            first = reconnect_backoff_s(settings, 1, expected)
            assert client.reconnect_delay_s == pytest.approx(first)

            outcome: list[ErrorCode] = []

            async def attempt() -> None:
                try:
                    await client.request(DESCRIBE_CLUSTER, describe())
                except KafkaError as e:
                    outcome.append(e.code)

            nursery.start_soon(attempt)
            await trio.testing.wait_all_tasks_blocked()
            assert outcome == []  # waiting out the backoff, not connecting
            # A hair more than the backoff, so that rounding cannot leave a wait.
            clock.jump(first + 1e-6)
            await until(lambda: bool(outcome))
            assert outcome == [ErrorCode.NETWORK_EXCEPTION]
            second = reconnect_backoff_s(settings, 2, expected)
            assert second > first
            assert client.reconnect_delay_s == pytest.approx(second)

            async with serving(peer, port):
                clock.jump(second + 1e-6)
                response = await client.request(DESCRIBE_CLUSTER, describe())
                assert response.cluster_id == "v1 type 1"
                assert client.connected
                client.close()

    run(main, clock=clock)


def test_reconnect_backoff_doubles_up_to_its_maximum_with_jitter() -> None:
    settings = ClientSettings(reconnect_backoff_s=0.05, reconnect_backoff_max_s=1.0)
    rng = random.Random(3)
    assert reconnect_backoff_s(settings, 0, rng) == 0
    for failures in range(1, 12):
        term = min(0.05 * 2 ** (failures - 1), 1.0)
        value = reconnect_backoff_s(settings, failures, rng)
        assert term * 0.8 <= value <= term * 1.2
