"""Consumer groups (KIP-848): joining, reconciling, leaving, timeouts, static members."""

from __future__ import annotations

from typing import Any

import pytest

from odradek.coordinator.group import GroupCoordinatorConfig
from odradek.coordinator.group.config import MigrationPolicy
from odradek.coordinator.group.consumer.group import ConsumerGroupState
from odradek.coordinator.group.consumer.member import MemberState
from odradek.protocol.errors import ErrorCode
from odradek.protocol.messages.clients.consumer_group_describe_request import (
    ConsumerGroupDescribeRequest,
)
from odradek.protocol.messages.clients.delete_groups_request import DeleteGroupsRequest
from odradek.protocol.messages.clients.list_groups_request import ListGroupsRequest

from .harness import REBALANCE_MS, FakeTopics, ShardDriver


def _ok(h: ShardDriver, handle: int) -> Any:
    reply = h.reply(handle)
    assert reply.error_code == ErrorCode.NONE, reply
    return reply


def _join(h: ShardDriver, group: str = "g", **kwargs: Any) -> Any:
    kwargs.setdefault("topics", ["t"])
    return _ok(h, h.consumer_heartbeat(group, **kwargs))


def _beat(h: ShardDriver, member_id: str, group: str = "g") -> Any:
    """A heartbeat from a well-behaved client: it has let go of what it must revoke."""
    consumer_group = h.shard.consumer_group(group)
    assert consumer_group is not None
    member = consumer_group.members[member_id]
    owned = h.named(member.assigned_partitions)
    return _ok(h, h.consumer_heartbeat(group, member_id, member.member_epoch, owned=owned))


def _assigned(h: ShardDriver, reply: Any) -> dict[str, list[int]]:
    assert reply.assignment is not None, reply
    return h.named(reply.assignment.topic_partitions)


def test_the_first_member_gets_every_partition() -> None:
    h = ShardDriver()
    joined = _join(h)
    assert joined.member_id == "1"
    assert (joined.member_epoch, joined.heartbeat_interval_ms) == (1, 5_000)
    assert _assigned(h, joined) == {"t": [0, 1, 2, 3, 4, 5]}
    group = h.shard.consumer_group("g")
    assert group is not None
    assert (group.state, group.group_epoch, group.assignment_epoch) == (
        ConsumerGroupState.STABLE,
        1,
        1,
    )
    # subscription, partition metadata, epoch, target, target epoch, current assignment
    assert [key[:2] for key, _ in h.log] == [
        b"\x00\x05",
        b"\x00\x04",
        b"\x00\x03",
        b"\x00\x07",
        b"\x00\x06",
        b"\x00\x08",
    ]


def test_a_second_member_gets_half_once_the_first_revokes() -> None:
    h = ShardDriver()
    a = _join(h)
    b = _join(h)
    assert b.member_epoch == 2
    assert _assigned(h, b) == {}, "b's partitions are still a's"
    group = h.shard.consumer_group("g")
    assert group is not None
    assert group.members[b.member_id].state is MemberState.UNRELEASED_PARTITIONS
    assert group.state is ConsumerGroupState.RECONCILING

    # a learns it must give up half: its epoch stays until it has.
    revoke = _ok(h, h.consumer_heartbeat("g", a.member_id, 1, owned={"t": [0, 1, 2, 3, 4, 5]}))
    kept = _assigned(h, revoke)["t"]
    assert (revoke.member_epoch, len(kept)) == (1, 3)
    assert group.members[a.member_id].state is MemberState.UNREVOKED_PARTITIONS
    # Still owning them, a stays where it is.
    again = _ok(h, h.consumer_heartbeat("g", a.member_id, 1, owned={"t": [0, 1, 2, 3, 4, 5]}))
    assert again.member_epoch == 1
    # a revoked: it moves to epoch 2, and b can have the released partitions.
    done = _ok(h, h.consumer_heartbeat("g", a.member_id, 1, owned={"t": kept}))
    assert done.member_epoch == 2
    got = _ok(h, h.consumer_heartbeat("g", b.member_id, 2, owned={}))
    assert sorted(_assigned(h, got)["t"] + kept) == [0, 1, 2, 3, 4, 5]
    assert group.state is ConsumerGroupState.STABLE


