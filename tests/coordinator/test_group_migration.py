"""Online migration between classic and consumer groups, and classic members of consumer groups."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.coordinator.group.classic.state import PREPARING_REBALANCE, STABLE
from odradek.coordinator.group.config import MigrationPolicy
from odradek.coordinator.group.consumer.group import ConsumerGroup, ConsumerGroupState
from odradek.coordinator.group.consumer.member import MemberState
from odradek.protocol.codec import encode
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_protocol_subscription import (
    ConsumerProtocolSubscription,
    TopicPartition,
)
from odradek.protocol.primitives import INT16

from .groups import form_group, stabilize
from .harness import REBALANCE_MS, SESSION_MS, ShardDriver, decode_assignment

PARTITIONS = 6


def cooperative(owned: dict[str, list[int]], generation: int, *topics: str) -> bytes:
    """A v2 subscription that reports owned partitions, as cooperative consumers send it."""
    body = ConsumerProtocolSubscription(
        topics=list(topics or ("t",)),
        owned_partitions=[TopicPartition(topic=t, partitions=ps) for t, ps in owned.items()],
        generation_id=generation,
    )
    return INT16.pack(2) + encode(body, 2)


def _ok(h: ShardDriver, handle: int) -> Any:
    reply = h.reply(handle)
    assert reply.error_code == ErrorCode.NONE, reply
    return reply


def _classic_pair(h: ShardDriver) -> tuple[str, str]:
    """A Stable classic group "g" of a and b: a has t-0,2,4 and b t-1,3,5 at generation 1."""
    a, b = form_group(h, "g", ["a", "b"])
    stabilize(h, "g", [a, b])
    return a.member_id, b.member_id


def _consumer_group(h: ShardDriver) -> ConsumerGroup:
    group = h.shard.consumer_group("g")
    assert group is not None
    return group


def _owned(h: ShardDriver, member_id: str) -> dict[str, list[int]]:
    return h.named(_consumer_group(h).members[member_id].assigned_partitions)


def _rejoin_and_sync(h: ShardDriver, member_id: str) -> tuple[int, set[tuple[str, int]]]:
    """An eager classic member's answer to REBALANCE_IN_PROGRESS: revoke all, join, sync."""
    joined = _ok(h, h.join("g", member_id))
    assert (joined.leader, joined.members, joined.protocol_name) == ("", [], "range")
    synced = _ok(h, h.sync("g", member_id, joined.generation_id))
    return joined.generation_id, decode_assignment(synced.assignment)


def _upgraded(h: ShardDriver) -> tuple[str, str, str]:
    """The classic pair upgraded by consumer c, and everyone reconciled."""
    a, b = _classic_pair(h)
    c = _ok(h, h.consumer_heartbeat("g", topics=["t"])).member_id
    for classic_id in (a, b):
        assert h.reply(h.heartbeat("g", classic_id, 1)).error_code == (
            ErrorCode.REBALANCE_IN_PROGRESS
        )
        _rejoin_and_sync(h, classic_id)
    group = _consumer_group(h)
    for _ in range(4):
        for member_id in (a, b):
            member = group.members[member_id]
            if h.reply(h.heartbeat("g", member_id, member.member_epoch)).error_code:
                _rejoin_and_sync(h, member_id)
        member = group.members[c]
        owned = h.named(member.assigned_partitions)
        _ok(h, h.consumer_heartbeat("g", c, member.member_epoch, owned=owned))
    assert group.state is ConsumerGroupState.STABLE, group
    return a, b, c


def test_a_consumer_member_upgrades_a_classic_group_keeping_its_assignment() -> None:
    h = ShardDriver()
    a, b = _classic_pair(h)
    joined = _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    group = _consumer_group(h)
    assert h.shard.group("g") is None
    assert joined.member_epoch == 2 == group.group_epoch == group.assignment_epoch
    assert joined.assignment is not None
    assert h.named(joined.assignment.topic_partitions) == {}, "nothing is free yet"
    # The classic members carry on at the classic generation with what they had.
    assert (group.members[a].member_epoch, _owned(h, a)) == (1, {"t": [0, 2, 4]})
    assert (group.members[b].member_epoch, _owned(h, b)) == (1, {"t": [1, 3, 5]})
    classic = group.members[a].classic
    assert classic is not None
    assert classic.session_timeout_ms == SESSION_MS
    assert not group.members[joined.member_id].uses_classic_protocol


