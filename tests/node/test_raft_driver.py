"""The trio driver of the metadata log, in one process under trio's virtual clock.

Replicas with real files (``FileRaftLog`` and ``quorum-state`` in ``tmp_path``) talk
through an in-memory transport that calls the other driver's
:meth:`~odradek.node.quorum.driver.RaftDriver.handle_request` the way the controller
listener does, and can be cut. ``MockClock(autojump_threshold=0)`` makes every timeout
instant, so elections and failovers take no wall-clock time.

The wire details are tested alone: the pre-vote mark through the codec, the versions
chosen, and the forms of Fetch.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from odradek.node.quorum import wire
from odradek.node.quorum.driver import RaftDriver
from odradek.protocol.codec import decode, encode
from odradek.raft import messages as m
from odradek.raft.batches import CommittedBatch
from odradek.raft.config import QuorumConfig
from odradek.raft.errors import NotLeaderError
from odradek.raft.offsets import OffsetAndEpoch
from odradek.raft.quorum_state_store import FileQuorumStateStore
from odradek.raft.snapshots import SnapshotContents

CONFIG = QuorumConfig()
LATENCY_S = 0.001


class Recorder:
    """A listener that keeps what it is told."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.next_offset = 0
        self.leaders: list[tuple[int | None, int]] = []

    def handle_commit(self, batch: CommittedBatch) -> None:
        assert batch.base_offset == self.next_offset, "commits must be contiguous"
        self.records.extend(batch.records)
        self.next_offset = batch.last_offset + 1

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        raise AssertionError("no snapshots here")

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        self.leaders.append((leader_id, epoch))


class Network:
    """Replicas by id; a transport per replica that calls the others directly."""

    def __init__(self) -> None:
        self.drivers: dict[int, RaftDriver] = {}
        self.down: set[int] = set()

    def transport(self, node_id: int) -> MemoryTransport:
        return MemoryTransport(self, node_id)


class MemoryTransport:
    def __init__(self, network: Network, node_id: int) -> None:
        self.network = network
        self.node_id = node_id
        self._nursery: trio.Nursery | None = None
        self._driver: RaftDriver | None = None

    async def run(
        self, driver: RaftDriver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        self._driver = driver
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    def send(self, request: m.Request) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self._exchange, request)

    async def _exchange(self, request: m.Request) -> None:
        driver = self._driver
        assert driver is not None
        network = self.network
        target = network.drivers.get(request.destination)
        if target is None or {request.source, request.destination} & network.down:
            await trio.sleep(CONFIG.request_timeout_ms / 1000)
            driver.request_failed(request.destination, request.correlation_id)
            return
        # A network takes time: without it, a replica that re-asks at once (an observer
        # looking for a leader) would ask forever at one instant of virtual time.
        await trio.sleep(LATENCY_S)
        # Through the codec and back, as the network would carry it.
        version = wire.request_version(request.body.API_KEY, None)
        assert version is not None
        body: Any = wire.outgoing_body(request, version)
        body = decode(type(body), encode(body, version), version)
        pre_vote = isinstance(body, m.VoteRequest) and wire.is_pre_vote(body)
        answer = await target.handle_request(body, pre_vote=pre_vote, source=wire.source_of(body))
        if not {request.source, request.destination} & network.down:
            driver.receive_response(
                m.Response(request.destination, request.source, request.correlation_id, answer)
            )


def now_ms() -> int:
    return int(trio.current_time() * 1000)


def make_driver(
    tmp_path: Path, network: Network, node_id: int, voters: set[int], seed: int
) -> tuple[RaftDriver, Recorder]:
    driver = RaftDriver(
        node_id=node_id,
        voters=voters,
        metadata_log_dir=tmp_path / f"node-{node_id}",
        cluster_id="test-cluster-id-000000",
        config=CONFIG,
        transport=network.transport(node_id),
        time_ms=now_ms,
        rng=random.Random(seed),
    )
    recorder = Recorder()
    driver.add_listener(recorder)
    network.drivers[node_id] = driver
    return driver, recorder


async def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    # Polled in virtual time: every check costs no wall-clock time.
    with trio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110
            await trio.sleep(0.01)


def leaders(network: Network) -> list[RaftDriver]:
    return [d for i, d in network.drivers.items() if d.is_leader and i not in network.down]