def test_a_leaving_member_hands_its_partitions_back() -> None:
    h = ShardDriver()
    a = _join(h)
    b = _join(h)
    left = _ok(h, h.consumer_heartbeat("g", b.member_id, -1))
    assert (left.member_id, left.member_epoch) == (b.member_id, -1)
    group = h.shard.consumer_group("g")
    assert group is not None
    assert list(group.members) == [a.member_id]
    assert group.group_epoch == 3
    back = _ok(h, h.consumer_heartbeat("g", a.member_id, 1, owned={"t": [0, 1, 2, 3, 4, 5]}))
    assert back.member_epoch == 3
    assert back.assignment is None, "a never gave anything up: nothing new to tell it"
    assert h.named(group.members[a.member_id].assigned_partitions) == {"t": [0, 1, 2, 3, 4, 5]}


def test_a_silent_member_is_fenced_after_the_session_timeout() -> None:
    h = ShardDriver()
    a = _join(h)
    b = _join(h)
    for _ in range(10):
        h.advance(5_000)
        _beat(h, a.member_id)
    group = h.shard.consumer_group("g")
    assert group is not None
    assert b.member_id not in group.members
    gone = h.reply(h.consumer_heartbeat("g", b.member_id, 2))
    assert gone.error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_a_member_that_never_revokes_is_fenced_after_its_rebalance_timeout() -> None:
    h = ShardDriver()
    a = _join(h)
    b = _join(h)
    h.consumer_heartbeat("g", a.member_id, 1, owned={"t": [0, 1, 2, 3, 4, 5]})
    group = h.shard.consumer_group("g")
    assert group is not None
    assert group.members[a.member_id].state is MemberState.UNREVOKED_PARTITIONS
    for _ in range(REBALANCE_MS // 5_000):  # a keeps heartbeating, but never lets go
        h.advance(5_000)
        h.consumer_heartbeat("g", a.member_id, 1, owned={"t": [0, 1, 2, 3, 4, 5]})
        h.consumer_heartbeat("g", b.member_id, 2, owned={})
    assert a.member_id not in group.members
    got = _ok(h, h.consumer_heartbeat("g", b.member_id, group.members[b.member_id].member_epoch))
    assert group.members[b.member_id].assigned_partitions
    assert got.member_epoch == group.group_epoch


def test_member_epochs_are_checked() -> None:
    h = ShardDriver()
    a = _join(h)
    ahead = h.reply(h.consumer_heartbeat("g", a.member_id, 2))
    assert ahead.error_code == ErrorCode.FENCED_MEMBER_EPOCH
    b = _join(h)
    h.consumer_heartbeat("g", a.member_id, 1, owned={"t": [0, 1, 2, 3, 4, 5]})
    kept = h.shard.consumer_group("g").members[a.member_id].assigned_partitions  # type: ignore[union-attr]
    h.consumer_heartbeat("g", a.member_id, 1, owned=h.named(kept))  # now at epoch 2, previous 1
    # The response with epoch 2 was lost: epoch 1 with owned partitions it holds is fine.
    lost = _ok(h, h.consumer_heartbeat("g", a.member_id, 1, owned=h.named(kept)))
    assert lost.member_epoch == 2
    # Without saying what it owns, the previous epoch is not enough.
    blind = h.reply(h.consumer_heartbeat("g", a.member_id, 1))
    assert blind.error_code == ErrorCode.FENCED_MEMBER_EPOCH
    # A rejoin (epoch 0) is the previous epoch of a member that just joined: accepted.
    assert _ok(h, h.consumer_heartbeat("g", b.member_id, 0, topics=["t"])).member_epoch == 2


def test_a_static_member_keeps_its_partitions_across_a_restart() -> None:
    h = ShardDriver()
    a = _join(h, instance_id="ia")
    b = _join(h, instance_id="ib")
    h.consumer_heartbeat("g", a.member_id, 1, instance_id="ia", owned={"t": [0, 1, 2, 3, 4, 5]})
    group = h.shard.consumer_group("g")
    assert group is not None
    kept = h.named(group.members[a.member_id].assigned_partitions)
    h.consumer_heartbeat("g", a.member_id, 1, instance_id="ia", owned=kept)
    h.consumer_heartbeat("g", b.member_id, 2, instance_id="ib", owned={})
    epoch = group.group_epoch
    assert group.state is ConsumerGroupState.STABLE

    # b is still active: its instance id cannot be taken.
    clash = h.reply(h.consumer_heartbeat("g", epoch=0, instance_id="ib", topics=["t"]))
    assert clash.error_code == ErrorCode.UNRELEASED_INSTANCE_ID
    b_owned = h.named(group.members[b.member_id].assigned_partitions)
    left = _ok(h, h.consumer_heartbeat("g", b.member_id, -2, instance_id="ib"))
    assert left.member_epoch == -2
    back = _join(h, instance_id="ib")
    assert back.member_id != b.member_id
    assert _assigned(h, back) == b_owned
    assert group.group_epoch == epoch, "no rebalance for a static member's restart"
    assert b.member_id not in group.members
    fenced = h.reply(h.consumer_heartbeat("g", b.member_id, 2, instance_id="ib"))
    assert fenced.error_code == ErrorCode.FENCED_INSTANCE_ID


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"group": " "}, ErrorCode.INVALID_REQUEST),
        ({"epoch": 3}, ErrorCode.INVALID_REQUEST),
        ({"epoch": -3, "member_id": "m"}, ErrorCode.INVALID_REQUEST),
        ({"instance_id": ""}, ErrorCode.INVALID_REQUEST),
        ({"owned": {"t": [1]}}, ErrorCode.INVALID_REQUEST),
        ({"topics": None, "regex": "("}, ErrorCode.INVALID_REGULAR_EXPRESSION),
        ({"assignor": "sticky"}, ErrorCode.UNSUPPORTED_ASSIGNOR),
        ({"epoch": 2, "member_id": "m"}, ErrorCode.GROUP_ID_NOT_FOUND),
    ],
)
def test_heartbeats_refused(kwargs: dict[str, Any], error: ErrorCode) -> None:
    h = ShardDriver()
    group = kwargs.pop("group", "g")
    kwargs.setdefault("topics", ["t"])
    assert h.reply(h.consumer_heartbeat(group, **kwargs)).error_code == error
    assert h.log == []


