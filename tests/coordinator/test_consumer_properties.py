"""Random lives of a consumer group (KIP-848), checked against its promises.

Four clients -- three dynamic, one static -- heartbeat, change their subscriptions,
leave, restart and go silent while time jumps and topics appear, as hypothesis picks.
Each behaves like the Java consumer: it joins with epoch 0, reports what it owns,
keeps consuming what its new assignment takes away until its next heartbeat (when
the revocation callback has run), and on FENCED_MEMBER_EPOCH or UNKNOWN_MEMBER_ID
drops its partitions and rejoins. A lazy
heartbeat sometimes leaves out what it owns. After every step:

* no partition is owned by two clients the coordinator still counts as members;
* the group epoch never goes back, the target assignment never runs ahead of it,
  and no member is at an epoch beyond the target's;
* every partition is in at most one member's target;
* replaying the log into an empty shard gives exactly the live group.

(The coordinator itself refuses to record one partition as owned by two members: a
violation would raise inside replay and fail the run.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.protocol.errors import ErrorCode

from .group_invariants import (
    assert_log_holds_the_shard,
    assert_no_partition_owned_twice,
    assert_targets_disjoint,
)
from .harness import FakeTopics, ShardDriver

GROUP = "g"
REBALANCE_MS = 10_000
SESSION_MS = 45_000


@dataclass
class Client:
    name: str
    instance_id: str | None = None
    topics: list[str] = field(default_factory=lambda: ["t"])
    member_id: str = ""
    epoch: int = 0
    owned: dict[str, list[int]] = field(default_factory=dict)
    #: Owned partitions the last assignment took away, given up at the next heartbeat.
    revoking: dict[str, list[int]] = field(default_factory=dict)
    stopped: bool = False

    def drop(self) -> None:
        self.epoch = 0
        self.owned = {}
        self.revoking = {}

    def assign(self, assignment: dict[str, list[int]]) -> None:
        """New partitions are used at once; lost ones only until the next heartbeat."""
        self.revoking = {
            t: [p for p in ps if p not in assignment.get(t, [])] for t, ps in self.owned.items()
        }
        self.owned = {
            t: sorted(set(assignment.get(t, [])) | set(self.revoking.get(t, [])))
            for t in set(assignment) | set(self.revoking)
        }

    def finish_revoking(self) -> None:
        self.owned = {
            t: [p for p in ps if p not in self.revoking.get(t, [])] for t, ps in self.owned.items()
        }
        self.revoking = {}


class ConsumerGroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = ShardDriver(
            config=GroupCoordinatorConfig(consumer_session_timeout_ms=SESSION_MS),
            topics=FakeTopics({"t": 6, "u": 4}),
        )
        self.clients = [
            Client("a"),
            Client("b", topics=["t", "u"]),
            Client("c", topics=["u"]),
            Client("s", instance_id="i"),
        ]
        self.max_epoch = 0
        self.extra_topics = 0

    def heartbeat(self, c: Client, report_owned: bool = True) -> None:
        if c.stopped:
            return
        c.finish_revoking()
        if c.epoch == 0:
            handle = self.h.consumer_heartbeat(
                GROUP,
                c.member_id,
                0,
                topics=c.topics,
                instance_id=c.instance_id,
                rebalance_ms=REBALANCE_MS,
            )
        else:
            handle = self.h.consumer_heartbeat(
                GROUP,
                c.member_id,
                c.epoch,
                instance_id=c.instance_id,
                owned=c.owned if report_owned else None,
            )
        reply = self.h.reply(handle)
        if reply.error_code == ErrorCode.NONE:
            c.member_id, c.epoch = reply.member_id, reply.member_epoch
            if reply.assignment is not None:
                c.assign(self.h.named(reply.assignment.topic_partitions))
        elif reply.error_code in (ErrorCode.FENCED_MEMBER_EPOCH, ErrorCode.UNKNOWN_MEMBER_ID):
            c.drop()
        else:
            assert reply.error_code in (ErrorCode.UNRELEASED_INSTANCE_ID,), reply

    consumer = st.integers(min_value=0, max_value=3)

    @initialize(rounds=st.integers(0, 6))
    def warm_up(self, rounds: int) -> None:
        for _ in range(rounds):
            self.all_heartbeat()

    @rule(i=consumer, report_owned=st.booleans())
    def one_heartbeats(self, i: int, report_owned: bool) -> None:
        self.heartbeat(self.clients[i], report_owned)

    @rule()
    def all_heartbeat(self) -> None:
        """A second passes, then every running client heartbeats."""
        self.h.advance(1_000)
        for c in self.clients:
            self.heartbeat(c)

    @rule(i=consumer, topics=st.sampled_from([["t"], ["u"], ["t", "u"], []]))
    def resubscribe(self, i: int, topics: list[str]) -> None:
        c = self.clients[i]
        c.topics = topics
        if c.epoch > 0 and not c.stopped:
            c.finish_revoking()
            reply = self.h.reply(
                self.h.consumer_heartbeat(
                    GROUP,
                    c.member_id,
                    c.epoch,
                    topics=topics,
                    owned=c.owned,
                    instance_id=c.instance_id,
                )
            )
            if reply.error_code == ErrorCode.NONE:
                c.epoch = reply.member_epoch
                if reply.assignment is not None:
                    c.assign(self.h.named(reply.assignment.topic_partitions))
            else:
                c.drop()

    @rule(i=consumer, static_leave=st.booleans())
    def leave(self, i: int, static_leave: bool) -> None:
        c = self.clients[i]
        if c.epoch > 0 and not c.stopped:
            epoch = -2 if static_leave and c.instance_id else -1
            self.h.consumer_heartbeat(GROUP, c.member_id, epoch, instance_id=c.instance_id)
        c.drop()
        if c.instance_id is not None:
            c.member_id = ""  # a restarted static client comes back under a new member id

    @rule(i=consumer)
    def stop_or_resume(self, i: int) -> None:
        """The client hangs (keeping what it owns) or comes back."""
        c = self.clients[i]
        c.stopped = not c.stopped

    @rule(ms=st.sampled_from([100, 3_000, REBALANCE_MS + 1, SESSION_MS + 1]))
    def wait(self, ms: int) -> None:
        self.h.advance(ms)

    @rule()
    def new_topic(self) -> None:
        if self.extra_topics >= 2:
            return
        self.extra_topics += 1
        counts = {"t": 6, "u": 4 + self.extra_topics}  # u grows
        self.h.topics = FakeTopics(counts)
        self.h.shard.update_topics(self.h.topics)

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def no_partition_owned_twice(self) -> None:
        assert_no_partition_owned_twice(self.h, GROUP, self.clients)

    @invariant()
    def epochs_are_ordered(self) -> None:
        group = self.h.shard.consumer_group(GROUP)
        if group is None:
            return
        assert group.group_epoch >= self.max_epoch
        self.max_epoch = group.group_epoch
        assert group.assignment_epoch <= group.group_epoch
        for member in group.members.values():
            assert member.member_epoch <= group.assignment_epoch

    @invariant()
    def targets_are_disjoint(self) -> None:
        assert_targets_disjoint(self.h, GROUP)

    @invariant()
    def the_log_holds_the_group(self) -> None:
        assert_log_holds_the_shard(self.h)


ConsumerGroupMachine.TestCase.settings = settings(stateful_step_count=50)
TestConsumerGroup = ConsumerGroupMachine.TestCase
