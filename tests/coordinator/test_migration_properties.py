"""Random lives of a consumer group whose members speak both protocols.

A classic group of two eager members is upgraded by a member speaking the consumer
protocol; from then on clients of both kinds heartbeat, rejoin, leave, hang and
return as hypothesis picks, while time jumps. The consumer clients behave as in
:mod:`.test_consumer_properties`. The classic clients behave like the Java classic
consumer: an *eager* one gives up everything when told to rejoin (REBALANCE_IN_PROGRESS)
and takes what SyncGroup hands it; a *cooperative* one rejoins reporting what it owns,
gives up what SyncGroup no longer lists, and rejoins at once if it gave anything up.
A client told it is unknown or of another generation starts over with nothing.

Conversions back to a classic group are switched off (``group.consumer.migration.policy
=upgrade``) so the group stays a consumer group; :mod:`.test_group_migration` covers
the downgrade. A classic client finding the group empty stays out until a consumer
client has joined again (it would start a classic group). After every step:

* no partition is owned by two clients the coordinator still counts as members;
* every partition is in at most one member's target;
* replaying the log into an empty shard gives exactly the live group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.coordinator.group.config import MigrationPolicy
from odradek.protocol.errors import ErrorCode

from .group_invariants import (
    assert_log_holds_the_shard,
    assert_no_partition_owned_twice,
    assert_targets_disjoint,
)
from .groups import form_group, stabilize
from .harness import FakeTopics, ShardDriver, decode_assignment, subscription
from .test_group_migration import cooperative

GROUP = "g"
SESSION_MS = 10_000
REBALANCE_MS = 10_000


@dataclass
class Client:
    name: str
    classic: str | None  # None, "eager" or "cooperative"
    member_id: str = ""
    epoch: int = 0
    owned: dict[str, list[int]] = field(default_factory=dict)
    stopped: bool = False

    def drop(self) -> None:
        self.member_id, self.epoch, self.owned = "", 0, {}


class MixedGroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = ShardDriver(
            config=GroupCoordinatorConfig(
                consumer_migration_policy=MigrationPolicy.UPGRADE,
                consumer_session_timeout_ms=SESSION_MS,
            ),
            topics=FakeTopics({"t": 6}),
        )
        self.clients = [
            Client("e1", "eager"),
            Client("e2", "eager"),
            Client("k1", "cooperative"),
            Client("c1", None),
            Client("c2", None),
        ]

    @initialize()
    def a_classic_group_is_upgraded(self) -> None:
        h = self.h
        responses = form_group(h, GROUP, ["e1", "e2"], session_ms=SESSION_MS)
        assignments = stabilize(h, GROUP, responses)
        for client, response in zip(self.clients[:2], responses, strict=True):
            client.member_id, client.epoch = response.member_id, response.generation_id
            client.owned = _by_topic(decode_assignment(assignments[client.member_id]))
        self.consumer_heartbeat(self.clients[3])
        assert h.shard.consumer_group(GROUP) is not None

    # -- clients -----------------------------------------------------------------------

    def consumer_heartbeat(self, c: Client) -> None:
        h = self.h
        if c.epoch == 0:
            handle = h.consumer_heartbeat(GROUP, c.member_id, 0, topics=["t"])
        else:
            handle = h.consumer_heartbeat(GROUP, c.member_id, c.epoch, owned=c.owned)
        reply = h.reply(handle)
        if reply.error_code != ErrorCode.NONE:
            c.drop()
            return
        c.member_id, c.epoch = reply.member_id, reply.member_epoch
        if reply.assignment is not None:
            # Revocations complete before the next heartbeat reports ownership, so a
            # client gives up at once what its new assignment leaves out.
            c.owned = h.named(reply.assignment.topic_partitions)

    def classic_rejoin(self, c: Client) -> None:
        """JoinGroup then SyncGroup, as many times as the client is told to.

        A classic client joining an empty group would start a classic group, which
        this machine does not model: it waits until a consumer client is back.
        """
        h = self.h
        group = h.shard.consumer_group(GROUP)
        if group is None or group.is_empty:
            c.drop()
            return
        for _ in range(3):
            if c.classic == "eager":
                c.owned = {}
                metadata = subscription("t")
            else:
                metadata = cooperative(c.owned, c.epoch if c.member_id else -1)
            handle = h.join(
                GROUP,
                c.member_id,
                protocols=[("range", metadata)],
                session_ms=SESSION_MS,
                rebalance_ms=REBALANCE_MS,
            )
            joined = h.reply(handle)
            if joined.error_code == ErrorCode.MEMBER_ID_REQUIRED:
                c.member_id = joined.member_id
                continue
            if joined.error_code != ErrorCode.NONE:
                c.drop()
                return
            c.member_id, c.epoch = joined.member_id, joined.generation_id
            synced = h.reply(h.sync(GROUP, c.member_id, c.epoch))
            if synced.error_code == ErrorCode.REBALANCE_IN_PROGRESS:
                continue
            if synced.error_code != ErrorCode.NONE:
                c.drop()
                return
            assigned = _by_topic(decode_assignment(synced.assignment))
            gave_up = any(set(ps) - set(assigned.get(t, [])) for t, ps in c.owned.items())
            c.owned = assigned
            if not gave_up:
                return

    def classic_heartbeat(self, c: Client) -> None:
        if not c.member_id:
            self.classic_rejoin(c)
            return
        reply = self.h.reply(self.h.heartbeat(GROUP, c.member_id, c.epoch))
        if reply.error_code == ErrorCode.REBALANCE_IN_PROGRESS:
            self.classic_rejoin(c)
        elif reply.error_code != ErrorCode.NONE:
            c.drop()
            self.classic_rejoin(c)

    def beat(self, c: Client) -> None:
        if c.stopped:
            return
        if c.classic is None:
            self.consumer_heartbeat(c)
        else:
            self.classic_heartbeat(c)

    # -- rules -------------------------------------------------------------------------

    client = st.integers(min_value=0, max_value=4)

    @rule(i=client)
    def one_beats(self, i: int) -> None:
        self.beat(self.clients[i])

    @rule()
    def all_beat(self) -> None:
        self.h.advance(1_000)
        for c in self.clients:
            self.beat(c)

    @rule(i=client)
    def leave(self, i: int) -> None:
        c = self.clients[i]
        if c.member_id and not c.stopped:
            if c.classic is None:
                if c.epoch > 0:
                    self.h.consumer_heartbeat(GROUP, c.member_id, -1)
            else:
                self.h.leave(GROUP, (c.member_id, None))
        c.drop()

    @rule(i=client)
    def stop_or_resume(self, i: int) -> None:
        c = self.clients[i]
        c.stopped = not c.stopped

    @rule(ms=st.sampled_from([500, 3_000, REBALANCE_MS + 1, SESSION_MS + 1]))
    def wait(self, ms: int) -> None:
        self.h.advance(ms)

    # -- invariants --------------------------------------------------------------------

    @invariant()
    def no_partition_owned_twice(self) -> None:
        assert_no_partition_owned_twice(self.h, GROUP, self.clients)

    @invariant()
    def targets_are_disjoint(self) -> None:
        assert_targets_disjoint(self.h, GROUP)

    @invariant()
    def the_log_holds_the_group(self) -> None:
        assert_log_holds_the_shard(self.h)


def _by_topic(partitions: set[tuple[str, int]]) -> dict[str, list[int]]:
    result: dict[str, list[int]] = {}
    for topic, p in sorted(partitions):
        result.setdefault(topic, []).append(p)
    return result


MixedGroupMachine.TestCase.settings = settings(stateful_step_count=40, max_examples=150)
TestMixedGroup = MixedGroupMachine.TestCase