def test_the_group_max_size() -> None:
    h = ShardDriver(config=GroupCoordinatorConfig(consumer_max_size=1))
    _join(h)
    assert h.reply(h.consumer_heartbeat("g", topics=["t"])).error_code == (
        ErrorCode.GROUP_MAX_SIZE_REACHED
    )


def test_the_range_assignor_on_request() -> None:
    h = ShardDriver(topics=FakeTopics({"t": 3, "u": 3}))
    a = _join(h, topics=["t", "u"], assignor="range")
    assert _assigned(h, a) == {"t": [0, 1, 2], "u": [0, 1, 2]}
    b = _join(h, topics=["t", "u"], assignor="range")
    group = h.shard.consumer_group("g")
    assert group is not None
    targets = {m: h.named(p) for m, p in group.target_assignment.items()}
    # co-partitioned: each member the same partition numbers of both topics
    assert targets == {
        a.member_id: {"t": [0, 1], "u": [0, 1]},
        b.member_id: {"t": [2], "u": [2]},
    }


def test_a_regex_subscription_follows_new_topics() -> None:
    h = ShardDriver(topics=FakeTopics({"orders-eu": 2, "orders-us": 2, "other": 2}))
    a = _join(h, topics=None, regex="orders-.*")
    assert _assigned(h, a) == {"orders-eu": [0, 1], "orders-us": [0, 1]}
    h.topics = FakeTopics({"orders-eu": 2, "orders-us": 2, "other": 2, "orders-jp": 1})
    h.shard.update_topics(h.topics)
    group = h.shard.consumer_group("g")
    assert group is not None
    epoch = group.group_epoch
    more = _ok(h, h.consumer_heartbeat("g", a.member_id, 1, owned=_assigned(h, a)))
    assert group.group_epoch == epoch + 1
    assert _assigned(h, more) == {"orders-eu": [0, 1], "orders-jp": [0], "orders-us": [0, 1]}
    assert group.is_subscribed_to("orders-jp")
    assert not group.is_subscribed_to("other")


