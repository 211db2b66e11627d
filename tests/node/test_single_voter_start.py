"""A one-controller quorum leads the moment its replica starts, on a clock that stands still.

Kafka's ``KafkaRaftClient.initialize``: the only voter holds every vote it needs, so it
does not wait out ``controller.quorum.election.timeout.ms`` before leading, neither
when new nor when restarted on its ``quorum-state`` and log. Here the driver runs on
real files under trio's ``MockClock`` without autojump, so virtual time moves only
when the test moves it; leading before it moves is the point.
"""

from __future__ import annotations

import random
from pathlib import Path

import trio
import trio.testing

from odradek.node.quorum.driver import RaftDriver
from odradek.raft.batches import CommittedBatch
from odradek.raft.config import QuorumConfig
from odradek.raft.messages import Request
from odradek.raft.quorum_state_store import FileQuorumStateStore
from odradek.raft.snapshots import SnapshotContents


class Recorder:
    """A listener that keeps what it is told."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.leaders: list[tuple[int | None, int]] = []

    def handle_commit(self, batch: CommittedBatch) -> None:
        self.records.extend(batch.records)

    def handle_load_snapshot(self, snapshot: SnapshotContents) -> None:
        raise AssertionError("no snapshots here")

    def handle_leader_change(self, leader_id: int | None, epoch: int) -> None:
        self.leaders.append((leader_id, epoch))


class NoPeers:
    """The transport of a replica with nobody to talk to: anything sent is a failure."""

    async def run(
        self, driver: RaftDriver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        await trio.sleep_forever()

    def send(self, request: Request) -> None:
        raise AssertionError(f"the only voter sent {request}")


def start(tmp_path: Path, seed: int) -> tuple[RaftDriver, Recorder]:
    driver = RaftDriver(
        node_id=1,
        voters={1},
        metadata_log_dir=tmp_path,
        cluster_id="test-cluster-id-000000",
        config=QuorumConfig(),
        transport=NoPeers(),
        time_ms=lambda: int(trio.current_time() * 1000),
        rng=random.Random(seed),
    )
    recorder = Recorder()
    driver.add_listener(recorder)
    return driver, recorder


def test_the_only_voter_leads_before_the_clock_moves(tmp_path: Path) -> None:
    clock = trio.testing.MockClock()

    async def main() -> None:
        began = trio.current_time()
        driver, recorder = start(tmp_path, seed=1)
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run)
            assert trio.current_time() == began
            assert driver.is_leader
            assert recorder.leaders == [(1, 1)]
            stored = FileQuorumStateStore.in_directory(driver.directory).read({1})
            assert stored is not None
            assert (stored.epoch, stored.leader_id) == (1, 1)
            driver.append([b"kept"], driver.epoch)
            clock.jump(1)  # the append's linger time
            await trio.testing.wait_all_tasks_blocked()
            assert recorder.records == [b"kept"]
            nursery.cancel_scope.cancel()
        driver.close()

        restarted_at = trio.current_time()
        again, replayed = start(tmp_path, seed=2)
        async with trio.open_nursery() as nursery:
            await nursery.start(again.run)
            assert trio.current_time() == restarted_at
            assert again.is_leader
            assert again.epoch == 2
            assert replayed.records == [b"kept"]
            assert replayed.leaders == [(1, 2)]
            nursery.cancel_scope.cancel()
        again.close()

    trio.run(main, clock=clock)