def test_classic_members_rejoin_and_the_server_assignor_shares_the_partitions() -> None:
    h = ShardDriver()
    a, b, c = _upgraded(h)
    group = _consumer_group(h)
    owners = [_owned(h, m).get("t", []) for m in (a, b, c)]
    assert sorted(p for ps in owners for p in ps) == list(range(PARTITIONS))
    assert [len(ps) for ps in owners] == [2, 2, 2]
    assert {m.member_epoch for m in group.members.values()} == {group.group_epoch}
    # The durable view is the live one.
    reloaded = h.reload().consumer_group("g")
    assert reloaded is not None
    assert reloaded.members == group.members
    assert reloaded.target_assignment == group.target_assignment


def test_the_classic_members_commit_at_their_epoch() -> None:
    h = ShardDriver()
    a, _, _ = _upgraded(h)
    epoch = _consumer_group(h).members[a].member_epoch
    ok = h.reply(h.commit("g", {("t", 0): 5}, member_id=a, generation=epoch, version=8))
    assert ok.topics[0].partitions[0].error_code == ErrorCode.NONE
    stale = h.reply(h.commit("g", {("t", 0): 6}, member_id=a, generation=epoch - 1, version=8))
    assert stale.topics[0].partitions[0].error_code == ErrorCode.ILLEGAL_GENERATION


def test_the_last_consumer_member_leaving_downgrades_to_a_rebalancing_classic_group() -> None:
    h = ShardDriver()
    a, b, c = _upgraded(h)
    epoch = _consumer_group(h).group_epoch
    target = {
        (h.topic_name(t), p)
        for t, ps in _consumer_group(h).target_assignment[a].items()
        for p in ps
    }
    left = _ok(h, h.consumer_heartbeat("g", c, -1))
    assert left.member_epoch == -1
    assert h.shard.consumer_group("g") is None
    classic = h.shard.group("g")
    assert classic is not None
    assert classic.is_in(PREPARING_REBALANCE)
    assert classic.generation_id == epoch
    assert set(classic.members) == {a, b}
    assert classic.protocol_name == "range"
    # The classic members each keep their target until the classic rebalance completes.
    assert decode_assignment(classic.members[a].assignment) == target
    for member in (a, b):
        assert h.reply(h.heartbeat("g", member, epoch)).error_code == (
            ErrorCode.REBALANCE_IN_PROGRESS
        )
    rejoins = [h.join("g", a), h.join("g", b)]
    responses = [_ok(h, x) for x in rejoins]
    assert {r.generation_id for r in responses} == {epoch + 1}
    stabilize(h, "g", responses)
    assert classic.is_in(STABLE)
    reloaded = h.reload().group("g")
    assert reloaded is not None
    assert set(reloaded.members) == {a, b}


def test_a_downgrade_keeps_offsets_and_the_group_can_upgrade_again() -> None:
    h = ShardDriver()
    a, b, c = _upgraded(h)
    epoch = _consumer_group(h).members[a].member_epoch
    h.commit("g", {("t", 1): 7}, member_id=a, generation=epoch, version=8)
    _ok(h, h.consumer_heartbeat("g", c, -1))
    assert h.shard.committed_offset("g", "t", 1) is not None
    responses = [_ok(h, x) for x in [h.join("g", a), h.join("g", b)]]
    stabilize(h, "g", responses)
    again = _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    assert _consumer_group(h).members[again.member_id].member_epoch == again.member_epoch


@pytest.mark.parametrize("policy", [MigrationPolicy.DISABLED, MigrationPolicy.DOWNGRADE])
def test_a_policy_without_upgrades_refuses_the_consumer_member(policy: MigrationPolicy) -> None:
    h = ShardDriver(config=GroupCoordinatorConfig(consumer_migration_policy=policy))
    _classic_pair(h)
    refused = h.reply(h.consumer_heartbeat("g", topics=["t"]))
    assert refused.error_code == ErrorCode.GROUP_ID_NOT_FOUND
    assert refused.error_message == "Group g is not a consumer group."
    assert h.shard.group("g") is not None


