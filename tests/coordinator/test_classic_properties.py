"""Random lives of a classic group, checked against the protocol's promises.

Five consumers -- dynamic ones speaking JoinGroup v3, v5 and v9, static ones v5 and
v9 -- join, sync, heartbeat, commit, leave and crash in random order while time
jumps by random amounts, as hypothesis picks. Each consumer behaves like a client:
it reacts to the errors it gets (rejoin, forget its member id) and, when it leads,
assigns the 12 partitions of topic ``t`` to the members its JoinGroup response
lists, rotated by the generation so that assignments of different generations
differ. After every step:

* the group's generation never goes back;
* every generation has at most one leader (a static member that restarted is the
  same leader under a new member id);
* no partition is handed to two members in one generation, neither in SyncGroup
  responses nor in the group's stored assignment;
* replaying the log into an empty shard gives the live group's stored state when no
  rebalance is in flight, and never a later generation than the live one.

At the end the shard is unloaded, and every request ever sent must have had exactly
one reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.protocol.errors import ErrorCode

from .harness import FakeTopics, ShardDriver, assignment, decode_assignment, subscription
from .test_records import _durable

GROUP = "g"
PARTITIONS = 12
SESSION_MS = 6_000
REBALANCE_MS = 10_000


@dataclass
class Consumer:
    name: str
    version: int
    instance_id: str | None = None
    member_id: str = ""
    generation: int = -1
    leader: bool = False
    skip_assignment: bool = False
    members: list[str] = field(default_factory=list)
    join_handle: int | None = None
    sync_handle: int | None = None
    ready_to_sync: bool = False
    rejoin: bool = False

    @property
    def busy(self) -> bool:
        return self.join_handle is not None or self.sync_handle is not None

    def forget(self) -> None:
        self.member_id, self.generation = "", -1
        self.reset()

    def reset(self) -> None:
        self.leader = self.skip_assignment = self.ready_to_sync = self.rejoin = False
        self.members = []
        self.join_handle = self.sync_handle = None


class ClassicGroupMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = ShardDriver(
            config=GroupCoordinatorConfig(initial_rebalance_delay_ms=1_000),
            topics=FakeTopics({"t": PARTITIONS}),
        )
        self.consumers = [
            Consumer("d9", 9),
            Consumer("d5", 5),
            Consumer("d3", 3),
            Consumer("s9", 9, instance_id="i9"),
            Consumer("s5", 5, instance_id="i5"),
        ]
        #: member id -> who it is (a static member is its instance id).
        self.identity: dict[str, str] = {}
        #: generation -> leader member ids its JoinGroup responses named.
        self.leaders: dict[int, set[str]] = {}
        self.owners: dict[int, dict[int, str]] = {}
        self.max_generation = 0
        # Offsets keep the group from being swept away, so generations stay comparable.
        self.h.commit(GROUP, {("t", 0): 0})

    # -- what a client does with replies -------------------------------------------------

    def who(self, member_id: str) -> str:
        return self.identity.get(member_id, member_id)

    def learn_id(self, c: Consumer, member_id: str) -> None:
        c.member_id = member_id
        if member_id:
            self.identity[member_id] = c.instance_id or member_id

    def process(self) -> None:
        for c in self.consumers:
            if c.join_handle is not None and c.join_handle in self.h.replies:
                self.on_join(c, self.h.replies[c.join_handle])
            if c.sync_handle is not None and c.sync_handle in self.h.replies:
                self.on_sync(c, self.h.replies[c.sync_handle])

    def on_join(self, c: Consumer, r: object) -> None:
        c.join_handle = None
        error = r.error_code  # type: ignore[attr-defined]
        if error == ErrorCode.NONE:
            self.learn_id(c, r.member_id)  # type: ignore[attr-defined]
            c.generation = r.generation_id  # type: ignore[attr-defined]
            c.leader = r.leader == r.member_id  # type: ignore[attr-defined]
            c.skip_assignment = r.skip_assignment  # type: ignore[attr-defined]
            c.members = [m.member_id for m in r.members]  # type: ignore[attr-defined]
            c.ready_to_sync = True
            self.leaders.setdefault(c.generation, set()).add(r.leader)  # type: ignore[attr-defined]
        elif error == ErrorCode.MEMBER_ID_REQUIRED:
            self.learn_id(c, r.member_id)  # type: ignore[attr-defined]
        elif error in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
            c.forget()

    def on_sync(self, c: Consumer, r: object) -> None:
        c.sync_handle = None
        error = r.error_code  # type: ignore[attr-defined]
        if error == ErrorCode.NONE:
            owners = self.owners.setdefault(c.generation, {})
            me = self.who(c.member_id)
            for _, partition in decode_assignment(r.assignment):  # type: ignore[attr-defined]
                assert owners.setdefault(partition, me) == me, (
                    f"generation {c.generation}: partition {partition} given to "
                    f"{owners[partition]} and {me}"
                )
        elif error in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
            c.forget()
        else:
            c.rejoin = True

    # -- rules ---------------------------------------------------------------------------

    consumer = st.integers(min_value=0, max_value=4)

    def send_join(self, c: Consumer) -> None:
        c.reset()
        c.join_handle = self.h.join(
            GROUP,
            c.member_id,
            instance_id=c.instance_id,
            version=c.version,
            client_id=c.name,
            session_ms=SESSION_MS,
            rebalance_ms=REBALANCE_MS,
            protocols=[("range", subscription("t"))],
        )

    def send_sync(self, c: Consumer) -> None:
        c.ready_to_sync = False
        assignments = {}
        if c.leader and not c.skip_assignment:
            owned: dict[str, list[int]] = {m: [] for m in c.members}
            for p in range(PARTITIONS):
                owned[c.members[(p + c.generation) % len(c.members)]].append(p)
            assignments = {m: assignment({"t": ps}) for m, ps in owned.items()}
        c.sync_handle = self.h.sync(
            GROUP, c.member_id, c.generation, assignments, instance_id=c.instance_id
        )

    def send_heartbeat(self, c: Consumer) -> None:
        reply = self.h.reply(self.h.heartbeat(GROUP, c.member_id, c.generation, c.instance_id))
        if reply.error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID):
            c.forget()
        elif reply.error_code != ErrorCode.NONE:
            c.rejoin = True

    def act(self, c: Consumer) -> None:
        """What a live client does next: join, sync, or heartbeat."""
        if c.busy:
            if c.generation >= 0 and c.join_handle is None:
                self.send_heartbeat(c)
        elif c.ready_to_sync:
            self.send_sync(c)
        elif c.generation < 0 or c.rejoin:
            self.send_join(c)
        else:
            self.send_heartbeat(c)
        self.process()

    @initialize(rounds=st.integers(min_value=0, max_value=12))
    def warm_up(self, rounds: int) -> None:
        """Start from some way into the group's life, usually a formed group."""
        for _ in range(rounds):
            self.all_act()

    @rule(i=consumer)
    def one_acts(self, i: int) -> None:
        self.act(self.consumers[i])

    @rule()
    def all_act(self) -> None:
        """Half a second passes, then every client does its next thing."""
        self.h.advance(500)
        for c in self.consumers:
            self.act(c)

    @rule(i=consumer)
    def commit(self, i: int) -> None:
        c = self.consumers[i]
        reply = self.h.reply(
            self.h.commit(
                GROUP,
                {("t", 1): 1},
                member_id=c.member_id,
                generation=c.generation,
                instance_id=c.instance_id,
            )
        )
        assert reply.topics[0].partitions[0].error_code in (
            ErrorCode.NONE,
            ErrorCode.UNKNOWN_MEMBER_ID,
            ErrorCode.ILLEGAL_GENERATION,
            ErrorCode.REBALANCE_IN_PROGRESS,
            ErrorCode.FENCED_INSTANCE_ID,
        )
        self.process()

    @rule(i=consumer)
    def retry(self, i: int) -> None:
        """The client gives up on a request still waiting for its reply and sends it again."""
        c = self.consumers[i]
        if c.join_handle is not None:
            self.send_join(c)
        elif c.sync_handle is not None:
            c.ready_to_sync = True
            self.send_sync(c)
        self.process()

    @rule(i=consumer, leave=st.booleans())
    def disrupt(self, i: int, leave: bool) -> None:
        """The client leaves the group, or dies (a static one later comes back as itself)."""
        c = self.consumers[i]
        if leave and c.member_id:
            self.h.leave(GROUP, (c.member_id, c.instance_id), version=min(c.version, 5))
        c.forget()
        self.process()

    @rule(ms=st.sampled_from([100, 1_000, SESSION_MS + 1, REBALANCE_MS + 1]))
    def wait(self, ms: int) -> None:
        self.h.advance(ms)
        self.process()

    # -- invariants ------------------------------------------------------------------

    @invariant()
    def generation_only_grows(self) -> None:
        group = self.h.shard.group(GROUP)
        assert group is not None, "the group has offsets; it is never swept away"
        assert group.generation_id >= self.max_generation
        self.max_generation = group.generation_id

    @invariant()
    def one_leader_per_generation(self) -> None:
        for generation, leaders in self.leaders.items():
            who = {self.who(leader) for leader in leaders}
            assert len(who) <= 1, f"generation {generation} has leaders {leaders}"

    @invariant()
    def stored_assignment_is_disjoint(self) -> None:
        group = self.h.shard.group(GROUP)
        if group is None or str(group.state) != "Stable":
            return
        seen: dict[tuple[str, int], str] = {}
        for member in group.members.values():
            for tp in decode_assignment(member.assignment):
                assert seen.setdefault(tp, member.member_id) == member.member_id

    @invariant()
    def the_log_holds_the_stored_state(self) -> None:
        reloaded = self.h.reload()
        live = self.h.shard.group(GROUP)
        stored = reloaded.group(GROUP)
        assert live is not None
        assert stored is not None
        if str(live.state) in ("Stable", "Empty"):
            assert _durable(reloaded) == _durable(self.h.shard)
        else:
            assert stored.generation_id <= live.generation_id

    def teardown(self) -> None:
        for reply in self.h.shard.unload():
            assert reply.handle not in self.h.replies
            self.h.replies[reply.handle] = reply.response
        assert set(self.h.replies) == set(range(1, self.h.issued + 1)), (
            "a request was never answered"
        )


ClassicGroupMachine.TestCase.settings = settings(stateful_step_count=60)
TestClassicGroup = ClassicGroupMachine.TestCase