def test_a_single_voter_leads_commits_and_keeps_its_log(tmp_path: Path) -> None:
    async def main() -> None:
        network = Network()
        driver, recorder = make_driver(tmp_path, network, 1, {1}, seed=1)
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)
            await wait_until(lambda: driver.is_leader and (1, driver.epoch) in recorder.leaders)
            last = driver.append([b"a", b"b"], driver.epoch)
            await wait_until(lambda: recorder.next_offset > last)
            nursery.cancel_scope.cancel()
        driver.close()
        assert recorder.records == [b"a", b"b"]
        stored = FileQuorumStateStore.in_directory(driver.directory).read({1})
        assert stored is not None
        assert stored.leader_id == 1

        # Restarted, it resigns its old epoch, leads the next, and hands the log over again.
        again_network = Network()
        again, replayed = make_driver(tmp_path, again_network, 1, {1}, seed=2)
        async with trio.open_nursery() as nursery:
            await nursery.start(again.run)
            await wait_until(lambda: replayed.records == [b"a", b"b"] and again.is_leader)
            assert again.epoch > driver.epoch
            nursery.cancel_scope.cancel()
        again.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_three_voters_replicate_and_survive_the_loss_of_the_leader(tmp_path: Path) -> None:
    async def main() -> None:
        network = Network()
        replicas = {i: make_driver(tmp_path, network, i, {1, 2, 3}, seed=i) for i in (1, 2, 3)}
        observer, watched = make_driver(tmp_path, network, 4, {1, 2, 3}, seed=4)
        async with trio.open_nursery() as nursery:
            for driver, _ in replicas.values():
                await nursery.start(driver.run)
            await nursery.start(observer.run)
            await wait_until(lambda: len(leaders(network)) == 1)
            (leader,) = leaders(network)
            await wait_until(
                lambda: (leader.node_id, leader.epoch) in replicas[leader.node_id][1].leaders
            )
            last = leader.append([b"one"], leader.epoch)
            every = [r for _, r in replicas.values()] + [watched]
            await wait_until(lambda: all(r.next_offset > last for r in every))

            # Cut off, the old leader resigns once check-quorum runs out.
            network.down.add(leader.node_id)
            await wait_until(lambda: not leader.is_leader)
            with pytest.raises(NotLeaderError):
                leader.append([b"lost"], leader.epoch)
            await wait_until(lambda: len(leaders(network)) == 1)
            (successor,) = leaders(network)
            assert successor.node_id != leader.node_id
            assert successor.epoch > leader.epoch
            await wait_until(
                lambda: (
                    (successor.node_id, successor.epoch) in replicas[successor.node_id][1].leaders
                )
            )
            last = successor.append([b"two"], successor.epoch)
            survivors = [r for i, (_, r) in replicas.items() if i != leader.node_id] + [watched]
            await wait_until(lambda: all(r.next_offset > last for r in survivors))

            # Healed, the old leader follows and gets what was committed without it.
            network.down.clear()
            await wait_until(lambda: replicas[leader.node_id][1].next_offset > last)
            nursery.cancel_scope.cancel()
        for driver, _ in replicas.values():
            driver.close()
        observer.close()
        histories = {tuple(r.records) for _, r in replicas.values()} | {tuple(watched.records)}
        assert histories == {(b"one", b"two")}

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


# -- the wire ---------------------------------------------------------------------------


def _vote(pre_vote: bool) -> m.Request:
    body = m.vote_request(
        "cluster",
        candidate_id=2,
        candidate_epoch=5,
        last_offset=OffsetAndEpoch(10, 5),
        voter_id=1,
    )
    return m.Request(2, 1, 7, body, pre_vote)


@pytest.mark.parametrize("version", [0, 1])
@pytest.mark.parametrize("pre_vote", [True, False])
def test_the_pre_vote_mark_crosses_the_codec(version: int, pre_vote: bool) -> None:
    request = _vote(pre_vote)
    body = wire.outgoing_body(request, version)
    decoded = decode(m.VoteRequest, encode(body, version), version)
    assert wire.is_pre_vote(decoded) is pre_vote
    assert wire.source_of(decoded) == 2
    part = decoded.topics[0].partitions[0]
    assert (part.candidate_epoch, part.last_offset, part.last_offset_epoch) == (5, 10, 5)


def test_versions_are_the_highest_both_sides_speak() -> None:
    assert wire.request_version(1, None) == 17
    assert wire.request_version(1, 13) == 13
    assert wire.request_version(1, 11) is None  # Raft needs Fetch 12
    assert wire.request_version(52, 2) == 1
    assert wire.request_version(55, 0) == 0


def test_fetch_names_its_replica_as_the_version_requires() -> None:
    body = m.fetch_request(
        "cluster",
        replica_id=3,
        epoch=4,
        fetch_offset=100,
        last_fetched_epoch=4,
        log_start_offset=0,
        max_wait_ms=500,
        max_bytes=1 << 20,
    )
    request = m.Request(3, 1, 9, body)
    for version in (12, 14, 15, 17):
        sent = wire.outgoing_body(request, version)
        assert isinstance(sent, m.FetchRequest)
        decoded = decode(m.FetchRequest, encode(sent, version), version)
        assert m.fetch_replica_id(decoded) == 3
        assert wire.source_of(decoded) == 3