def test_a_policy_without_downgrades_keeps_the_consumer_group() -> None:
    h = ShardDriver(
        config=GroupCoordinatorConfig(consumer_migration_policy=MigrationPolicy.UPGRADE)
    )
    a, b, c = _upgraded(h)
    _ok(h, h.consumer_heartbeat("g", c, -1))
    group = _consumer_group(h)
    assert set(group.members) == {a, b}
    assert all(m.uses_classic_protocol for m in group.members.values())


def test_a_group_of_another_protocol_type_is_not_upgraded() -> None:
    h = ShardDriver()
    form_group(h, "g", ["a"], protocol_type="connect")
    refused = h.reply(h.consumer_heartbeat("g", topics=["t"]))
    assert refused.error_code == ErrorCode.GROUP_ID_NOT_FOUND


def test_parked_classic_requests_are_told_to_rejoin_when_the_group_upgrades() -> None:
    h = ShardDriver()
    a, b = _classic_pair(h)
    parked = h.join("g", a)  # the leader rejoins: the classic group starts a rebalance
    assert parked not in h.replies
    _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    assert h.reply(parked).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    assert _consumer_group(h).has_member(b)


def test_a_classic_member_joins_a_consumer_group() -> None:
    h = ShardDriver()
    c = _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    assert h.named(c.assignment.topic_partitions) == {"t": list(range(PARTITIONS))}
    member_id, handle = h.join_with_id("g")
    joined = _ok(h, handle)
    assert joined.member_id == member_id
    group = _consumer_group(h)
    assert joined.generation_id == group.group_epoch == 2
    assert group.members[member_id].state is MemberState.UNRELEASED_PARTITIONS
    synced = _ok(h, h.sync("g", member_id, joined.generation_id))
    assert decode_assignment(synced.assignment) == set(), "c still owns everything"
    # c gives up half; the classic member is told to rejoin and then gets it.
    revoking = _ok(h, h.consumer_heartbeat("g", c.member_id, c.member_epoch, owned={"t": []}))
    assert revoking.member_epoch == 2
    assert h.reply(h.heartbeat("g", member_id, 2)).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    generation, assigned = _rejoin_and_sync(h, member_id)
    assert generation == 2
    assert len(assigned) == PARTITIONS // 2
    assert h.reply(h.heartbeat("g", member_id, 2)).error_code == ErrorCode.NONE


def test_a_cooperative_classic_member_keeps_what_it_owns_while_others_revoke() -> None:
    h = ShardDriver()
    c = _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    member_id, handle = h.join_with_id("g", protocols=[("cooperative-sticky", cooperative({}, -1))])
    _ok(h, h.sync("g", member_id, _ok(h, handle).generation_id, protocol_name="cooperative-sticky"))
    _ok(h, h.consumer_heartbeat("g", c.member_id, c.member_epoch, owned={"t": []}))
    joined = _ok(
        h,
        h.join("g", member_id, protocols=[("cooperative-sticky", cooperative({}, 2))]),
    )
    synced = _ok(
        h, h.sync("g", member_id, joined.generation_id, protocol_name="cooperative-sticky")
    )
    mine = sorted(p for _, p in decode_assignment(synced.assignment))
    assert len(mine) == 3
    # A third member arrives; the cooperative member keeps reporting what it owns and
    # stays at its epoch until it lets go of what moves.
    d = _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    group = _consumer_group(h)
    assert h.reply(h.heartbeat("g", member_id, 2)).error_code == ErrorCode.REBALANCE_IN_PROGRESS
    still = _ok(
        h,
        h.join("g", member_id, protocols=[("cooperative-sticky", cooperative({"t": mine}, 2))]),
    )
    member = group.members[member_id]
    assert member.state is MemberState.UNREVOKED_PARTITIONS
    assert still.generation_id == 2
    kept = _ok(h, h.sync("g", member_id, 2, protocol_name="cooperative-sticky"))
    left = sorted(p for _, p in decode_assignment(kept.assignment))
    assert set(left) < set(mine)
    again = _ok(
        h,
        h.join("g", member_id, protocols=[("cooperative-sticky", cooperative({"t": left}, 2))]),
    )
    assert again.generation_id == group.group_epoch
    assert d.member_epoch == group.group_epoch