def test_consumer_group_describe() -> None:
    h = ShardDriver()
    a = _join(h, instance_id="i")
    h.commit("classic", {("t", 0): 1})
    request = ConsumerGroupDescribeRequest(group_ids=["g", "classic", "nobody"])
    described = h.reply(h.call("consumer_group_describe", request, 0)).groups
    g, classic, nobody = described
    assert (g.error_code, g.group_state, g.group_epoch, g.assignment_epoch) == (0, "Stable", 1, 1)
    assert g.assignor_name == "uniform"
    (member,) = g.members
    assert (member.member_id, member.instance_id, member.member_epoch) == (a.member_id, "i", 1)
    assert member.subscribed_topic_names == ["t"]
    assert [(tp.topic_name, tp.partitions) for tp in member.assignment.topic_partitions] == [
        ("t", [0, 1, 2, 3, 4, 5])
    ]
    assert member.target_assignment == member.assignment
    assert classic.error_code == nobody.error_code == ErrorCode.GROUP_ID_NOT_FOUND


def test_consumer_group_offsets_use_member_epochs() -> None:
    h = ShardDriver()
    a = _join(h)
    ok = h.reply(h.commit("g", {("t", 0): 5}, member_id=a.member_id, generation=1))
    assert ok.topics[0].partitions[0].error_code == ErrorCode.NONE
    stale = h.reply(h.commit("g", {("t", 0): 6}, member_id=a.member_id, generation=0))
    assert stale.topics[0].partitions[0].error_code == ErrorCode.STALE_MEMBER_EPOCH
    old = h.reply(h.commit("g", {("t", 0): 6}, member_id=a.member_id, generation=1, version=8))
    assert old.topics[0].partitions[0].error_code == ErrorCode.UNSUPPORTED_VERSION
    unknown = h.reply(h.commit("g", {("t", 0): 6}, member_id="who", generation=1))
    assert unknown.topics[0].partitions[0].error_code == ErrorCode.UNKNOWN_MEMBER_ID


def test_an_empty_classic_group_becomes_a_consumer_group_and_back() -> None:
    h = ShardDriver()
    h.commit("g", {("t", 0): 7})  # a simple classic group with an offset
    joined = _join(h)
    assert h.shard.consumer_group("g") is not None
    assert h.shard.group("g") is None
    h.consumer_heartbeat("g", joined.member_id, -1)
    h.join("g", version=3)  # an empty consumer group yields to a JoinGroup
    assert h.shard.group("g") is not None
    assert h.shard.consumer_group("g") is None
    offset = h.shard.committed_offset("g", "t", 0)
    assert offset is not None
    assert offset.offset == 7
    reloaded = h.reload()
    assert reloaded.group("g") is not None
    assert reloaded.consumer_group("g") is None


def test_groups_of_the_other_protocol_with_members_refuse_without_migration() -> None:
    h = ShardDriver(
        config=GroupCoordinatorConfig(consumer_migration_policy=MigrationPolicy.DISABLED)
    )
    h.join("old", version=3)
    h.advance(5_000)
    assert h.reply(h.consumer_heartbeat("old", topics=["t"])).error_code == (
        ErrorCode.GROUP_ID_NOT_FOUND
    )


def test_list_delete_and_expire_consumer_groups() -> None:
    h = ShardDriver(config=GroupCoordinatorConfig(offsets_retention_ms=60 * 60_000))
    a = _join(h)
    listed = h.reply(h.call("list_groups", ListGroupsRequest(types_filter=["consumer"]), 5))
    assert [(g.group_id, g.group_type, g.protocol_type, g.group_state) for g in listed.groups] == [
        ("g", "consumer", "consumer", "Stable")
    ]
    deleted = h.reply(h.call("delete_groups", DeleteGroupsRequest(groups_names=["g"]), 2))
    assert deleted.results[0].error_code == ErrorCode.NON_EMPTY_GROUP
    h.commit("g", {("t", 0): 1}, member_id=a.member_id, generation=1)
    h.consumer_heartbeat("g", a.member_id, -1)
    h.advance(2 * 60 * 60_000)
    assert h.shard.consumer_group("g") is None, "no members, offsets expired: swept away"
    assert h.reload().consumer_group("g") is None
