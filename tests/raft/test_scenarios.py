"""The quorum's classic stories, told step by step, as tests and as transcripts.

After etcd's ``testdata/*.txt`` interaction tests: each scenario steers a simulated
quorum (:mod:`tests.raft.simulation`, on a healthy network unless the story says
otherwise) through one story, asserts what the story is about, and compares the full
transcript -- every message delivered, every state change, every commit -- with
``tests/raft/testdata/<scenario>.txt``. The transcripts are meant to be read: they are
the protocol at work. After a deliberate change to the core, regenerate them with
``ODRADEK_REWRITE_TRANSCRIPTS=1`` and review the diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from odradek.raft.leader_state import LeaderState
from odradek.raft.states import CandidateState, FollowerState, ResignedState
from tests.raft.simulation import Node, Profile, Simulation

TESTDATA = Path(__file__).parent / "testdata"
REWRITE = os.environ.get("ODRADEK_REWRITE_TRANSCRIPTS") == "1"


def quorum(
    voters: int = 3, observers: int = 0, *, seed: int = 1, snapshot_every: int = 1000
) -> Simulation:
    sim = Simulation(
        Profile(voters=voters, observers=observers, snapshot_every=snapshot_every),
        seed,
        transcript=True,
    )
    sim.start_all()
    return sim


def the_leader(sim: Simulation) -> Node:
    leaders = sim.leaders()
    assert len(leaders) == 1, f"expected one leader: {sim.status()}"
    return leaders[0]


def is_leader(node: Node) -> bool:
    return node.core is not None and node.core.is_leader


def elected(sim: Simulation) -> Node:
    """Run until there is one leader whose state machine knows it leads."""
    sim.wait_for(sim._has_one_leader, 10_000, "an election")
    return the_leader(sim)


def all_caught_up(sim: Simulation) -> bool:
    """One leader, everything it holds committed, and every replica holding and applying it."""
    leader = sim.leaders()
    if len(leader) != 1 or leader[0].core is None:
        return False
    hw = leader[0].core.high_watermark
    if hw != leader[0].log.end_offset:
        return False
    return all(
        n.core is not None and n.core.high_watermark == hw and n.machine.next_offset == hw
        for n in sim.nodes.values()
    )


def append(sim: Simulation, count: int) -> None:
    for _ in range(count):
        assert sim.append_once(), "no leader accepted the append"
        sim.run_for(5)


def check_transcript(sim: Simulation, name: str) -> None:
    path = TESTDATA / f"{name}.txt"
    text = "\n".join(sim.lines) + "\n"
    if REWRITE:
        TESTDATA.mkdir(exist_ok=True)
        path.write_text(text)
        return
    expected = path.read_text()
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{path.name} (expected)",
                f"{path.name} (this run)",
            )
        )
        pytest.fail(
            f"the {name} transcript changed; if that is intended, regenerate with "
            f"ODRADEK_REWRITE_TRANSCRIPTS=1\n{diff[:20_000]}",
            pytrace=False,
        )


def test_election() -> None:
    """Three voters start knowing nothing; one wins a pre-vote, then the vote; an
    observer finds the leader by asking voters; the LeaderChange record commits."""
    sim = quorum(voters=3, observers=1)
    sim.trace("# three voters and an observer start with empty logs")
    leader = elected(sim)
    assert leader.core is not None
    assert leader.core.epoch == 1
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "everyone following the leader")
    for node in sim.nodes.values():
        assert node.core is not None
        assert node.core.leader_id == leader.node_id
        assert node.machine.leader == (leader.node_id, 1)
    assert sim.invariants.history_end == 1  # the LeaderChange record
    check_transcript(sim, "election")


def test_leader_failover() -> None:
    """The leader crashes; the others elect a new one, keeping every committed record;
    the old leader comes back as Resigned in its old epoch, then follows."""
    sim = quorum()
    old = elected(sim)
    assert old.core is not None
    old_epoch = old.core.epoch
    append(sim, 3)
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the records committed everywhere")
    committed = sim.invariants.history_end
    sim.trace(f"# the leader n{old.node_id} crashes")
    sim.crash_node(old.node_id)
    new = elected(sim)
    assert new.node_id != old.node_id
    assert new.core is not None
    assert new.core.epoch > old_epoch
    sim.trace(f"# n{old.node_id} restarts")
    sim.restart_node(old.node_id)
    assert isinstance(old.core.state if old.core else None, ResignedState)
    append(sim, 1)
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the old leader catching up")
    assert old.core is not None
    assert old.core.leader_id == new.node_id
    assert old.machine.count == 4
    assert sim.invariants.history_end > committed
    check_transcript(sim, "leader_failover")


def test_partitioned_leader_steps_down() -> None:
    """Check-quorum: a leader that no majority fetches from resigns on its own, while
    the majority elects a leader of its own."""
    sim = quorum()
    old = elected(sim)
    assert old.core is not None
    others = set(sim.nodes) - {old.node_id}
    sim.trace(f"# the leader n{old.node_id} is cut off from the other voters")
    sim.partition(others, {old.node_id})
    sim.wait_for(
        lambda: old.core is not None and isinstance(old.core.state, ResignedState),
        3_000,
        "the isolated leader resigning",
    )
    resigned_at = sim.now
    sim.wait_for(
        lambda: any(is_leader(sim.nodes[n]) for n in others),
        5_000,
        "a new leader in the majority",
    )
    assert not is_leader(old)
    # 1.5 fetch timeouts without a majority's fetches
    assert resigned_at >= sim.profile.config.check_quorum_timeout_ms
    sim.heal_network()
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the old leader following")
    new = the_leader(sim)
    assert new.node_id != old.node_id
    assert isinstance(old.core.state, FollowerState)
    check_transcript(sim, "partitioned_leader_steps_down")


def test_prevote_stops_a_disruptive_rejoin() -> None:
    """A follower cut off for long keeps asking for pre-votes and never gets them, so it
    never raises the epoch. When it can reach the other follower (but still not the
    leader), that follower refuses: it hears from its leader. Back in full touch, it
    follows the undisturbed leader."""
    sim = quorum()
    leader = elected(sim)
    assert leader.core is not None
    epoch = leader.core.epoch
    loner = sim.nodes[max(set(sim.nodes) - {leader.node_id})]
    other = sim.nodes[min(set(sim.nodes) - {leader.node_id})]
    sim.trace(f"# n{loner.node_id} is cut off for five seconds")
    since = len(sim.lines)
    sim.partition(set(sim.nodes) - {loner.node_id}, {loner.node_id})
    ran_for_leader = False
    for _ in range(100):
        sim.run_for(50)
        ran_for_leader |= isinstance(loner.core.state if loner.core else None, CandidateState)
    assert not ran_for_leader
    assert loner.core is not None
    assert loner.core.epoch == epoch
    sim.trace(f"# n{loner.node_id} can reach n{other.node_id} again, but not the leader")
    sim.heal_network()
    sim.cut_link(loner.node_id, leader.node_id)
    refusal = f"n{other.node_id} -> n{loner.node_id} VoteResponse(rejected, epoch={epoch})"
    sim.wait_for(lambda: refusal in sim.lines[-1], 5_000, "a refused pre-vote")
    sim.trace("# the network heals")
    sim.heal_network()
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the loner following again")
    assert the_leader(sim) is leader
    assert leader.core.epoch == epoch
    assert isinstance(loner.core.state, FollowerState)
    assert not any("Candidate" in line or " Vote(" in line for line in sim.lines[since:])
    check_transcript(sim, "prevote_stops_a_disruptive_rejoin")


def test_diverged_follower_is_reconciled() -> None:
    """An isolated leader appends records nobody else gets; a new leader commits others
    at the same offsets. Back in touch, the old leader's Fetch is answered with a
    diverging epoch; it truncates the records that never committed and catches up."""
    sim = quorum()
    old = elected(sim)
    assert old.core is not None
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the quorum settling")
    others = set(sim.nodes) - {old.node_id}
    sim.trace(f"# the leader n{old.node_id} is cut off, and appends two records anyway")
    sim.partition(others, {old.node_id})
    append(sim, 2)
    stale_end = old.log.end_offset
    sim.wait_for(
        lambda: any(is_leader(sim.nodes[n]) for n in others),
        5_000,
        "a new leader in the majority",
    )
    sim.wait_for(lambda: not is_leader(old), 3_000, "the old leader resigning")
    sim.trace("# the new leader commits records of its own")
    append(sim, 3)
    sim.run_for(200)
    sim.heal_network()
    sim.trace("# the network heals")
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the old leader reconciled")
    new = the_leader(sim)
    assert new.node_id != old.node_id
    assert old.log.read(0, 1 << 20) == new.log.read(0, 1 << 20)
    assert any("diverging=" in line for line in sim.lines)
    assert stale_end > 1
    check_transcript(sim, "diverged_follower_is_reconciled")


def test_snapshot_to_a_lagging_follower() -> None:
    """While a follower is down the leader snapshots and deletes the log below the
    snapshot; the returning follower is sent the snapshot, in chunks, then the rest."""
    sim = quorum(snapshot_every=5)
    leader = elected(sim)
    assert isinstance(leader.core.state if leader.core else None, LeaderState)
    lagging = min(set(sim.nodes) - {leader.node_id})
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the quorum settling")
    sim.trace(f"# n{lagging} goes down; the others commit twelve records and snapshot")
    sim.crash_node(lagging)
    append(sim, 12)
    sim.run_for(1_000)  # the log is cut at the snapshot on the leader's next step
    assert leader.log.start_offset > 0
    sim.trace(f"# n{lagging} comes back")
    sim.restart_node(lagging)
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the lagging follower catching up")
    assert any(f"n{lagging} loads snapshot" in line for line in sim.lines)
    assert any("FetchSnapshot(" in line for line in sim.lines)
    assert sim.nodes[lagging].machine.count == 12
    check_transcript(sim, "snapshot_to_a_lagging_follower")


def test_a_single_voter_leads_at_once() -> None:
    """The only voter needs nobody's vote: it leads the moment it starts, and again the
    moment it restarts (in the next epoch, as Kafka's ``initialize`` does), with no
    election timeout in between; the observer finds it by asking."""
    sim = quorum(voters=1, observers=1)
    voter = sim.nodes[1]
    assert sim.now == 0
    assert is_leader(voter)
    assert voter.core is not None
    assert voter.core.epoch == 1
    append(sim, 2)
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the observer catching up")
    sim.trace("# the voter crashes, and comes back 500 ms later")
    sim.crash_node(1)
    sim.run_for(500)
    restarted_at = sim.now
    sim.restart_node(1)
    assert is_leader(voter)
    assert voter.core.epoch == 2
    assert voter.machine.leader == (1, 2)
    assert voter.machine.count == 2
    append(sim, 1)
    sim.wait_for(lambda: all_caught_up(sim), 5_000, "the observer following the new epoch")
    assert sim.now > restarted_at
    assert not any("Vote" in line for line in sim.lines)
    check_transcript(sim, "single_voter_leads_at_once")
