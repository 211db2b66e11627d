"""Whole quorums under crashes, partitions, loss, delay, reordering and duplication.

Each test runs one seed of :mod:`tests.raft.simulation`: faults for a while, checking
the safety invariants after every event, then everything healed and convergence
demanded. ``ODRADEK_RAFT_SEEDS`` sets how many seeds each test runs (the default keeps
the file at a minute or two); ``ODRADEK_RAFT_SEED`` runs one seed only, which is how a
failure is replayed: the failure message prints the exact command.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import replace
from pathlib import Path

import pytest

from odradek.raft import voting
from odradek.raft.config import QuorumConfig
from odradek.raft.file_log import METADATA_LOG_CONFIG
from tests.raft.simulation import Profile, Simulation, TrackedFileLog

SEEDS = int(os.environ.get("ODRADEK_RAFT_SEEDS", "1200"))
_ONE_SEED = os.environ.get("ODRADEK_RAFT_SEED")


def seeds(count: int) -> list[int]:
    return [int(_ONE_SEED)] if _ONE_SEED else list(range(count))


ONE_VOTER = Profile(voters=1, observers=2)
THREE_VOTERS = Profile(voters=3, observers=1)
FIVE_VOTERS = Profile(voters=5, observers=2)


def run_seed(profile: Profile, seed: int, test: str) -> Simulation:
    sim = Simulation(profile, seed)
    try:
        sim.run()
    except Exception:
        last = "\n".join(sim.lines[-150:])
        pytest.fail(
            f"{traceback.format_exc()}\n{sim.summary()}\n\nthe last events:\n{last}\n\n"
            f"replay this seed with:\n  ODRADEK_RAFT_SEED={seed} python3 -m pytest "
            f'"tests/raft/test_simulation.py::{test}[{seed}]"',
            pytrace=False,
        )
    return sim


@pytest.mark.parametrize("seed", seeds(SEEDS))
def test_three_voters_and_an_observer(seed: int) -> None:
    run_seed(THREE_VOTERS, seed, "test_three_voters_and_an_observer")


@pytest.mark.parametrize("seed", seeds(SEEDS // 2))
def test_five_voters_and_two_observers(seed: int) -> None:
    run_seed(FIVE_VOTERS, seed, "test_five_voters_and_two_observers")


@pytest.mark.parametrize("seed", seeds(max(SEEDS // 10, 1)))
def test_one_voter_and_two_observers(seed: int) -> None:
    """The single-controller quorum: the voter leads at every (re)start, without an
    election, and the observers follow it through crashes, resignations and partitions."""
    run_seed(ONE_VOTER, seed, "test_one_voter_and_two_observers")


@pytest.mark.parametrize("seed", seeds(max(SEEDS // 40, 1)))
def test_messages_through_the_kafka_codec(seed: int) -> None:
    """Every message encoded and decoded at the newest version the codec has."""
    run_seed(replace(THREE_VOTERS, wire=True), seed, "test_messages_through_the_kafka_codec")


@pytest.mark.parametrize("seed", seeds(max(SEEDS // 40, 1)))
def test_kafka_default_timeouts(seed: int) -> None:
    profile = replace(
        FIVE_VOTERS,
        config=QuorumConfig(),
        chaos_ms=30_000,
        crash_every_ms=4_000,
        partition_every_ms=4_000,
        resign_every_ms=8_000,
        settle_ms=60_000,
    )
    run_seed(profile, seed, "test_kafka_default_timeouts")


def test_a_run_does_real_work() -> None:
    """The faults leave room for progress: elections, commits, snapshots, transfers."""
    sim = Simulation(FIVE_VOTERS, 7)
    sim.run()
    assert sim.crashes >= 3
    assert sim.snapshots >= 3
    assert sim.invariants.history_end >= 50
    assert max(sim.invariants.leaders) >= 3


def test_the_invariants_catch_a_voter_that_ignores_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Granting votes to out-of-date logs loses committed records; the checks must see it."""
    monkeypatch.setattr(voting, "is_at_least", lambda candidate, local: True)
    for seed in range(50):
        try:
            Simulation(THREE_VOTERS, seed).run()
        except AssertionError:
            return
    pytest.fail("50 seeds of a quorum that elects stale leaders broke no invariant")


def test_the_same_seed_gives_the_same_run() -> None:
    first = Simulation(THREE_VOTERS, 11)
    first.run()
    second = Simulation(THREE_VOTERS, 11)
    second.run()
    assert first.lines == second.lines
    assert first.summary() == second.summary()


@pytest.mark.parametrize("seed", seeds(max(SEEDS // 100, 1)))
def test_three_voters_on_file_logs(seed: int, tmp_path: Path) -> None:
    """The same story on :class:`~odradek.raft.file_log.FileRaftLog`: segments, rolls,
    recovery on every restart, snapshots in ``.checkpoint`` files."""
    config = replace(METADATA_LOG_CONFIG, segment_bytes=2_048)

    def file_log(node_id: int) -> TrackedFileLog:
        directory = tmp_path / f"node{node_id}" / "__cluster_metadata-0"
        return TrackedFileLog.open(directory, time_ms=lambda: 0, config=config)

    sim = Simulation(THREE_VOTERS, seed, log_factory=file_log)
    try:
        sim.run()
    except Exception:
        last = "\n".join(sim.lines[-150:])
        pytest.fail(
            f"{traceback.format_exc()}\n{sim.summary()}\n\nthe last events:\n{last}\n\n"
            f"replay this seed with:\n  ODRADEK_RAFT_SEED={seed} python3 -m pytest "
            f'"tests/raft/test_simulation.py::test_three_voters_on_file_logs[{seed}]"',
            pytrace=False,
        )
    for node in sim.nodes.values():
        assert isinstance(node.log, TrackedFileLog)
        node.log.close()
