"""Static membership: ``group.instance.id`` keeps a member's place across restarts."""

from __future__ import annotations

from odradek.coordinator.group.classic.state import PREPARING_REBALANCE, STABLE
from odradek.coordinator.group.records import group_metadata_record
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.group_coordinator.group_metadata_value import (
    GroupMetadataValue,
    MemberMetadata,
)

from .groups import form_group, stabilize
from .harness import SESSION_MS, ShardDriver, subscription


def _static_pair(h: ShardDriver, **join_args: object) -> tuple[str, str, dict[str, bytes]]:
    a, b = form_group(h, "g", ["a", "b"], instance_ids=["ia", "ib"], **join_args)
    assignments = stabilize(h, "g", [a, b])
    return a.member_id, b.member_id, assignments


def test_static_members_join_without_the_member_id_handshake() -> None:
    h = ShardDriver()
    a, b, _ = _static_pair(h)
    assert (a, b) == ("ia-1", "ib-2")


def test_a_restarted_static_member_keeps_its_assignment_without_a_rebalance() -> None:
    h = ShardDriver()
    a, b, assignments = _static_pair(h)
    restarted = h.reply(h.join("g", instance_id="ib"))
    assert restarted.error_code == ErrorCode.NONE
    assert restarted.member_id not in (a, b)
    assert (restarted.generation_id, restarted.leader) == (1, a)
    assert (restarted.members, restarted.skip_assignment) == ([], False)
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(STABLE)
    assert group.generation_id == 1
    synced = h.reply(h.sync("g", restarted.member_id, 1, instance_id="ib"))
    assert synced.assignment == assignments[b]
    # The new member id is stored: a new coordinator knows it too.
    reloaded = h.reload().group("g")
    assert reloaded is not None
    assert set(reloaded.members) == {a, restarted.member_id}


def test_the_old_member_id_of_a_static_member_is_fenced() -> None:
    h = ShardDriver()
    _, b, _ = _static_pair(h)
    h.join("g", instance_id="ib")
    fenced = h.heartbeat("g", b, 1, instance_id="ib")
    assert h.reply(fenced).error_code == ErrorCode.FENCED_INSTANCE_ID
    stale = h.commit("g", {("t", 0): 1}, member_id=b, generation=1, instance_id="ib")
    assert h.reply(stale).topics[0].partitions[0].error_code == ErrorCode.FENCED_INSTANCE_ID
    sync = h.sync("g", b, 1, instance_id="ib")
    assert h.reply(sync).error_code == ErrorCode.FENCED_INSTANCE_ID


def test_a_restarted_static_leader_is_told_to_skip_the_assignment_from_v9() -> None:
    h = ShardDriver()
    _a, b, _ = _static_pair(h)
    restarted = h.reply(h.join("g", instance_id="ia", version=9))
    assert restarted.leader == restarted.member_id
    assert restarted.skip_assignment
    assert {m.member_id for m in restarted.members} == {restarted.member_id, b}


def test_before_v9_a_restarted_static_leader_is_told_the_old_leader_id() -> None:
    h = ShardDriver()
    a, _, _ = _static_pair(h)
    restarted = h.reply(h.join("g", instance_id="ia", version=8))
    assert restarted.leader == a != restarted.member_id
    assert not restarted.skip_assignment


def test_a_static_member_rejoining_with_another_protocol_rebalances() -> None:
    h = ShardDriver()
    _static_pair(h)
    s = subscription("t")
    h.join("g", instance_id="ib", protocols=[("roundrobin", s), ("range", s)])
    group = h.shard.group("g")
    assert group is not None
    assert group.is_in(STABLE), "range is still everyone's choice"
    h.join("g", instance_id="ia", protocols=[("roundrobin", s), ("range", s)])
    assert group.is_in(PREPARING_REBALANCE), "now roundrobin wins the vote"


def test_a_parked_join_of_a_replaced_static_member_is_fenced() -> None:
    h = ShardDriver()
    a, _, _ = _static_pair(h)
    parked = h.join("g", a, instance_id="ia")  # the leader rejoins: rebalance
    replacement = h.join("g", instance_id="ia")
    assert h.reply(parked).error_code == ErrorCode.FENCED_INSTANCE_ID
    assert replacement not in h.replies


def test_static_members_that_do_not_rejoin_keep_their_place() -> None:
    h = ShardDriver()
    a, b, _ = _static_pair(h, session_ms=60_000)
    lead = h.join("g", a, instance_id="ia")
    h.advance(30_000)  # b neither rejoins nor is dropped: it is static
    done = h.reply(lead)
    assert done.generation_id == 2
    assert [m.member_id for m in done.members] == [a, b]


def test_a_static_member_that_stops_heartbeating_is_removed() -> None:
    h = ShardDriver()
    a, b, _ = _static_pair(h)
    for _ in range(6):
        h.advance(2_000)
        h.heartbeat("g", a, 1, instance_id="ia")
    group = h.shard.group("g")
    assert group is not None
    assert not group.has_member(b)
    assert group.static_member_id("ib") is None


def test_an_administrator_removes_a_static_member_by_instance_id() -> None:
    h = ShardDriver()
    a, b, _ = _static_pair(h)
    left = h.reply(h.leave("g", ("", "ib"), ("", "nobody")))
    assert [(m.group_instance_id, m.error_code) for m in left.members] == [
        ("ib", ErrorCode.NONE),
        ("nobody", ErrorCode.UNKNOWN_MEMBER_ID),
    ]
    group = h.shard.group("g")
    assert group is not None
    assert set(group.members) == {a}
    wrong = h.reply(h.leave("g", (b, "ia")))
    assert wrong.members[0].error_code == ErrorCode.FENCED_INSTANCE_ID


def test_a_static_member_asking_for_no_rebalance_time_does_not_stall_the_shard() -> None:
    h = ShardDriver()
    stored = GroupMetadataValue(
        protocol_type="consumer",
        generation=3,
        protocol="range",
        leader="s-1",
        members=[
            MemberMetadata(
                member_id="s-1",
                group_instance_id="s",
                rebalance_timeout=0,
                session_timeout=SESSION_MS,
                subscription=subscription("t"),
            )
        ],
    )
    h.shard = h.new_shard()
    h.shard.replay(group_metadata_record("g", stored))
    h.handle(h.shard.on_loaded(h.now))
    newcomer = h.join("g", version=3, rebalance_ms=5_000)
    h.advance(1_000)
    h.leave("g", ("client-1", None), version=0)  # it leaves; the static one never rejoins
    assert h.reply(newcomer).error_code == ErrorCode.UNKNOWN_MEMBER_ID
    # The join phase retries every millisecond until the static member's session ends.
    h.advance(SESSION_MS)
    group = h.shard.group("g")
    assert group is not None
    assert group.is_empty