def test_classic_member_checks() -> None:
    h = ShardDriver()
    _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    other = h.reply(h.join("g", version=3, protocol_type="connect"))
    assert other.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    member_id, handle = h.join_with_id("g")
    joined = _ok(h, handle)
    # Every classic member must share a protocol with the newcomer.
    unshared = h.reply(h.join("g", version=3, protocols=[("roundrobin", b"\x00\x01")]))
    assert unshared.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    wrong_generation = h.reply(h.sync("g", member_id, joined.generation_id + 1))
    assert wrong_generation.error_code == ErrorCode.ILLEGAL_GENERATION
    wrong_name = h.reply(h.sync("g", member_id, joined.generation_id, protocol_name="sticky"))
    assert wrong_name.error_code == ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    stranger = h.reply(h.heartbeat("g", "nobody", 1))
    assert stranger.error_code == ErrorCode.UNKNOWN_MEMBER_ID
    consumer = next(m for m in _consumer_group(h).members.values() if not m.uses_classic_protocol)
    not_classic = h.reply(h.heartbeat("g", consumer.member_id, consumer.member_epoch))
    assert not_classic.error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_a_classic_member_that_never_syncs_is_removed_after_its_rebalance_timeout() -> None:
    h = ShardDriver()
    c = _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    member_id, handle = h.join_with_id("g")
    _ok(h, handle)
    for _ in range(REBALANCE_MS // 2_000 + 1):
        h.advance(2_000)
        member = _consumer_group(h).members[c.member_id]
        owned = h.named(member.assigned_partitions)
        _ok(h, h.consumer_heartbeat("g", c.member_id, member.member_epoch, owned=owned))
    assert not _consumer_group(h).has_member(member_id)
    assert _consumer_group(h).has_member(c.member_id)


def test_a_silent_classic_member_is_removed_after_its_own_session_timeout() -> None:
    h = ShardDriver()
    a, b, c = _upgraded(h)
    group = _consumer_group(h)
    for _ in range(SESSION_MS // 2_000 + 1):
        h.advance(2_000)
        member = group.members[a]
        h.heartbeat("g", a, member.member_epoch)
        consumer = group.members[c]
        owned = h.named(consumer.assigned_partitions)
        _ok(h, h.consumer_heartbeat("g", c, consumer.member_epoch, owned=owned))
    assert set(_consumer_group(h).members) == {a, c}
    assert b not in _consumer_group(h).members


def test_classic_members_leave_a_consumer_group() -> None:
    h = ShardDriver()
    a, b, c = _upgraded(h)
    epoch = _consumer_group(h).group_epoch
    answer = _ok(h, h.leave("g", (a, None), ("nobody", None), (c, None)))
    assert [m.error_code for m in answer.members] == [
        ErrorCode.NONE,
        ErrorCode.UNKNOWN_MEMBER_ID,
        ErrorCode.UNKNOWN_MEMBER_ID,  # c speaks the consumer protocol
    ]
    group = _consumer_group(h)
    assert set(group.members) == {b, c}
    assert group.group_epoch == epoch + 1


def test_a_classic_static_member_replacing_the_last_consumer_member_downgrades() -> None:
    h = ShardDriver()
    a, b = _classic_pair(h)
    c = _ok(h, h.consumer_heartbeat("g", topics=["t"], instance_id="i-c"))
    group = _consumer_group(h)
    target = dict(group.target_assignment[c.member_id])
    joined = _ok(h, h.join("g", instance_id="i-c"))
    classic = h.shard.group("g")
    assert classic is not None
    assert classic.is_in(STABLE)
    assert set(classic.members) == {a, b, joined.member_id}
    assert decode_assignment(classic.members[joined.member_id].assignment) == {
        (h.topic_name(t), p) for t, ps in target.items() for p in ps
    }
    synced = _ok(h, h.sync("g", joined.member_id, classic.generation_id))
    assert synced.assignment == classic.members[joined.member_id].assignment


def test_the_upgrade_records_replay_to_the_same_group() -> None:
    h = ShardDriver()
    _classic_pair(h)
    _ok(h, h.consumer_heartbeat("g", topics=["t"]))
    live = _consumer_group(h)
    reloaded = h.reload().consumer_group("g")
    assert reloaded is not None
    assert reloaded.members == live.members
    assert (reloaded.group_epoch, reloaded.assignment_epoch) == (
        live.group_epoch,
        live.assignment_epoch,
    )
    assert reloaded.target_assignment == live.target_assignment
